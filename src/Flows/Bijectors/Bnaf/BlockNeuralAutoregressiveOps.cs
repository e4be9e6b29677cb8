using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// The block neural autoregressive flow's fused operations: the weight-normalized block weights with their log-diagonal
/// blocks, the log-space product of the diagonal Jacobian blocks, and the clamp and linear tails around the network.
/// </summary>
/// <remarks>
/// Layer l maps d blocks of m_in units to d blocks of m_out units (m = 1 at the input and the output); row R belongs to
/// block R / m_out and may read column C when C / m_in ≤ R / m_out (block lower-triangular). The hand-derived backward
/// passes are checked against central differences by the property suite (every parameter of a BNAF case) and by
/// BnafTests.
/// </remarks>
internal static class BlockNeuralAutoregressiveOps
{
    /// <summary>
    /// The weight-normalized block weights of one layer (Eq. 8–9 in De Cao et al. 2019): with vᵣ꜀ = exp(Ŵᵣ꜀) on the
    /// diagonal blocks and Ŵᵣ꜀ below them (0 above), Wᵣ꜀ = exp(sᵣ)·vᵣ꜀/‖vᵣ‖, and the logarithms of the diagonal blocks'
    /// entries, log Wᵣ꜀ = sᵣ + Ŵᵣ꜀ − ½ log ‖vᵣ‖², formed directly rather than as log of W.
    /// </summary>
    /// <param name="tape">The tape.</param>
    /// <param name="raw">Ŵ, (d·m_out) × (d·m_in); entries above the block diagonal are ignored.</param>
    /// <param name="logScale">s, (d·m_out) × 1: the log of each row's norm.</param>
    /// <param name="blocks">d.</param>
    /// <returns>W, (d·m_out) × (d·m_in), 0 above the block diagonal; and log W of the diagonal blocks, 1 × (d·m_out·m_in),
    /// entry (R·m_in + k) for row R and column k of its block.</returns>
    public static (Node<T> Weight, Node<T> LogDiagonal) BlockWeights<T>(this Tape<T> tape, Node<T> raw, Node<T> logScale, int blocks)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = raw.Rows;
        int columns = raw.Columns;
        int mOut = rows / blocks;
        int mIn = columns / blocks;
        Node<T> weight = tape.Allocate(rows, columns);
        Node<T> logDiagonal = tape.Allocate(1, rows * mIn);
        ReadOnlySpan<T> w = raw.Values;
        Span<T> y = weight.Values;
        Span<T> logs = logDiagonal.Values;
        y.Clear();
        for (int r = 0; r < rows; r++)
        {
            int block = r / mOut;
            int diagonalStart = block * mIn;
            int end = diagonalStart + mIn;
            T squaredNorm = T.Zero;
            for (int c = 0; c < end; c++)
            {
                T v = c >= diagonalStart ? T.Exp(w[(r * columns) + c]) : w[(r * columns) + c];
                y[(r * columns) + c] = v;
                squaredNorm += v * v;
            }

            if (end == 1)
            {
                // A row with one entry (the first feature's rows of the first layer) is e^s exactly: rounding in v/‖v‖
                // would otherwise give its raw weight, which has no effect, a gradient of rounding noise.
                y[r * columns] = T.Exp(logScale.Values[r]);
                logs[r] = logScale.Values[r];
                continue;
            }

            T logNorm = T.CreateTruncating(0.5) * T.Log(squaredNorm);
            T factor = T.Exp(logScale.Values[r] - logNorm);
            for (int c = 0; c < end; c++)
            {
                y[(r * columns) + c] *= factor;
            }

            for (int k = 0; k < mIn; k++)
            {
                logs[(r * mIn) + k] = logScale.Values[r] + w[(r * columns) + diagonalStart + k] - logNorm;
            }
        }

