using System.Numerics;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// The sum-of-squares polynomial f(x) = b + m·x + ((1 − m)/K)·Σᵢ ∫₀ˣ qᵢ(t)² dt with qᵢ(t) = 1 + Σⱼ aᵢⱼ tʲ (j = 0…r):
/// θ = (b, a₁₀ … a₁ᵣ, …, a_K0 … a_Kr), K(r + 1) + 1 values.
/// </summary>
/// <remarks>The lane forms (<see cref="IMonotoneLanes{T}"/>) prepare θ as (b, c₁₀ … c_Kr), the coefficients of the qᵢ
/// (cᵢ₀ = 1 + aᵢ₀), and repeat the scalar members' operations in the same order.</remarks>
internal readonly struct SumOfSquaresFunction<T> : IMonotoneLanes<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _minimumSlope;
    private readonly T _share; // (1 − m)/K

    public SumOfSquaresFunction(int polynomialCount, int degree, double bound, double minimumSlope)
    {
        PolynomialCount = polynomialCount;
        Degree = degree;
        Bound = T.CreateTruncating(bound);
        _minimumSlope = T.CreateTruncating(minimumSlope);
        _share = T.CreateTruncating((1 - minimumSlope) / polynomialCount);
    }

    public int PolynomialCount { get; }

    public int Degree { get; }

    public int ParameterCount => (PolynomialCount * (Degree + 1)) + 1;

    public T Bound { get; }

    public (T Value, T Derivative) Evaluate(T x, ReadOnlySpan<T> theta)
    {
        int r = Degree;
        Span<T> powers = stackalloc T[(2 * r) + 2];
        Powers(x, powers);
        T integral = T.Zero;
        T squares = T.Zero;
        for (int i = 0; i < PolynomialCount; i++)
        {
            ReadOnlySpan<T> a = theta.Slice(1 + (i * (r + 1)), r + 1);
            T q = T.Zero;
            for (int j = 0; j <= r; j++)
            {
                T cj = Coefficient(a, j);
                q += cj * powers[j];

                // ∫₀ˣ q² = Σⱼ Σₗ cⱼcₗ x^(j+l+1)/(j+l+1).
                for (int l = 0; l <= r; l++)
                {
                    integral += cj * Coefficient(a, l) * powers[j + l + 1] / T.CreateTruncating(j + l + 1);
                }
            }

            squares += q * q;
        }

        return (theta[0] + (_minimumSlope * x) + (_share * integral), _minimumSlope + (_share * squares));
    }

    // f′ = m + s·Σ qᵢ², f″ = 2s·Σ qᵢqᵢ′; ∂f/∂aᵢⱼ = 2s·Σₗ cᵢₗ x^(j+l+1)/(j+l+1), ∂f′/∂aᵢⱼ = 2s·qᵢ·xʲ, ∂f/∂b = 1.
    public (T Derivative, T LogDerivativeSlope) Backpropagate(T x, ReadOnlySpan<T> theta, T valueWeight, T logDerivativeWeight, Span<T> thetaGradient)
    {
        int r = Degree;
        Span<T> powers = stackalloc T[(2 * r) + 2];
        Powers(x, powers);
        Span<T> q = stackalloc T[PolynomialCount];
        T squares = T.Zero;
        T curvature = T.Zero;
        for (int i = 0; i < PolynomialCount; i++)
        {
            ReadOnlySpan<T> a = theta.Slice(1 + (i * (r + 1)), r + 1);
            T value = T.Zero;
            T slope = T.Zero;
            for (int j = 0; j <= r; j++)
            {
                T cj = Coefficient(a, j);
                value += cj * powers[j];
                if (j > 0)
                {
                    slope += T.CreateTruncating(j) * cj * powers[j - 1];
                }
            }

            q[i] = value;
            squares += value * value;
            curvature += value * slope;
        }

        T two = T.CreateTruncating(2);
        T derivative = _minimumSlope + (_share * squares);
        T logWeight = logDerivativeWeight / derivative;
        thetaGradient[0] += valueWeight;
        for (int i = 0; i < PolynomialCount; i++)
        {
            ReadOnlySpan<T> a = theta.Slice(1 + (i * (r + 1)), r + 1);
            Span<T> g = thetaGradient.Slice(1 + (i * (r + 1)), r + 1);
            for (int j = 0; j <= r; j++)
            {
                T sum = T.Zero;
                for (int l = 0; l <= r; l++)
                {
                    sum += Coefficient(a, l) * powers[j + l + 1] / T.CreateTruncating(j + l + 1);
                }

                g[j] += two * _share * ((valueWeight * sum) + (logWeight * q[i] * powers[j]));
            }
        }

        return (derivative, two * _share * curvature / derivative);
    }

    public int PreparedCount => ParameterCount;

    // The coefficients: b, then cᵢⱼ (cᵢ₀ = 1 + aᵢ₀, the scalar Coefficient's addition); ∂/∂aᵢⱼ = ∂/∂cᵢⱼ.
    public void Prepare<TV>(ReadOnlySpan<TV> theta, Span<TV> prepared) where TV : unmanaged, ISimdLanes<TV, T>
    {
        theta.CopyTo(prepared);
        for (int i = 0; i < PolynomialCount; i++)
        {
            int first = 1 + (i * (Degree + 1));
            prepared[first] = TV.One + theta[first];
        }
    }

    public (TV Value, TV Derivative) Evaluate<TV>(TV x, ReadOnlySpan<TV> prepared) where TV : unmanaged, ISimdLanes<TV, T>
    {
        int r = Degree;
        Span<TV> powers = stackalloc TV[(2 * r) + 2];
        Powers(x, powers);
        TV integral = TV.Zero;
        TV squares = TV.Zero;
        for (int i = 0; i < PolynomialCount; i++)
        {
            ReadOnlySpan<TV> c = prepared.Slice(1 + (i * (r + 1)), r + 1);
            TV q = TV.Zero;
            for (int j = 0; j <= r; j++)
            {
                TV cj = c[j];
                q += cj * powers[j];
                for (int l = 0; l <= r; l++)
                {
                    integral += cj * c[l] * powers[j + l + 1] / TV.Create(T.CreateTruncating(j + l + 1));
                }
            }

            squares += q * q;
        }

        TV minimumSlope = TV.Create(_minimumSlope);
        TV share = TV.Create(_share);
        return (prepared[0] + (minimumSlope * x) + (share * integral), minimumSlope + (share * squares));
    }

    public (TV Derivative, TV LogDerivativeSlope) Backpropagate<TV>(TV x, ReadOnlySpan<TV> prepared, TV valueWeight, TV logDerivativeWeight,
        Span<TV> preparedGradient) where TV : unmanaged, ISimdLanes<TV, T>
    {
        int r = Degree;
        Span<TV> powers = stackalloc TV[(2 * r) + 2];
        Powers(x, powers);
        Span<TV> q = stackalloc TV[PolynomialCount];
        TV squares = TV.Zero;
        TV curvature = TV.Zero;
        for (int i = 0; i < PolynomialCount; i++)
        {
            ReadOnlySpan<TV> c = prepared.Slice(1 + (i * (r + 1)), r + 1);
            TV value = TV.Zero;
            TV slope = TV.Zero;
            for (int j = 0; j <= r; j++)
            {
                TV cj = c[j];
                value += cj * powers[j];
                if (j > 0)
                {
                    slope += TV.Create(T.CreateTruncating(j)) * cj * powers[j - 1];
                }
            }

            q[i] = value;
            squares += value * value;
            curvature += value * slope;
        }

        TV twoShare = TV.Create(T.CreateTruncating(2)) * TV.Create(_share);
        TV derivative = TV.Create(_minimumSlope) + (TV.Create(_share) * squares);
        TV logWeight = logDerivativeWeight / derivative;
        preparedGradient[0] += valueWeight;
        for (int i = 0; i < PolynomialCount; i++)
        {
            ReadOnlySpan<TV> c = prepared.Slice(1 + (i * (r + 1)), r + 1);
            Span<TV> g = preparedGradient.Slice(1 + (i * (r + 1)), r + 1);
            for (int j = 0; j <= r; j++)
            {
                TV sum = TV.Zero;
                for (int l = 0; l <= r; l++)
                {
                    sum += c[l] * powers[j + l + 1] / TV.Create(T.CreateTruncating(j + l + 1));
                }

                g[j] += twoShare * ((valueWeight * sum) + (logWeight * q[i] * powers[j]));
            }
        }

        return (derivative, twoShare * curvature / derivative);
    }

    public void Finish<TV>(ReadOnlySpan<TV> theta, ReadOnlySpan<TV> preparedGradient, Span<TV> thetaGradient) where TV : unmanaged, ISimdLanes<TV, T>
    {
        for (int k = 0; k < thetaGradient.Length; k++)
        {
            thetaGradient[k] += preparedGradient[k];
        }
    }

    // c₀ = 1 + a₀ and cⱼ = aⱼ: zero parameters give qᵢ = 1, so f′ = 1 and f is the identity.
    private static T Coefficient(ReadOnlySpan<T> a, int j) => j == 0 ? T.One + a[0] : a[j];

    private static void Powers(T x, Span<T> powers)
    {
        T power = T.One;
        for (int k = 0; k < powers.Length; k++)
        {
            powers[k] = power;
            power *= x;
        }
    }

    private static void Powers<TV>(TV x, Span<TV> powers) where TV : unmanaged, ISimdLanes<TV, T>
    {
        TV power = TV.One;
        for (int k = 0; k < powers.Length; k++)
        {
            powers[k] = power;
            power *= x;
        }
    }
}
