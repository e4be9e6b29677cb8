using System.Numerics;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>Keeps the columns of <paramref name="x"/> where the constant row <paramref name="mask"/> is non-zero and
    /// sets the others to exactly 0: <c>yᵢⱼ = xᵢⱼ</c> where <c>mⱼ ≠ 0</c>, else 0.</summary>
    /// <remarks>Unlike a product with a 0/1 row, a masked-out ±∞ or NaN gives 0, not NaN (0 · ∞): a coupling layer's
    /// conditioner must not see the features it transforms, whatever their values. dy/dx is 1 on the kept columns and 0
    /// on the others; <paramref name="mask"/> is a constant and gets no gradient.</remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="x">n × d input.</param>
    /// <param name="mask">1 × d: which columns to keep (non-zero).</param>
    /// <returns>A node shaped like <paramref name="x"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="mask"/> is not one row of <paramref name="x"/>'s width.</exception>
    public static Node<T> MaskColumns<T>(this Tape<T> tape, Node<T> x, Node<T> mask) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(mask);
        if (mask.Rows != 1 || mask.Columns != x.Columns)
        {
            throw new ArgumentException($"mask must be 1 × {x.Columns} for an input of {x.Columns} columns, got {mask.Rows} × {mask.Columns}.", nameof(mask));
        }

        Node<T> y = tape.Allocate(x.Rows, x.Columns);
        KeepMasked(x.Values, mask.Values, y.Values, accumulate: false);
        tape.Record(MaskColumnsBackward<T>.Instance, y, x, mask);
        return y;
    }

    // destination = (or +=) source on the columns the mask keeps, 0 (or nothing) on the others, row by row.
    private static void KeepMasked<T>(ReadOnlySpan<T> source, ReadOnlySpan<T> mask, Span<T> destination, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int width = mask.Length;
        for (int offset = 0; offset < source.Length; offset += width)
        {
            for (int j = 0; j < width; j++)
            {
                T kept = mask[j] != T.Zero ? source[offset + j] : T.Zero;
                destination[offset + j] = accumulate ? destination[offset + j] + kept : kept;
            }
        }
    }

    private static class MaskColumnsBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // dx += g on the kept columns; checked against central differences in TapeOpsGradientTests.
        private static void Run(in TapeEntry<T> e)
        {
            if (e.Input0.RequiresGradient)
            {
                KeepMasked<T>(e.Output.Gradients, e.Input1!.Values, e.Input0.Gradients, accumulate: true);
            }
        }
    }
}
