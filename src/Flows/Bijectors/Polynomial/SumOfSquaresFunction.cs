using System.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// The sum-of-squares polynomial f(x) = b + m·x + ((1 − m)/K)·Σᵢ ∫₀ˣ qᵢ(t)² dt with qᵢ(t) = 1 + Σⱼ aᵢⱼ tʲ (j = 0…r):
/// θ = (b, a₁₀ … a₁ᵣ, …, a_K0 … a_Kr), K(r + 1) + 1 values.
/// </summary>
internal readonly struct SumOfSquaresFunction<T> : IMonotoneFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
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
}
