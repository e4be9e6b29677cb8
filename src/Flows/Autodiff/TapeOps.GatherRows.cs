using System.Numerics;
using System.Numerics.Tensors;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>Picks rows: <c>y[i, :] = x[rows[i], :]</c>, a row may be picked several times or not at all.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="x">m × d.</param>
    /// <param name="rows">n indices in 0..m−1; the caller keeps them unchanged while the tape lives.</param>
    /// <returns>n × d.</returns>
    /// <exception cref="ArgumentException">An index is outside 0..m−1.</exception>
    public static Node<T> GatherRows<T>(this Tape<T> tape, Node<T> x, int[] rows) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(rows);
        int d = x.Columns;
        Node<T> y = tape.Allocate(rows.Length, d);
        for (int i = 0; i < rows.Length; i++)
        {
            if ((uint)rows[i] >= (uint)x.Rows)
            {
                throw new ArgumentException($"rows[{i}] is {rows[i]} but x has {x.Rows} rows.", nameof(rows));
            }

            x.Values.Slice(rows[i] * d, d).CopyTo(y.Values.Slice(i * d, d));
        }

        tape.Record(GatherRowsBackward<T>.Instance, y, x, indices: rows);
        return y;
    }

    private static class GatherRowsBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // The gradient of each output row is added back to the row it was picked from (several times if picked so).
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> x = e.Input0;
            if (!x.RequiresGradient)
            {
                return;
            }

            int[] rows = e.Indices!;
            int d = x.Columns;
            ReadOnlySpan<T> g = e.Output.Gradients;
            for (int i = 0; i < rows.Length; i++)
            {
                Span<T> gx = x.Gradients.Slice(rows[i] * d, d);
                TensorPrimitives.Add(gx, g.Slice(i * d, d), gx);
            }
        }
    }
}
