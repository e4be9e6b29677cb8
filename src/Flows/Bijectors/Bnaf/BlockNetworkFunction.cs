using System.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// One feature's output of a block neural autoregressive network as a function of its own input t, the features before
/// it held fixed: <c>h₁ = w₁t + c₁</c>, <c>hₗ = Wₗ tanh(hₗ₋₁) + cₗ</c>, <c>f(t) = h_L</c>, where Wₗ is the feature's
/// positive diagonal block of layer l (mₗ × mₗ₋₁, m₀ = m_L = 1) and cₗ collects the bias, the context and the earlier
/// features' contributions. θ = (c₁, W₁, c₂, W₂, …, c_L, W_L), each W row-major: what
/// <see cref="MonotoneOps.Solve{T, TFunction}"/> inverts feature by feature.
/// </summary>
/// <remarks>
/// <para>f′ is carried forward with the values (ḣ₁ = w₁, ḣₗ = Wₗ((1 − uₗ₋₁²) ⊙ ḣₗ₋₁)), positive since every weight of a
/// diagonal block is. The gradients of f and log f′ are one reverse sweep through the value and tangent recursions
/// (the adjoints of h and ḣ), checked against central differences by BnafTests and the property suite.</para>
/// </remarks>
internal readonly struct BlockNetworkFunction<T> : IMonotoneFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int[] _sizes; // m₀ = 1, m₁ … m_{L−1}, m_L = 1
    private readonly int _scratch; // Σ m over the hidden layers

    public BlockNetworkFunction(int[] sizes, double bound)
    {
        _sizes = sizes;
        Bound = T.CreateTruncating(bound);
        int count = 0;
        int hidden = 0;
        for (int l = 1; l < sizes.Length; l++)
        {
            count += sizes[l] * (1 + sizes[l - 1]);
            hidden += l + 1 < sizes.Length ? sizes[l] : 0;
        }

        ParameterCount = count;
        _scratch = hidden;
    }

    public int ParameterCount { get; }

    public T Bound { get; }

    public (T Value, T Derivative) Evaluate(T x, ReadOnlySpan<T> theta)
    {
        Span<T> scratch = stackalloc T[3 * _scratch];
        return Run(x, theta, scratch);
    }

    public (T Derivative, T LogDerivativeSlope) Backpropagate(T x, ReadOnlySpan<T> theta, T valueWeight, T logDerivativeWeight, Span<T> thetaGradient)
    {
        Span<T> scratch = stackalloc T[3 * _scratch];
        (_, T derivative) = Run(x, theta, scratch);
        T slope = Reverse(x, theta, scratch, T.Zero, T.One / derivative, default);
        Reverse(x, theta, scratch, valueWeight, logDerivativeWeight / derivative, thetaGradient);
        return (derivative, slope);
    }

    // Values and tangents; scratch keeps u, u̇ and ḣ of every hidden layer for the reverse sweep.
    private (T Value, T Derivative) Run(T x, ReadOnlySpan<T> theta, Span<T> scratch)
    {
        int layers = _sizes.Length - 1;
        int o = 0;
        int s = 0;
        T value = T.Zero;
        T derivative = T.Zero;
        for (int l = 1; l <= layers; l++)
        {
            int mOut = _sizes[l];
            int mIn = _sizes[l - 1];
            ReadOnlySpan<T> c = theta.Slice(o, mOut);
            ReadOnlySpan<T> w = theta.Slice(o + mOut, mOut * mIn);
            ReadOnlySpan<T> u = l == 1 ? default : scratch.Slice((s - mIn) * 3, mIn);
            ReadOnlySpan<T> uDot = l == 1 ? default : scratch.Slice(((s - mIn) * 3) + mIn, mIn);
            Span<T> next = l < layers ? scratch.Slice(s * 3, 3 * mOut) : default;
            for (int r = 0; r < mOut; r++)
            {
                T h = c[r];
                T hDot = T.Zero;
                if (l == 1)
                {
                    h += w[r] * x;
                    hDot = w[r];
                }
                else
                {
                    for (int k = 0; k < mIn; k++)
                    {
                        h += w[(r * mIn) + k] * u[k];
                        hDot += w[(r * mIn) + k] * uDot[k];
                    }
                }

                if (l < layers)
                {
                    T t = T.Tanh(h);
                    next[r] = t;                                   // u
                    next[mOut + r] = (T.One - (t * t)) * hDot;     // u̇
                    next[(2 * mOut) + r] = hDot;                   // ḣ
                }
                else
                {
                    value = h;
                    derivative = hDot;
                }
            }

            o += mOut * (1 + mIn);
            if (l < layers)
            {
                s += mOut;
            }
        }

        return (value, derivative);
    }

    // The reverse sweep of J = α·f + β̂·ḟ (β̂ = β/f′, so that ∂J = α∂f + β∂log f′), accumulating ∂J/∂θ into thetaGradient
    // unless it is empty; returns ∂J/∂t. With h̄, ḣ̄ the adjoints of h and ḣ of a layer:
    //   c̄ += h̄; W̄ += h̄ uᵀ + ḣ̄ u̇ᵀ; ū = Wᵀh̄, u̇̄ = Wᵀḣ̄; below, with u = tanh h, σ = 1 − u²:
    //   ḣ̄ = σ ⊙ u̇̄, h̄ = σ ⊙ (ū − 2u ⊙ ḣ ⊙ u̇̄).  At the input u = t, u̇ = 1, so ∂J/∂t = ū.
    private T Reverse(T x, ReadOnlySpan<T> theta, ReadOnlySpan<T> scratch, T alpha, T betaHat, Span<T> thetaGradient)
    {
        int layers = _sizes.Length - 1;
        int widest = 1;
        foreach (int m in _sizes)
        {
            widest = Math.Max(widest, m);
        }

        Span<T> buffer = stackalloc T[4 * widest];
        Span<T> hBar = buffer[..widest];
        Span<T> hDotBar = buffer.Slice(widest, widest);
        Span<T> uBar = buffer.Slice(2 * widest, widest);
        Span<T> uDotBar = buffer.Slice(3 * widest, widest);
        hBar[0] = alpha;
        hDotBar[0] = betaHat;
        bool accumulate = !thetaGradient.IsEmpty;
        int o = ParameterCount;
        int s = _scratch;
        T result = T.Zero;
        for (int l = layers; l >= 1; l--)
        {
            int mOut = _sizes[l];
            int mIn = _sizes[l - 1];
            o -= mOut * (1 + mIn);
            ReadOnlySpan<T> w = theta.Slice(o + mOut, mOut * mIn);
            if (l == 1)
            {
                T tBar = T.Zero;
                for (int r = 0; r < mOut; r++)
                {
                    tBar += w[r] * hBar[r];
                    if (accumulate)
                    {
                        thetaGradient[o + r] += hBar[r];
                        thetaGradient[o + mOut + r] += (hBar[r] * x) + hDotBar[r];
                    }
                }

                result = tBar;
                break;
            }

            s -= mIn;
            ReadOnlySpan<T> u = scratch.Slice(s * 3, mIn);
            ReadOnlySpan<T> uDot = scratch.Slice((s * 3) + mIn, mIn);
            ReadOnlySpan<T> hDot = scratch.Slice((s * 3) + (2 * mIn), mIn);
            uBar[..mIn].Clear();
            uDotBar[..mIn].Clear();
            for (int r = 0; r < mOut; r++)
            {
                if (accumulate)
                {
                    thetaGradient[o + r] += hBar[r];
                }

                for (int k = 0; k < mIn; k++)
                {
                    T weight = w[(r * mIn) + k];
                    uBar[k] += weight * hBar[r];
                    uDotBar[k] += weight * hDotBar[r];
                    if (accumulate)
                    {
                        thetaGradient[o + mOut + (r * mIn) + k] += (hBar[r] * u[k]) + (hDotBar[r] * uDot[k]);
                    }
                }
            }

            for (int k = 0; k < mIn; k++)
            {
                T sigma = T.One - (u[k] * u[k]);
                hDotBar[k] = sigma * uDotBar[k];
                hBar[k] = sigma * (uBar[k] - (T.CreateTruncating(2) * u[k] * hDot[k] * uDotBar[k]));
            }
        }

        return result;
    }
}
