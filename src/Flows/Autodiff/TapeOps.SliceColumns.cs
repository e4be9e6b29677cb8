using System.Numerics;
using System.Numerics.Tensors;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>A block of adjacent columns: <c>y[i, j] = x[i, start + j]</c>, n × count from n × d.</summary>
    /// <remarks>How one network output is split into its heads (a VAE encoder's mean, log-scale and context).</remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="x">n × d.</param>
    /// <param name="start">The first column taken. Range: 0..d − count.</param>
    /// <param name="count">Columns taken. Range: &gt; 0, start + count ≤ d.</param>
    /// <returns>n × count.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The block does not lie inside the columns of <paramref name="x"/>.</exception>
    public static Node<T> SliceColumns<T>(this Tape<T> tape, Node<T> x, int start, int count) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        if (start + count > x.Columns)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"columns {start}..{start + count - 1} do not lie inside the {x.Columns} columns of x.");
        }

        int d = x.Columns;
        Node<T> y = tape.Allocate(x.Rows, count);
        for (int i = 0; i < x.Rows; i++)
        {
            x.Values.Slice((i * d) + start, count).CopyTo(y.Values.Slice(i * count, count));
        }

        tape.Record(SliceColumnsBackward<T>.Instance, y, x, flag: start);
        return y;
    }

    private static class SliceColumnsBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // The input takes back the gradient of the columns it gave; the other columns receive nothing.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> x = e.Input0;
            if (!x.RequiresGradient)
            {
                return;
            }

            int d = x.Columns;
            int count = e.Output.Columns;
            int start = e.Flag;
            ReadOnlySpan<T> g = e.Output.Gradients;
            for (int i = 0; i < x.Rows; i++)
            {
                Span<T> gx = x.Gradients.Slice((i * d) + start, count);
                TensorPrimitives.Add(gx, g.Slice(i * count, count), gx);
            }
        }
    }
}
