using System.Numerics;
using Flows.Bijectors;

namespace Flows.Distributions.Presets;

/// <summary>
/// The inverse autoregressive flow (IAF) preset: the layers of <see cref="MaskedAutoregressiveFlow"/>, each wrapped in
/// <see cref="Inverted{T}"/>. Fast to sample (one MADE pass per layer), slow to score (d passes per layer): the choice
/// for variational inference, where samples and their own log-densities are all that is needed.
/// </summary>
/// <remarks>Reference: Kingma et al., "Improved Variational Inference with Inverse Autoregressive Flow", NeurIPS 2016,
/// arXiv:1606.04934.</remarks>
public static class InverseAutoregressiveFlow
{
    /// <summary>Creates an IAF.</summary>
    /// <param name="dimension">Features per sample. Range: &gt; 0.</param>
    /// <param name="transforms">Autoregressive layers. Default 5. Range: &gt; 0.</param>
    /// <param name="hiddenFeatures">MADE hidden widths. Default [64, 64].</param>
    /// <param name="contextDimension">Context features for a conditional flow. Default 0.</param>
    /// <param name="randomOrders">Draw each layer's order at random instead of alternating natural and reversed.</param>
    /// <param name="seed">Seed of the initial weights and random orders.</param>
    /// <param name="supports">One <see cref="Support"/> per column, placed as a <see cref="ColumnSupports{T}"/> next to the
    /// data so that samples lie in the supports and data outside them are refused; null (the default) or all
    /// <see cref="Support.Real"/> leaves every column real.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range.</exception>
    /// <exception cref="ArgumentException">A hidden layer is narrower than dimension − 1, or <paramref name="supports"/>
    /// does not hold one support per column, or holds an angle
    /// (<see cref="Support.Angle"/>; model angles with <see cref="CircularSplineFlow"/>), naming the column.</exception>
    public static TransformedDistribution<T> Create<T>(int dimension, int transforms = 5, IReadOnlyList<int>? hiddenFeatures = null,
        int contextDimension = 0, bool randomOrders = false, int seed = 0, IReadOnlyList<Support>? supports = null)
        where T : unmanaged, IFloatingPointIeee754<T>
        => new(
            new StandardNormal<T>(dimension),
            new Chain<T>([.. MaskedAutoregressiveFlow.Layers<T>(dimension, transforms, hiddenFeatures, contextDimension, randomOrders, seed)
                .Select(layer => new Inverted<T>(layer)), .. PresetStart.SupportLayer<T>(supports, dimension) is ColumnSupports<T> s ? [s] : Array.Empty<IBijector<T>>()]));
}
