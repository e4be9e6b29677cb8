using System.Numerics;
using System.Numerics.Tensors;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>Side by side: <c>y = [a | b]</c>, n × (p + q) from n × p and n × q.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="a">n × p, the left columns.</param>
    /// <param name="b">n × q, the right columns.</param>
    /// <exception cref="ArgumentException">The row counts differ.</exception>
    public static Node<T> ConcatenateColumns<T>(this Tape<T> tape, Node<T> a, Node<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Rows != b.Rows)
        {
            throw new ArgumentException($"ConcatenateColumns needs operands with the same rows; got {a.Rows} × {a.Columns} and {b.Rows} × {b.Columns}.", nameof(b));
        }

        int p = a.Columns;
        int q = b.Columns;
        Node<T> y = tape.Allocate(a.Rows, p + q);
        for (int i = 0; i < a.Rows; i++)
        {
            a.Values.Slice(i * p, p).CopyTo(y.Values.Slice(i * (p + q), p));
            b.Values.Slice(i * q, q).CopyTo(y.Values.Slice((i * (p + q)) + p, q));
        }

        tape.Record(ConcatenateColumnsBackward<T>.Instance, y, a, b);
        return y;
    }

    /// <summary>One above the other: <c>y = [a ; b]</c>, (m + n) × d from m × d and n × d.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="a">m × d, the top rows.</param>
    /// <param name="b">n × d, the bottom rows.</param>
    /// <exception cref="ArgumentException">The column counts differ.</exception>
    public static Node<T> ConcatenateRows<T>(this Tape<T> tape, Node<T> a, Node<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Columns != b.Columns)
        {
            throw new ArgumentException($"ConcatenateRows needs operands with the same columns; got {a.Rows} × {a.Columns} and {b.Rows} × {b.Columns}.", nameof(b));
        }

        Node<T> y = tape.Allocate(a.Rows + b.Rows, a.Columns);
        a.Values.CopyTo(y.Values);
        b.Values.CopyTo(y.Values[a.Length..]);
        tape.Record(ConcatenateRowsBackward<T>.Instance, y, a, b);
        return y;
    }

    private static class ConcatenateColumnsBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Each operand takes back the gradient of its own columns.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> a = e.Input0;
            Node<T> b = e.Input1!;
            int p = a.Columns;
            int q = b.Columns;
            ReadOnlySpan<T> g = e.Output.Gradients;
            for (int i = 0; i < a.Rows; i++)
            {
                if (a.RequiresGradient)
                {
                    Span<T> ga = a.Gradients.Slice(i * p, p);
                    TensorPrimitives.Add(ga, g.Slice(i * (p + q), p), ga);
                }

                if (b.RequiresGradient)
                {
                    Span<T> gb = b.Gradients.Slice(i * q, q);
                    TensorPrimitives.Add(gb, g.Slice((i * (p + q)) + p, q), gb);
                }
            }
        }
    }

    private static class ConcatenateRowsBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Each operand takes back the gradient of its own rows.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> a = e.Input0;
            Node<T> b = e.Input1!;
            ReadOnlySpan<T> g = e.Output.Gradients;
            if (a.RequiresGradient)
            {
                TensorPrimitives.Add(a.Gradients, g[..a.Length], a.Gradients);
            }

            if (b.RequiresGradient)
            {
                TensorPrimitives.Add(b.Gradients, g[a.Length..], b.Gradients);
            }
        }
    }
}
