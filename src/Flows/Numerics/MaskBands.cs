using System.Numerics;

namespace Flows.Numerics;

/// <summary>
/// Where a fixed outputs × inputs 0/1 weight mask is nonzero, as the products of a masked linear layer use it: the
/// forward product and the weight gradient skip the inputs outside each output's band, the input gradient skips the
/// outputs outside each input's band.
/// </summary>
/// <param name="OfOutputs">For each output (row of the mask), the band of inputs it reads.</param>
/// <param name="OfInputs">For each input (column of the mask), the band of outputs it feeds.</param>
internal sealed record MaskBands(Bands OfOutputs, Bands OfInputs)
{
    /// <summary>The bands of a row-major outputs × inputs mask.</summary>
    public static MaskBands Of<T>(ReadOnlySpan<T> mask, int outputs, int inputs) where T : unmanaged, IFloatingPointIeee754<T>
        => new(Bands.OfRows(mask, outputs, inputs), Bands.OfColumns(mask, outputs, inputs));
}
