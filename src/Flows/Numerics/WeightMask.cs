using System.Numerics;
using System.Numerics.Tensors;

namespace Flows.Numerics;

/// <summary>
/// A fixed outputs × inputs 0/1 weight mask, row-major, with its bands: what a masked linear op needs forward (the
/// masked weight, the bands its products skip outside) and backward (the weight gradient zeroed outside the mask).
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal sealed class WeightMask<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Whether every row's ones fill its band exactly (MADE's staircase masks): then zeroing outside the mask is clearing
    // each row outside its band, with no pass over the ones.
    private readonly bool _rowsAreBands;

    /// <summary>Wraps <paramref name="values"/>, a 0/1 mask (not copied: it must not change).</summary>
    public WeightMask(T[] values, int outputs, int inputs)
    {
        Values = values;
        Outputs = outputs;
        Inputs = inputs;
        Bands = MaskBands.Of<T>(values, outputs, inputs);
        _rowsAreBands = true;
        for (int r = 0; r < outputs && _rowsAreBands; r++)
        {
            ReadOnlySpan<T> band = values.AsSpan((r * inputs) + Bands.OfOutputs.Start[r], Bands.OfOutputs.End[r] - Bands.OfOutputs.Start[r]);
            _rowsAreBands = !band.ContainsAnyExcept(T.One);
        }
    }

    /// <summary>Whether every row's ones fill its band [Start, End) of <see cref="MaskBands.OfOutputs"/> exactly (MADE's
    /// staircase masks), so that inside the mask is inside the bands.</summary>
    public bool RowsAreBands => _rowsAreBands;

    /// <summary>The mask, row-major.</summary>
    public T[] Values { get; }

    /// <summary>Rows (outputs).</summary>
    public int Outputs { get; }

    /// <summary>Columns (inputs).</summary>
    public int Inputs { get; }

    /// <summary>Where the mask is nonzero, by row and by column.</summary>
    public MaskBands Bands { get; }

    /// <summary>Writes W ⊙ M into <paramref name="destination"/>.</summary>
    public void Apply(ReadOnlySpan<T> weight, Span<T> destination) => TensorPrimitives.Multiply(weight, Values, destination);

    /// <summary>Sets every entry of an outputs × inputs <paramref name="matrix"/> where the mask is 0 to 0 (the others
    /// keep their bits).</summary>
    public void ZeroOutside(Span<T> matrix)
    {
        if (!_rowsAreBands)
        {
            // A select, not a product with the mask: what is outside may be stale (a rule that assigns skips tiles
            // wholly outside the mask), and a stale NaN times 0 would stay NaN.
            for (int i = 0; i < matrix.Length; i++)
            {
                if (Values[i] == T.Zero)
                {
                    matrix[i] = T.Zero;
                }
            }

            return;
        }

        Bands rows = Bands.OfOutputs;
        for (int r = 0; r < Outputs; r++)
        {
            Span<T> row = matrix.Slice(r * Inputs, Inputs);
            row[..rows.Start[r]].Clear();
            row[rows.End[r]..].Clear();
        }
    }

    /// <summary>destination[i] += source[i] for the entries i of [<paramref name="start"/>, start + destination.Length)
    /// of the outputs × inputs matrix that lie inside the mask; the others are not read. Only where
    /// <see cref="RowsAreBands"/>.</summary>
    public void AddInside(int start, ReadOnlySpan<T> source, Span<T> destination)
    {
        Bands rows = Bands.OfOutputs;
        int end = start + destination.Length;
        for (int r = start / Inputs; r < Outputs && r * Inputs < end; r++)
        {
            int first = Math.Max(start, (r * Inputs) + rows.Start[r]);
            int last = Math.Min(end, (r * Inputs) + rows.End[r]);
            if (first < last)
            {
                TensorPrimitives.Add(destination[(first - start)..(last - start)], source[(first - start)..(last - start)], destination[(first - start)..(last - start)]);
            }
        }
    }
}
