using System.Numerics;
using System.Numerics.Tensors;

namespace Flows.Autodiff;

/// <summary>Operations on a <see cref="Tape{T}"/>: each computes its output and records its backward rule.</summary>
/// <remarks>
/// Binary operations accept exactly one form of broadcasting: a 1 × d row as the second operand against an n × d first
/// operand. Its backward pass sums the gradient over rows (<see cref="AccumulateBroadcast{T}"/>).
/// </remarks>
public static partial class TapeOps
{
    // Checks the one broadcast form and returns whether the second operand is a broadcast row.
    private static bool CheckBinaryShapes<T>(Node<T> a, Node<T> b, string operation)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Rows == b.Rows && a.Columns == b.Columns)
        {
            return false;
        }

        if (b.Rows == 1 && b.Columns == a.Columns)
        {
            return true;
        }

        throw new ArgumentException(
            $"{operation} needs operands of one shape or a 1 × {a.Columns} row as the second operand; got {a.Rows} × {a.Columns} and {b.Rows} × {b.Columns}.",
            nameof(b));
    }

    // The backward of a row broadcast: the 1 × d target accumulates the column sums of the n × d gradient, or the
    // gradient itself when the shapes agree.
    internal static void AccumulateBroadcast<T>(ReadOnlySpan<T> gradient, Span<T> target)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int columns = target.Length;
        if (gradient.Length == columns)
        {
            TensorPrimitives.Add(target, gradient, target);
            return;
        }

        for (int offset = 0; offset < gradient.Length; offset += columns)
        {
            TensorPrimitives.Add(target, gradient.Slice(offset, columns), target);
        }
    }

    /// <summary>
    /// The one broadcasting driver of the binary elementwise ops: y = a ∘ b for equal shapes, or row by row against a
    /// 1 × d <paramref name="b"/>. The caller records its own backward rule.
    /// </summary>
    private static Node<T> Broadcasting<T, TOperation>(Tape<T> tape, Node<T> a, Node<T> b, string operation)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TOperation : IBroadcastOperation<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        bool broadcast = CheckBinaryShapes(a, b, operation);
        Node<T> y = tape.Allocate(a.Rows, a.Columns);
        if (broadcast)
        {
            for (int offset = 0; offset < a.Length; offset += a.Columns)
            {
                TOperation.Invoke(a.Values.Slice(offset, a.Columns), b.Values, y.Values.Slice(offset, a.Columns));
            }
        }
        else
        {
            TOperation.Invoke(a.Values, b.Values, y.Values);
        }

        return y;
    }

    /// <summary>A binary elementwise span operation (a TensorPrimitives call) for <see cref="Broadcasting{T, TOperation}"/>.</summary>
    private interface IBroadcastOperation<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        static abstract void Invoke(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y);
    }
}
