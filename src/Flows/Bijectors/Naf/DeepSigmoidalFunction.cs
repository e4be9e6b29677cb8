using System.Numerics;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// The deep sigmoidal flow's monotone map with a floor on its slope: f(x) = m·x + (1 − m)·F(x),
/// F(x) = σ⁻¹(Σⱼ wⱼ σ(aⱼx + bⱼ)), aⱼ = softplus(αⱼ)/log 2, bⱼ = βⱼ + τⱼ, w = softmax(ω): θ = (α₁…α_H, β₁…β_H, ω₁…ω_H).
/// </summary>
/// <remarks>
/// <para>Everything is computed in log space: log S = LSE(log wⱼ − softplus(−yⱼ)), log(1 − S) = LSE(log wⱼ − softplus(yⱼ)),
/// F = log S − log(1 − S), F′ = N/(S(1 − S)) with N = Σ wⱼaⱼσⱼ(1 − σⱼ), so nothing cancels or underflows where the
/// sigmoids saturate.</para>
/// <para>Gradients, with pⱼ = wⱼσⱼ/S, qⱼ = wⱼ(1 − σⱼ)/(1 − S), nⱼ = wⱼaⱼσⱼ(1 − σⱼ)/N:
/// ∂F/∂yⱼ = rⱼ = pⱼ(1 − σⱼ) + qⱼσⱼ, ∂F/∂ωⱼ = pⱼ − qⱼ; ∂log F′/∂yⱼ = Dⱼ = nⱼ(1 − 2σⱼ) − pⱼ(1 − σⱼ) + qⱼσⱼ,
/// ∂log F′/∂aⱼ (direct) = nⱼ/aⱼ, ∂log F′/∂ωⱼ = nⱼ − pⱼ − qⱼ + wⱼ.</para>
/// </remarks>
internal readonly struct DeepSigmoidalFunction<T> : IMonotoneFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _offsets; // τⱼ, evenly spread over [−3, 3]: distinct units from the start
    private readonly T _minimum;
    private readonly T _logTwo;

    public DeepSigmoidalFunction(int hiddenCount, double bound, double minimumSlope)
    {
        HiddenCount = hiddenCount;
        Bound = T.CreateTruncating(bound);
        _minimum = T.CreateTruncating(minimumSlope);
        _logTwo = T.CreateTruncating(Math.Log(2));
        _offsets = [.. Enumerable.Range(0, hiddenCount).Select(j => T.CreateTruncating(hiddenCount == 1 ? 0 : 3 * ((2.0 * j / (hiddenCount - 1)) - 1)))];
    }

    public int HiddenCount { get; }

    public int ParameterCount => 3 * HiddenCount;

    public T Bound { get; }

    public (T Value, T Derivative) Evaluate(T x, ReadOnlySpan<T> theta)
    {
        Span<T> scratch = stackalloc T[7 * HiddenCount];
        (T value, T logSlope) = Core(x, theta, scratch);
        return ((_minimum * x) + ((T.One - _minimum) * value), _minimum + ((T.One - _minimum) * T.Exp(logSlope)));
    }

    public (T Derivative, T LogDerivativeSlope) Backpropagate(T x, ReadOnlySpan<T> theta, T valueWeight, T logDerivativeWeight, Span<T> thetaGradient)
    {
        int h = HiddenCount;
        Span<T> scratch = stackalloc T[7 * h];
        (_, T logSlope) = Core(x, theta, scratch);
        ReadOnlySpan<T> sigma = scratch[..h];
        ReadOnlySpan<T> w = scratch.Slice(h, h);
        ReadOnlySpan<T> p = scratch.Slice(2 * h, h);
        ReadOnlySpan<T> q = scratch.Slice(3 * h, h);
        ReadOnlySpan<T> nShare = scratch.Slice(4 * h, h);
        ReadOnlySpan<T> a = scratch.Slice(5 * h, h);
        T inner = T.Exp(logSlope);
        T derivative = _minimum + ((T.One - _minimum) * inner);

        // f = m·x + (1 − m)F, log f′ = log(m + (1 − m)F′): ∂log f′ = ρ·∂log F′ with ρ = (1 − m)F′/f′.
        T valueScale = valueWeight * (T.One - _minimum);
        T rho = (T.One - _minimum) * inner / derivative;
        T logScale = logDerivativeWeight * rho;
        T two = T.CreateTruncating(2);
        T logSlopeX = T.Zero;
        for (int j = 0; j < h; j++)
        {
            T r = (p[j] * (T.One - sigma[j])) + (q[j] * sigma[j]);
            T dy = (nShare[j] * (T.One - (two * sigma[j]))) - (p[j] * (T.One - sigma[j])) + (q[j] * sigma[j]);
            T aSlope = Scalar.Sigmoid(theta[j]) / _logTwo;
            logSlopeX += dy * a[j];
            thetaGradient[j] += aSlope * ((valueScale * r * x) + (logScale * ((dy * x) + (nShare[j] / a[j]))));
            thetaGradient[h + j] += (valueScale * r) + (logScale * dy);
            thetaGradient[(2 * h) + j] += (valueScale * (p[j] - q[j])) + (logScale * (nShare[j] - p[j] - q[j] + w[j]));
        }

        return (derivative, rho * logSlopeX);
    }

    // F(x) and log F′(x); scratch receives σⱼ, wⱼ, pⱼ, qⱼ, nⱼ, aⱼ and a row of log wⱼ.
    private (T Value, T LogSlope) Core(T x, ReadOnlySpan<T> theta, Span<T> scratch)
    {
        int h = HiddenCount;
        Span<T> sigma = scratch[..h];
        Span<T> w = scratch.Slice(h, h);
        Span<T> p = scratch.Slice(2 * h, h);
        Span<T> q = scratch.Slice(3 * h, h);
        Span<T> nShare = scratch.Slice(4 * h, h);
        Span<T> a = scratch.Slice(5 * h, h);
        Span<T> logW = scratch.Slice(6 * h, h);
        ReadOnlySpan<T> omega = theta.Slice(2 * h, h);
        T logNormalizer = LogSumExp(omega);
        for (int j = 0; j < h; j++)
        {
            logW[j] = omega[j] - logNormalizer;
            w[j] = T.Exp(logW[j]);
            a[j] = Scalar.Softplus(theta[j]) / _logTwo;
        }

        // p ← log wⱼ + log σ(yⱼ), q ← log wⱼ + log σ(−yⱼ), n ← log(wⱼaⱼσⱼ(1 − σⱼ)).
        for (int j = 0; j < h; j++)
        {
            T y = (a[j] * x) + theta[h + j] + _offsets[j];
            sigma[j] = Scalar.Sigmoid(y);
            T logSigma = -Scalar.Softplus(-y);
            T logComplement = -Scalar.Softplus(y);
            p[j] = logW[j] + logSigma;
            q[j] = logW[j] + logComplement;
            nShare[j] = logW[j] + T.Log(a[j]) + logSigma + logComplement;
        }

        T logS = LogSumExp(p);
        T logComplementS = LogSumExp(q);
        T logN = LogSumExp(nShare);
        for (int j = 0; j < h; j++)
        {
            p[j] = T.Exp(p[j] - logS);
            q[j] = T.Exp(q[j] - logComplementS);
            nShare[j] = T.Exp(nShare[j] - logN);
        }

        return (logS - logComplementS, logN - logS - logComplementS);
    }

    private static T LogSumExp(ReadOnlySpan<T> values)
    {
        T max = T.NegativeInfinity;
        foreach (T v in values)
        {
            max = T.Max(max, v);
        }

        if (T.IsNegativeInfinity(max))
        {
            return max;
        }

        T sum = T.Zero;
        foreach (T v in values)
        {
            sum += T.Exp(v - max);
        }

        return max + T.Log(sum);
    }
}
