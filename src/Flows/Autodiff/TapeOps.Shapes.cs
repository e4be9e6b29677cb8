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
}
