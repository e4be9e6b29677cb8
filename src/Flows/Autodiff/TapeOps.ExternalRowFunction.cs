using System.Numerics;
using System.Numerics.Tensors;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>
    /// Injects a per-row scalar function computed off the tape, <c>yᵢ = f(xᵢ)</c>, together with its gradient
    /// <c>∇f(xᵢ)</c>: n × d → n × 1. The backward pass accumulates <c>gᵢ · ∇f(xᵢ)</c> into row i of x.
    /// </summary>
    /// <remarks>
    /// This is how a function the tape cannot see (a user's unnormalized target log-density, or a log-density evaluated on
    /// a second tape) takes part in a loss. The tape copies <paramref name="values"/> and <paramref name="gradients"/>
    /// into arena nodes, so the caller may reuse its buffers at once and recording allocates nothing after the first step.
    /// </remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="x">The n × d points the function was evaluated at.</param>
    /// <param name="values">f(xᵢ) for the n rows.</param>
    /// <param name="gradients">∇f(xᵢ) for the n rows: n × d, row-major.</param>
    /// <returns>An n × 1 node holding <paramref name="values"/>.</returns>
    /// <exception cref="ArgumentException">A span does not match the shape of <paramref name="x"/>.</exception>
    public static Node<T> ExternalRowFunction<T>(this Tape<T> tape, Node<T> x, ReadOnlySpan<T> values, ReadOnlySpan<T> gradients)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        if (values.Length != x.Rows)
        {
            throw new ArgumentException($"values has {values.Length} elements but x has {x.Rows} rows.", nameof(values));
        }

        if (gradients.Length != x.Length)
        {
            throw new ArgumentException(
                $"gradients has {gradients.Length} elements but x is {x.Rows} × {x.Columns} = {x.Length}.", nameof(gradients));
        }

        Node<T> y = tape.Allocate(x.Rows, 1);
        values.CopyTo(y.Values);
        if (tape.IsRecording && x.RequiresGradient)
        {
            // The gradient is needed only by the backward pass, so it is kept only when something will be recorded.
            Node<T> saved = tape.Allocate(x.Rows, x.Columns);
            gradients.CopyTo(saved.Values);
            tape.Record(ExternalRowFunctionBackward<T>.Instance, y, x, saved: saved);
        }

        return y;
    }

    private static class ExternalRowFunctionBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // dL/dxᵢ += gᵢ · ∇f(xᵢ): the chain rule with the supplied gradient as the row's Jacobian.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> x = e.Input0;
            if (!x.RequiresGradient)
            {
                return;
            }

            int d = x.Columns;
            ReadOnlySpan<T> g = e.Output.Gradients;
            ReadOnlySpan<T> gradients = e.Saved!.Values;
            Span<T> gx = x.Gradients;
            for (int i = 0; i < x.Rows; i++)
            {
                Span<T> row = gx.Slice(i * d, d);
                TensorPrimitives.MultiplyAdd(gradients.Slice(i * d, d), g[i], row, row);
            }
        }
    }
}