        tape.Record(BlockWeightsBackward<T>.Instance, weight, raw, logScale, output1: logDiagonal, flag: blocks);
        return (weight, logDiagonal);
    }

    /// <summary>
    /// One layer of the log-space product of the diagonal Jacobian blocks: for row n, block i and unit r,
    /// <c>out = LSE_k(log Wᵢᵢ[r, k] + previous[n, i·m_in + k]) + log(1 − tanh²(h[n, i·m_out + r]))</c>, the last term only
    /// when <paramref name="preActivation"/> is given. <c>exp(out)</c> is ∂u/∂xᵢ of the layer's units (∂h/∂xᵢ without the
    /// activation); every factor is positive, so the logarithm is exact and nothing underflows where tanh saturates.
    /// </summary>
    /// <param name="tape">The tape.</param>
    /// <param name="previous">n × (d·m_in), the previous layer's result; null for the first layer (m_in = 1, log ∂xᵢ/∂xᵢ = 0).</param>
    /// <param name="logDiagonal">1 × (d·m_out·m_in), from <see cref="BlockWeights"/>.</param>
    /// <param name="preActivation">n × (d·m_out), the layer's h before tanh; null for the output layer.</param>
    /// <param name="rows">n.</param>
    /// <param name="blocks">d.</param>
    /// <param name="mOut">m_out.</param>
    /// <returns>n × (d·m_out).</returns>
    public static Node<T> BlockLogProduct<T>(this Tape<T> tape, Node<T>? previous, Node<T> logDiagonal, Node<T>? preActivation,
        int rows, int blocks, int mOut)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int width = blocks * mOut;
        int mIn = logDiagonal.Columns / width;
        Node<T> output = tape.Allocate(rows, width);
        ReadOnlySpan<T> logs = logDiagonal.Values;
        for (int n = 0; n < rows; n++)
        {
            for (int unit = 0; unit < width; unit++)
            {
                int block = unit / mOut;
                T value;
                if (previous is null)
                {
                    value = logs[unit];
                }
                else
                {
                    ReadOnlySpan<T> g = previous.Values.Slice((n * previous.Columns) + (block * mIn), mIn);
                    ReadOnlySpan<T> a = logs.Slice(unit * mIn, mIn);
                    T max = T.NegativeInfinity;
                    for (int k = 0; k < mIn; k++)
                    {
                        max = T.Max(max, a[k] + g[k]);
                    }

                    T sum = T.Zero;
                    for (int k = 0; k < mIn; k++)
                    {
                        sum += T.Exp(a[k] + g[k] - max);
                    }

                    value = max + T.Log(sum);
                }

                if (preActivation is not null)
                {
                    value += LogTanhSlope(preActivation.Values[(n * width) + unit]);
                }

                output.Values[(n * width) + unit] = value;
            }
        }

        tape.Record(BlockLogProductBackward<T>.Instance, output, logDiagonal, preActivation, previous, flag: mOut);
        return output;
    }

    /// <summary>Elementwise <c>clamp(x, −B, B)</c>; the gradient passes where |x| ≤ B.</summary>
    public static Node<T> Clamp<T>(this Tape<T> tape, Node<T> x, T bound) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Node<T> y = tape.Allocate(x.Rows, x.Columns);
        ReadOnlySpan<T> xs = x.Values;
        Span<T> ys = y.Values;
        for (int k = 0; k < xs.Length; k++)
        {
            // NaN stays NaN (T.Clamp would too, but say so).
            ys[k] = T.IsNaN(xs[k]) ? xs[k] : T.Clamp(xs[k], -bound, bound);
        }

        tape.Record(ClampBackward<T>.Instance, y, x, scalar: bound);
        return y;
    }

    /// <summary>
    /// The linear tails: <c>y = g + exp(ℓ) ⊙ (x − clamp(x, −B, B))</c>, where g and ℓ = log ∂g/∂xᵢ are the network's output
    /// and log-slope at the clamped input: on [−B, B] y is the network itself, beyond it the tangent at ±B.
    /// </summary>
    public static Node<T> LinearTails<T>(this Tape<T> tape, Node<T> x, Node<T> network, Node<T> logSlope, T bound)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Node<T> y = tape.Allocate(x.Rows, x.Columns);
        for (int k = 0; k < y.Length; k++)
        {
            T excess = Excess(x.Values[k], bound);
            y.Values[k] = excess == T.Zero ? network.Values[k] : network.Values[k] + (T.Exp(logSlope.Values[k]) * excess);
        }

        tape.Record(LinearTailsBackward<T>.Instance, y, x, network, logSlope, scalar: bound);
        return y;
    }

    // log(1 − tanh² h) = log sech² h = 2(log 2 − |h| − log(1 + e^{−2|h|})): no cancellation where tanh saturates.
    private static T LogTanhSlope<T>(T h) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T a = T.Abs(h);
        return T.CreateTruncating(2) * (T.CreateTruncating(Math.Log(2)) - a - T.LogP1(T.Exp(-(a + a))));
    }

    private static T Excess<T>(T x, T bound) where T : unmanaged, IFloatingPointIeee754<T>
        => x > bound ? x - bound : x < -bound ? x + bound : T.Zero;

    private static class BlockWeightsBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Per row, with q = ∂L/∂W, G = Σ ∂L/∂log W over the diagonal block, ρ = ‖v‖, A = Σ꜀ q꜀v꜀ (verified by central
        // differences):  ∂s += Σ꜀ q꜀W꜀ + G;  ∂v꜀ = (e^s/ρ)(q꜀ − A v꜀/ρ²) − G v꜀/ρ²;  ∂Ŵ꜀ = ∂v꜀ (below the diagonal block)
        // or v꜀∂v꜀ + ∂log W꜀ (on it, v = e^Ŵ).
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> raw = e.Input0;
            Node<T> logScale = e.Input1!;
            int blocks = e.Flag;
            int rows = raw.Rows;
            int columns = raw.Columns;
            int mOut = rows / blocks;
            int mIn = columns / blocks;
            ReadOnlySpan<T> q = e.Output.Gradients;
            ReadOnlySpan<T> weight = e.Output.Values;
            ReadOnlySpan<T> logGradients = e.Output1!.Gradients;
            for (int r = 0; r < rows; r++)
            {
                int diagonalStart = r / mOut * mIn;
                int end = diagonalStart + mIn;
                ReadOnlySpan<T> w = raw.Values.Slice(r * columns, end);
                T squaredNorm = T.Zero;
                T a = T.Zero;
                T scaleGradient = T.Zero;
                for (int c = 0; c < end; c++)
                {
                    T v = c >= diagonalStart ? T.Exp(w[c]) : w[c];
                    squaredNorm += v * v;
                    a += q[(r * columns) + c] * v;
                    scaleGradient += q[(r * columns) + c] * weight[(r * columns) + c];
                }

                T g = T.Zero;
                for (int k = 0; k < mIn; k++)
                {
                    g += logGradients[(r * mIn) + k];
                }

                if (logScale.RequiresGradient)
                {
                    logScale.Gradients[r] += scaleGradient + g;
                }

                if (!raw.RequiresGradient || end == 1)
                {
                    continue; // a one-entry row is e^s whatever its raw weight
                }

                T factor = T.Exp(logScale.Values[r] - (T.CreateTruncating(0.5) * T.Log(squaredNorm)));
                Span<T> rawGradients = raw.Gradients.Slice(r * columns, end);
                for (int c = 0; c < end; c++)
                {
                    bool diagonal = c >= diagonalStart;
                    T v = diagonal ? T.Exp(w[c]) : w[c];
                    T dv = (factor * (q[(r * columns) + c] - (a * v / squaredNorm))) - (g * v / squaredNorm);
                    rawGradients[c] += diagonal ? (v * dv) + logGradients[(r * mIn) + c - diagonalStart] : dv;
                }
            }
        }
    }

    private static class BlockLogProductBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // out = LSE_k(a_k + g_k) + φ(h): ∂a_k, ∂g_k += ō·p_k with p_k = exp(a_k + g_k − LSE), recomputed from out − φ(h);
        // ∂h += ō·φ′(h) = −2 tanh(h)·ō.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> logDiagonal = e.Input0;
            Node<T>? preActivation = e.Input1;
            Node<T>? previous = e.Input2;
            int mOut = e.Flag;
            int rows = e.Output.Rows;
            int width = e.Output.Columns;
            int mIn = logDiagonal.Columns / width;
            ReadOnlySpan<T> o = e.Output.Gradients;
            ReadOnlySpan<T> logs = logDiagonal.Values;
            bool logGradient = logDiagonal.RequiresGradient;
            bool previousGradient = previous is { RequiresGradient: true };
            bool preGradient = preActivation is { RequiresGradient: true };
            for (int n = 0; n < rows; n++)
            {
                for (int unit = 0; unit < width; unit++)
                {
                    T gradient = o[(n * width) + unit];
                    T lse = e.Output.Values[(n * width) + unit];
                    if (preActivation is not null)
                    {
                        T h = preActivation.Values[(n * width) + unit];
                        lse -= LogTanhSlope(h);
                        if (preGradient)
                        {
                            preActivation.Gradients[(n * width) + unit] -= T.CreateTruncating(2) * T.Tanh(h) * gradient;
                        }
                    }

                    if (previous is null)
                    {
                        if (logGradient)
                        {
                            logDiagonal.Gradients[unit] += gradient;
                        }

                        continue;
                    }

                    int offset = (n * previous.Columns) + (unit / mOut * mIn);
                    for (int k = 0; k < mIn; k++)
                    {
                        T share = gradient * T.Exp(logs[(unit * mIn) + k] + previous.Values[offset + k] - lse);
                        if (logGradient)
                        {
                            logDiagonal.Gradients[(unit * mIn) + k] += share;
                        }

                        if (previousGradient)
                        {
                            previous.Gradients[offset + k] += share;
                        }
                    }
                }
            }
        }
    }

    private static class ClampBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        private static void Run(in TapeEntry<T> e)
        {
            Node<T> x = e.Input0;
            T bound = e.Scalar;
            for (int k = 0; k < x.Length; k++)
            {
                if (T.Abs(x.Values[k]) <= bound)
                {
                    x.Gradients[k] += e.Output.Gradients[k];
                }
            }
        }
    }

    private static class LinearTailsBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // y = g + e^ℓ·(x − c(x)): ∂g += ō; ∂ℓ += ō·e^ℓ·(x − c); ∂x += ō·e^ℓ outside [−B, B] (the network's own
        // dependence on x goes through the clamp op).
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> x = e.Input0;
            Node<T> network = e.Input1!;
            Node<T> logSlope = e.Input2!;
            T bound = e.Scalar;
            ReadOnlySpan<T> o = e.Output.Gradients;
            for (int k = 0; k < o.Length; k++)
            {
                if (network.RequiresGradient)
                {
                    network.Gradients[k] += o[k];
                }

                T excess = Excess(x.Values[k], bound);
                if (excess == T.Zero)
                {
                    continue;
                }

                T slope = T.Exp(logSlope.Values[k]);
                if (logSlope.RequiresGradient)
                {
                    logSlope.Gradients[k] += o[k] * slope * excess;
                }

                if (x.RequiresGradient)
                {
                    x.Gradients[k] += o[k] * slope;
                }
            }
        }
    }
}
