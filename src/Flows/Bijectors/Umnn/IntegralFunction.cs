using System.Numerics;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// The integral of a positive network, f(x) = b + ∫₀ˣ g(t) dt, by Clenshaw–Curtis quadrature, with
/// g(t) = m + (1 − m)·softplus(h(t))/log 2 and h(t) = a₀ + Σₖ aₖ·tanh(sₖ(t − τₖ) + cₖ), sₖ = softplus(wₖ)/log 2:
/// θ = (b, a₀, a₁…a_H, w₁…w_H, c₁…c_H), 3H + 2 values; the knots τₖ are fixed, evenly spread over [−B, B].
/// </summary>
/// <remarks>f′(x) is g(x), the derivative of the exact integral (as in UMNN), not of the quadrature: the two differ by the
/// quadrature's error (see <see cref="UnconstrainedMonotonicTransform{T}"/>).</remarks>
internal readonly struct IntegralFunction<T> : IMonotoneFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _nodes;   // (1 + sᵢ)/2 ∈ [0, 1], sᵢ = cos(iπ/N)
    private readonly T[] _weights; // Clenshaw–Curtis weights on [−1, 1], halved: ∫₀ˣ g ≈ x·Σ ωᵢ g(x·nodeᵢ)
    private readonly T[] _knots;
    private readonly T _minimum;
    private readonly T _logTwo;

    public IntegralFunction(int hiddenCount, int intervalCount, double bound, double minimumSlope)
    {
        HiddenCount = hiddenCount;
        Bound = T.CreateTruncating(bound);
        _minimum = T.CreateTruncating(minimumSlope);
        _logTwo = T.CreateTruncating(Math.Log(2));
        (double[] nodes, double[] weights) = ClenshawCurtis(intervalCount);
        _nodes = [.. nodes.Select(v => T.CreateTruncating((1 + v) / 2))];
        _weights = [.. weights.Select(v => T.CreateTruncating(v / 2))];
        _knots = [.. Enumerable.Range(0, hiddenCount).Select(k => T.CreateTruncating(bound * ((2.0 * (k + 0.5) / hiddenCount) - 1)))];
    }

    public int HiddenCount { get; }

    public int ParameterCount => (3 * HiddenCount) + 2;

    public T Bound { get; }

    /// <summary>The nodes cos(iπ/N), i = 0…N, and weights of the (N + 1)-point Clenshaw–Curtis rule on [−1, 1], N even.</summary>
    /// <remarks>wᵢ = (cᵢ/N)·(1 − Σⱼ₌₁^{N/2} bⱼ cos(2jiπ/N)/(4j² − 1)) with c₀ = c_N = 1, else 2, and b_{N/2} = 1, else 2
    /// (Trefethen, "Is Gauss quadrature better than Clenshaw–Curtis?", SIAM Review 2008). Exact for polynomials of
    /// degree N; every weight is positive, so a positive integrand gives a positive integral.</remarks>
    internal static (double[] Nodes, double[] Weights) ClenshawCurtis(int n)
    {
        var nodes = new double[n + 1];
        var weights = new double[n + 1];
        for (int i = 0; i <= n; i++)
        {
            nodes[i] = Math.Cos(i * Math.PI / n);
            double sum = 0;
            for (int j = 1; j <= n / 2; j++)
            {
                double b = j == n / 2 ? 1 : 2;
                sum += b * Math.Cos(2 * j * i * Math.PI / n) / ((4.0 * j * j) - 1);
            }

            weights[i] = (i == 0 || i == n ? 1.0 : 2.0) / n * (1 - sum);
        }

        return (nodes, weights);
    }

    public (T Value, T Derivative) Evaluate(T x, ReadOnlySpan<T> theta)
    {
        T integral = T.Zero;
        for (int i = 0; i < _nodes.Length; i++)
        {
            integral += _weights[i] * Integrand(x * _nodes[i], theta);
        }

        return (theta[0] + (x * integral), Integrand(x, theta));
    }

    public (T Derivative, T LogDerivativeSlope) Backpropagate(T x, ReadOnlySpan<T> theta, T valueWeight, T logDerivativeWeight, Span<T> thetaGradient)
    {
        thetaGradient[0] += valueWeight;
        // ∂f/∂θ = x·Σ ωᵢ ∂g(x·nodeᵢ)/∂θ (Leibniz under the quadrature); ∂log g(x)/∂θ = (∂g(x)/∂θ)/g(x).
        if (valueWeight != T.Zero)
        {
            for (int i = 0; i < _nodes.Length; i++)
            {
                AddIntegrandGradient(x * _nodes[i], theta, valueWeight * x * _weights[i], thetaGradient);
            }
        }

        T g = Integrand(x, theta);
        (_, T slope) = AddIntegrandGradient(x, theta, logDerivativeWeight / g, thetaGradient);
        return (g, slope / g);
    }

    private T Integrand(T t, ReadOnlySpan<T> theta)
    {
        int h = HiddenCount;
        T pre = theta[1];
        for (int k = 0; k < h; k++)
        {
            T s = Scalar.Softplus(theta[2 + h + k]) / _logTwo;
            pre += theta[2 + k] * T.Tanh((s * (t - _knots[k])) + theta[2 + (2 * h) + k]);
        }

        return _minimum + ((T.One - _minimum) * Scalar.Softplus(pre) / _logTwo);
    }

    // Adds weight·∂g(t)/∂θ and returns g(t) and g′(t). With u = tanh(s(t − τ) + c): ∂h/∂a₀ = 1, ∂h/∂aₖ = uₖ,
    // ∂h/∂cₖ = aₖ(1 − uₖ²), ∂h/∂wₖ = aₖ(1 − uₖ²)(t − τₖ)σ(wₖ)/log 2, ∂h/∂t = Σ aₖ(1 − uₖ²)sₖ, ∂g/∂h = (1 − m)σ(h)/log 2.
    private (T Value, T Slope) AddIntegrandGradient(T t, ReadOnlySpan<T> theta, T weight, Span<T> thetaGradient)
    {
        int h = HiddenCount;
        Span<T> u = h <= 128 ? stackalloc T[h] : new T[h];
        T pre = theta[1];
        for (int k = 0; k < h; k++)
        {
            T s = Scalar.Softplus(theta[2 + h + k]) / _logTwo;
            u[k] = T.Tanh((s * (t - _knots[k])) + theta[2 + (2 * h) + k]);
            pre += theta[2 + k] * u[k];
        }

        T dg = (T.One - _minimum) * Scalar.Sigmoid(pre) / _logTwo;
        T scaled = weight * dg;
        T slope = T.Zero;
        thetaGradient[1] += scaled;
        for (int k = 0; k < h; k++)
        {
            T a = theta[2 + k];
            T sech2 = T.One - (u[k] * u[k]);
            T s = Scalar.Softplus(theta[2 + h + k]) / _logTwo;
            thetaGradient[2 + k] += scaled * u[k];
            thetaGradient[2 + h + k] += scaled * a * sech2 * (t - _knots[k]) * Scalar.Sigmoid(theta[2 + h + k]) / _logTwo;
            thetaGradient[2 + (2 * h) + k] += scaled * a * sech2;
            slope += a * sech2 * s;
        }

        return (_minimum + ((T.One - _minimum) * Scalar.Softplus(pre) / _logTwo), dg * slope);
    }
}
