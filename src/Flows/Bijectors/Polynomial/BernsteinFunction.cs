using System.Numerics;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// The increasing Bernstein polynomial f(x) = Σₖ βₖ b_{k,M}(u), u = (x + B)/(2B), with β₀ = −B + θ₀ and increments
/// βₖ − βₖ₋₁ = δₖ = (2B/M)·(m + (1 − m)·softplus(θₖ)/log 2) for k = 1…M: θ holds M + 1 values.
/// </summary>
/// <remarks>Written as f = β₀ + Σₗ δₗ Sₗ(u) with Sₗ = Σ_{k≥l} b_{k,M}; f′(x) = Σₖ eₖ b_{k,M−1}(u) with eₖ = (M/2B)·δₖ₊₁,
/// and f″(x) = ((M − 1)/2B)·Σₖ (eₖ₊₁ − eₖ)·b_{k,M−2}(u). Zero parameters give δₖ = 2B/M, hence f(x) = x. The lane forms
/// (<see cref="IMonotoneLanes{T}"/>) prepare θ as (θ₀, δ₁ … δ_M) and repeat the scalar members' operations in the same
/// order; <see cref="Finish"/> multiplies by δₗ′(θₗ) as the scalar backward pass does.</remarks>
internal readonly struct BernsteinFunction<T> : IMonotoneLanes<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _step;      // 2B/M
    private readonly T _minimum;   // m
    private readonly T _logTwo;

    public BernsteinFunction(int degree, double bound, double minimumSlope)
    {
        Degree = degree;
        Bound = T.CreateTruncating(bound);
        _step = T.CreateTruncating(2 * bound / degree);
        _minimum = T.CreateTruncating(minimumSlope);
        _logTwo = T.CreateTruncating(Math.Log(2));
    }

    public int Degree { get; }

    public int ParameterCount => Degree + 1;

    public T Bound { get; }

    public (T Value, T Derivative) Evaluate(T x, ReadOnlySpan<T> theta)
    {
        int m = Degree;
        Span<T> basis = stackalloc T[3 * (m + 1)];
        Basis(x, basis);
        ReadOnlySpan<T> top = basis.Slice(2 * (m + 1), m + 1);
        ReadOnlySpan<T> lower = basis.Slice(m + 1, m);
        T value = -Bound + theta[0];
        T tail = T.Zero; // S_l, accumulated from l = M down
        T derivative = T.Zero;
        for (int l = m; l >= 1; l--)
        {
            tail += top[l];
            T delta = Increment(theta[l]);
            value += delta * tail;
            derivative += delta * lower[l - 1];
        }

        return (value, derivative / _step);
    }

    public (T Derivative, T LogDerivativeSlope) Backpropagate(T x, ReadOnlySpan<T> theta, T valueWeight, T logDerivativeWeight, Span<T> thetaGradient)
    {
        int m = Degree;
        Span<T> basis = stackalloc T[3 * (m + 1)];
        Basis(x, basis);
        ReadOnlySpan<T> second = basis[..(m + 1)];
        ReadOnlySpan<T> lower = basis.Slice(m + 1, m);
        ReadOnlySpan<T> top = basis.Slice(2 * (m + 1), m + 1);
        T derivative = T.Zero;
        T curvature = T.Zero;
        for (int k = 0; k < m; k++)
        {
            T e = Increment(theta[k + 1]) / _step;
            derivative += e * lower[k];
            if (k + 1 < m)
            {
                curvature += (Increment(theta[k + 2]) / _step - e) * second[k];
            }
        }

        curvature *= T.CreateTruncating(m - 1) / (Bound + Bound);
        T logWeight = logDerivativeWeight / derivative;
        thetaGradient[0] += valueWeight;
        T tail = T.Zero;
        for (int l = m; l >= 1; l--)
        {
            tail += top[l];
            // ∂f/∂δₗ = Sₗ, ∂f′/∂δₗ = b_{l−1,M−1}/(2B/M), δₗ′(θ) = (2B/M)(1 − m)σ(θ)/log 2.
            T deltaSlope = _step * (T.One - _minimum) * Scalar.Sigmoid(theta[l]) / _logTwo;
            thetaGradient[l] += deltaSlope * ((valueWeight * tail) + (logWeight * lower[l - 1] / _step));
        }

        return (derivative, curvature / derivative);
    }

    public int PreparedCount => ParameterCount;

    // δₗ = Increment(θₗ) lane by lane: the scalar softplus, for the scalar path's bits.
    public void Prepare<TV>(ReadOnlySpan<TV> theta, Span<TV> prepared) where TV : unmanaged, ISimdLanes<TV, T>
    {
        prepared[0] = theta[0];
        Span<T> lanes = stackalloc T[TV.Count];
        for (int l = 1; l <= Degree; l++)
        {
            for (int lane = 0; lane < lanes.Length; lane++)
            {
                lanes[lane] = Increment(theta[l][lane]);
            }

            prepared[l] = TV.Create(lanes);
        }
    }

    public (TV Value, TV Derivative) Evaluate<TV>(TV x, ReadOnlySpan<TV> prepared) where TV : unmanaged, ISimdLanes<TV, T>
    {
        int m = Degree;
        Span<TV> basis = stackalloc TV[3 * (m + 1)];
        Basis(x, basis);
        ReadOnlySpan<TV> top = basis.Slice(2 * (m + 1), m + 1);
        ReadOnlySpan<TV> lower = basis.Slice(m + 1, m);
        TV value = TV.Create(-Bound) + prepared[0];
        TV tail = TV.Zero;
        TV derivative = TV.Zero;
        for (int l = m; l >= 1; l--)
        {
            tail += top[l];
            TV delta = prepared[l];
            value += delta * tail;
            derivative += delta * lower[l - 1];
        }

        return (value, derivative / TV.Create(_step));
    }

    public (TV Derivative, TV LogDerivativeSlope) Backpropagate<TV>(TV x, ReadOnlySpan<TV> prepared, TV valueWeight, TV logDerivativeWeight,
        Span<TV> preparedGradient) where TV : unmanaged, ISimdLanes<TV, T>
    {
        int m = Degree;
        Span<TV> basis = stackalloc TV[3 * (m + 1)];
        Basis(x, basis);
        ReadOnlySpan<TV> second = basis[..(m + 1)];
        ReadOnlySpan<TV> lower = basis.Slice(m + 1, m);
        ReadOnlySpan<TV> top = basis.Slice(2 * (m + 1), m + 1);
        TV step = TV.Create(_step);
        TV derivative = TV.Zero;
        TV curvature = TV.Zero;
        for (int k = 0; k < m; k++)
        {
            TV e = prepared[k + 1] / step;
            derivative += e * lower[k];
            if (k + 1 < m)
            {
                curvature += ((prepared[k + 2] / step) - e) * second[k];
            }
        }

        curvature *= TV.Create(T.CreateTruncating(m - 1) / (Bound + Bound));
        TV logWeight = logDerivativeWeight / derivative;
        preparedGradient[0] += valueWeight;
        TV tail = TV.Zero;
        for (int l = m; l >= 1; l--)
        {
            tail += top[l];
            preparedGradient[l] += (valueWeight * tail) + (logWeight * lower[l - 1] / step);
        }

        return (derivative, curvature / derivative);
    }

    public void Finish<TV>(ReadOnlySpan<TV> theta, ReadOnlySpan<TV> preparedGradient, Span<TV> thetaGradient) where TV : unmanaged, ISimdLanes<TV, T>
    {
        thetaGradient[0] += preparedGradient[0];
        Span<T> lanes = stackalloc T[TV.Count];
        for (int l = 1; l <= Degree; l++)
        {
            for (int lane = 0; lane < lanes.Length; lane++)
            {
                // δₗ′(θ) = (2B/M)(1 − m)σ(θ)/log 2, by the scalar sigmoid as in Backpropagate.
                T deltaSlope = _step * (T.One - _minimum) * Scalar.Sigmoid(theta[l][lane]) / _logTwo;
                lanes[lane] = deltaSlope * preparedGradient[l][lane];
            }

            thetaGradient[l] += TV.Create(lanes);
        }
    }

    private T Increment(T raw) => _step * (_minimum + ((T.One - _minimum) * Scalar.Softplus(raw) / _logTwo));

    // The Bernstein bases of degrees M − 2, M − 1 and M at u, by the de Casteljau recurrence
    // b_{k,n} = (1 − u)·b_{k,n−1} + u·b_{k−1,n−1}: three rows of M + 1 values (missing degrees stay zero).
    private void Basis(T x, Span<T> rows)
    {
        int m = Degree;
        rows.Clear();
        T u = T.Clamp((x + Bound) / (Bound + Bound), T.Zero, T.One);
        T v = T.One - u;
        Span<T> b = rows.Slice(2 * (m + 1), m + 1);
        b[0] = T.One;
        for (int n = 1; n <= m; n++)
        {
            if (n == m - 1)
            {
                b[..(n)].CopyTo(rows[..n]); // degree M − 2
            }

            if (n == m)
            {
                b[..n].CopyTo(rows.Slice(m + 1, n)); // degree M − 1
            }

            b[n] = u * b[n - 1];
            for (int k = n - 1; k >= 1; k--)
            {
                b[k] = (v * b[k]) + (u * b[k - 1]);
            }

            b[0] = v * b[0];
        }
    }

    // Basis above, in every lane (the clamp by selects, so that NaN stays NaN as T.Clamp keeps it).
    private void Basis<TV>(TV x, Span<TV> rows) where TV : unmanaged, ISimdLanes<TV, T>
    {
        int m = Degree;
        rows.Clear();
        TV u = (x + TV.Create(Bound)) / TV.Create(Bound + Bound);
        u = TV.Select(TV.LessThan(u, TV.Zero), TV.Zero, TV.Select(TV.GreaterThan(u, TV.One), TV.One, u));
        TV v = TV.One - u;
        Span<TV> b = rows.Slice(2 * (m + 1), m + 1);
        b[0] = TV.One;
        for (int n = 1; n <= m; n++)
        {
            if (n == m - 1)
            {
                b[..n].CopyTo(rows[..n]);
            }

            if (n == m)
            {
                b[..n].CopyTo(rows.Slice(m + 1, n));
            }

            b[n] = u * b[n - 1];
            for (int k = n - 1; k >= 1; k--)
            {
                b[k] = (v * b[k]) + (u * b[k - 1]);
            }

            b[0] = v * b[0];
        }
    }
}
