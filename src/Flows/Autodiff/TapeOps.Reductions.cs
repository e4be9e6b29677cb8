using System.Numerics;
using System.Numerics.Tensors;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>Sum over the columns of each row: n × d → n × 1.</summary>
    public static Node<T> RowSums<T>(this Tape<T> tape, Node<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        Node<T> y = tape.Allocate(x.Rows, 1);
        ReadOnlySpan<T> values = x.Values;
        for (int i = 0; i < x.Rows; i++)
        {
            y.Values[i] = TensorPrimitives.Sum(values.Slice(i * x.Columns, x.Columns));
        }

        tape.Record(RowSumsBackward<T>.Instance, y, x);
        return y;
    }

    /// <summary>Sum over the rows of each column: n × d → 1 × d.</summary>
    public static Node<T> ColumnSums<T>(this Tape<T> tape, Node<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        Node<T> y = tape.Allocate(1, x.Columns);
        y.Values.Clear();
        AccumulateBroadcast<T>(x.Values, y.Values);
        tape.Record(ColumnSumsBackward<T>.Instance, y, x);
        return y;
    }

    /// <summary>Sum of all elements: n × d → 1 × 1.</summary>
    public static Node<T> Sum<T>(this Tape<T> tape, Node<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        Node<T> y = tape.Allocate(1, 1);
        y.Values[0] = TensorPrimitives.Sum<T>(x.Values);
        tape.Record(SumBackward<T>.Instance, y, x, scalar: T.One);
        return y;
    }

    /// <summary>Mean of all elements: n × d → 1 × 1.</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> is empty.</exception>
    public static Node<T> Mean<T>(this Tape<T> tape, Node<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        if (x.Length == 0)
        {
            throw new ArgumentException("The mean of an empty node is undefined.", nameof(x));
        }

        T scale = T.One / T.CreateChecked(x.Length);
        Node<T> y = tape.Allocate(1, 1);
        y.Values[0] = TensorPrimitives.Sum<T>(x.Values) * scale;
        tape.Record(SumBackward<T>.Instance, y, x, scalar: scale);
        return y;
    }

    /// <summary>Repeats a 1 × d row <paramref name="count"/> times: 1 × d → count × d.</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> has more than one row.</exception>
    public static Node<T> RepeatRows<T>(this Tape<T> tape, Node<T> x, int count) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (x.Rows != 1)
        {
            throw new ArgumentException($"RepeatRows needs a 1 × d row, got {x.Rows} × {x.Columns}.", nameof(x));
        }

        Node<T> y = tape.Allocate(count, x.Columns);
        for (int i = 0; i < count; i++)
        {
            x.Values.CopyTo(y.Values.Slice(i * x.Columns, x.Columns));
        }

        tape.Record(RepeatRowsBackward<T>.Instance, y, x);
        return y;
    }

    private static class RowSumsBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Each element of row i receives the row's gradient g_i.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> x = e.Input0;
            if (!x.RequiresGradient)
            {
                return;
            }

            ReadOnlySpan<T> g = e.Output.Gradients;
            Span<T> gx = x.Gradients;
            for (int i = 0; i < x.Rows; i++)
            {
                Span<T> row = gx.Slice(i * x.Columns, x.Columns);
                TensorPrimitives.Add(row, g[i], row);
            }
        }
    }

    private static class ColumnSumsBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Each row of x receives the 1 × d gradient.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> x = e.Input0;
            if (!x.RequiresGradient)
            {
                return;
            }

            ReadOnlySpan<T> g = e.Output.Gradients;
            Span<T> gx = x.Gradients;
            for (int offset = 0; offset < gx.Length; offset += x.Columns)
            {
                Span<T> row = gx.Slice(offset, x.Columns);
                TensorPrimitives.Add(row, g, row);
            }
        }
    }

    private static class SumBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Every element receives scale · g (scale = 1 for a sum, 1/count for a mean).
        private static void Run(in TapeEntry<T> e)
        {
            if (e.Input0.RequiresGradient)
            {
                Span<T> gx = e.Input0.Gradients;
                TensorPrimitives.Add(gx, e.Output.Gradients[0] * e.Scalar, gx);
            }
        }
    }

    private static class RepeatRowsBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // The row receives the column sums of the gradient.
        private static void Run(in TapeEntry<T> e)
        {
            if (e.Input0.RequiresGradient)
            {
                AccumulateBroadcast<T>(e.Output.Gradients, e.Input0.Gradients);
            }
        }
    }
}
