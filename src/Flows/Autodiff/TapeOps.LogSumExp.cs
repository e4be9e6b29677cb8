using System.Numerics;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>
    /// The log-density of a mixture from its components' log-densities: <c>yᵢ = log Σₖ wₖ exp(xᵢₖ)</c> with weights
    /// <c>w = softmax(logits)</c>, n × k and 1 × k → n × 1, computed stably (the row's largest term factored out).
    /// </summary>
    /// <remarks>
    /// Gradients, with responsibilities <c>rᵢₖ = wₖ exp(xᵢₖ − yᵢ)</c>: <c>∂yᵢ/∂xᵢₖ = rᵢₖ</c> and
    /// <c>∂yᵢ/∂logitsₖ = rᵢₖ − wₖ</c>. A row whose every xᵢₖ is −∞ gives −∞ and no gradient (its responsibilities are
    /// set to 0 rather than NaN).
    /// </remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="x">n × k log-densities, one column per component.</param>
    /// <param name="logits">1 × k unnormalized log-weights.</param>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static Node<T> WeightedLogSumExp<T>(this Tape<T> tape, Node<T> x, Node<T> logits) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.Rows != 1 || logits.Columns != x.Columns)
        {
            throw new ArgumentException($"logits must be 1 × {x.Columns}; got {logits.Rows} × {logits.Columns}.", nameof(logits));
        }

        int n = x.Rows;
        int k = x.Columns;
        // log w = logits − logsumexp(logits), kept for the backward pass.
        Node<T> logWeights = tape.Allocate(1, k);
        LogSoftmax(logits.Values, logWeights.Values);
        Node<T> y = tape.Allocate(n, 1);
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<T> row = x.Values.Slice(i * k, k);
            T max = T.NegativeInfinity;
            for (int c = 0; c < k; c++)
            {
                max = T.Max(max, row[c] + logWeights.Values[c]);
            }

            if (T.IsNegativeInfinity(max))
            {
                y.Values[i] = max;
                continue;
            }

            T sum = T.Zero;
            for (int c = 0; c < k; c++)
            {
                sum += T.Exp(row[c] + logWeights.Values[c] - max);
            }

            y.Values[i] = max + T.Log(sum);
        }

        tape.Record(WeightedLogSumExpBackward<T>.Instance, y, x, logits, saved: logWeights);
        return y;
    }

    // Stable log-softmax of one row.
    internal static void LogSoftmax<T>(ReadOnlySpan<T> logits, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T max = T.NegativeInfinity;
        foreach (T value in logits)
        {
            max = T.Max(max, value);
        }

        T sum = T.Zero;
        foreach (T value in logits)
        {
            sum += T.Exp(value - max);
        }

        T log = max + T.Log(sum);
        for (int c = 0; c < logits.Length; c++)
        {
            destination[c] = logits[c] - log;
        }
    }

    private static class WeightedLogSumExpBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // rᵢₖ = exp(xᵢₖ + log wₖ − yᵢ); ∂/∂xᵢₖ = gᵢ rᵢₖ; ∂/∂logitsₖ = Σᵢ gᵢ (rᵢₖ − wₖ), since Σₖ rᵢₖ = 1. Checked against
        // central differences in TapeOpsGradientTests.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> x = e.Input0;
            Node<T> logits = e.Input1!;
            ReadOnlySpan<T> logWeights = e.Saved!.Values;
            ReadOnlySpan<T> y = e.Output.Values;
            ReadOnlySpan<T> g = e.Output.Gradients;
            int k = x.Columns;
            for (int i = 0; i < x.Rows; i++)
            {
                if (T.IsNegativeInfinity(y[i]) || g[i] == T.Zero)
                {
                    continue;
                }

                for (int c = 0; c < k; c++)
                {
                    T r = T.Exp(x.Values[(i * k) + c] + logWeights[c] - y[i]);
                    if (x.RequiresGradient)
                    {
                        x.Gradients[(i * k) + c] += g[i] * r;
                    }

                    if (logits.RequiresGradient)
                    {
                        logits.Gradients[c] += g[i] * (r - T.Exp(logWeights[c]));
                    }
                }
            }
        }
    }
}
