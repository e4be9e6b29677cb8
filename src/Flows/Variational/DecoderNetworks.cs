using System.Numerics;
using Flows.Autodiff;
using Flows.Neural;

namespace Flows.Variational;

// What the built-in decoders share: their network and their shape checks.
internal static class DecoderNetworks
{
    public static MultilayerPerceptron<T> Create<T>(int latentDimension, int dataDimension, IReadOnlyList<int>? hiddenFeatures, int seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(latentDimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dataDimension);
        hiddenFeatures ??= [64];
        for (int l = 0; l < hiddenFeatures.Count; l++)
        {
            if (hiddenFeatures[l] <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(hiddenFeatures), hiddenFeatures[l], $"hiddenFeatures[{l}] is {hiddenFeatures[l]}; every width must be > 0.");
            }
        }

        return new MultilayerPerceptron<T>("decoder", [latentDimension, .. hiddenFeatures, dataDimension], seed);
    }

    public static void CheckLatent<T>(IDecoder<T> decoder, Node<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(z);
        if (z.Columns != decoder.LatentDimension)
        {
            throw new ArgumentException($"z has {z.Columns} columns but {decoder} takes {decoder.LatentDimension} latent features.", nameof(z));
        }
    }

    public static void CheckPair<T>(IDecoder<T> decoder, Node<T> z, Node<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckLatent(decoder, z);
        ArgumentNullException.ThrowIfNull(x);
        if (x.Columns != decoder.DataDimension || x.Rows != z.Rows)
        {
            throw new ArgumentException($"x is {x.Rows} × {x.Columns} but {decoder} needs {z.Rows} × {decoder.DataDimension}: one row per row of z.", nameof(x));
        }
    }
}
