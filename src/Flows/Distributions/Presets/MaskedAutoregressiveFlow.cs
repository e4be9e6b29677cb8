using System.Numerics;
using Flows.Bijectors;
using Flows.Neural;

namespace Flows.Distributions.Presets;

/// <summary>
/// The masked autoregressive flow (MAF) preset: a chain of <see cref="MaskedAutoregressive{T}"/>
/// layers on a standard normal base. Fast to score (one MADE pass per layer), slow to sample (d passes per layer).
/// </summary>
/// <remarks>
/// Defaults: 5 transforms and MADE hidden widths [64, 64], as in zuko; the log-scale is soft-clamped, s = 5·tanh(r/5).
/// Orders alternate natural / reversed between layers (so each feature conditions every other), or are drawn at random
/// from the seed. With <c>householderReflections</c> k &gt; 0, a learned orthogonal <see cref="Householder{T}"/> of k
/// reflections sits between consecutive layers instead, and every layer keeps the natural order (Tomczak &amp; Welling
/// 2016, arXiv:1611.09630): a learned rotation of the features in place of a fixed permutation, at no cost to the
/// log-determinant (0). By default the flow starts as the full-covariance maximum-likelihood Gaussian of the first data it
/// scores (<see cref="GaussianStart.Full"/>), and its MADEs see their inputs softly clipped (see <see cref="GaussianStart"/>).
/// Reference: Papamakarios, Pavlakou &amp; Murray (2017), arXiv:1705.07057.
/// </remarks>
public static class MaskedAutoregressiveFlow
{
    /// <summary>Creates a MAF.</summary>
    /// <param name="dimension">Features per sample. Range: &gt; 0.</param>
    /// <param name="transforms">Autoregressive layers. Default 5. Range: &gt; 0.</param>
    /// <param name="hiddenFeatures">MADE hidden widths. Default [64, 64].</param>
    /// <param name="contextDimension">Context features for a conditional flow p(x | c). Default 0.</param>
    /// <param name="randomOrders">Draw each layer's order at random instead of alternating natural and reversed.</param>
    /// <param name="seed">Seed of the initial weights and random orders.</param>
    /// <param name="gaussianStart">Where the flow starts (see <see cref="GaussianStart"/>). Default
    /// <see cref="GaussianStart.Full"/>; <see cref="GaussianStart.None"/> gives the plain chain of autoregressive layers
    /// on the standard normal.</param>
    /// <param name="supports">One <see cref="Support"/> per column, placed as a <see cref="ColumnSupports{T}"/> next to the
    /// data so that samples lie in the supports and data outside them are refused; null (the default) or all
    /// <see cref="Support.Real"/> leaves every column real.</param>
    /// <param name="defensiveShare">The share of the density given to the Gaussian fitted to the training data (see
    /// <see cref="DefensiveShare"/>): null (the default) gives <see cref="DefensiveShare.Automatic"/> with a Gaussian start
    /// and <see cref="DefensiveShare.None"/> with <see cref="GaussianStart.None"/>, which has no data to fit it to.</param>
    /// <param name="householderReflections">k: when positive, a <see cref="Householder{T}"/> of k reflections between
    /// consecutive layers, whose orders are then all natural (or random, with <paramref name="randomOrders"/>). Default 0:
    /// none, alternating orders. Range: ≥ 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size, <paramref name="gaussianStart"/> or
    /// <paramref name="householderReflections"/> is out of range.</exception>
    /// <exception cref="ArgumentException">A hidden layer is narrower than dimension − 1, or <paramref name="supports"/>
    /// does not hold one support per column, or holds an angle
    /// (<see cref="Support.Angle"/>; model angles with <see cref="CircularSplineFlow"/>), naming the column.</exception>
    public static TransformedDistribution<T> Create<T>(int dimension, int transforms = 5, IReadOnlyList<int>? hiddenFeatures = null,
        int contextDimension = 0, bool randomOrders = false, int seed = 0, GaussianStart gaussianStart = GaussianStart.Full, IReadOnlyList<Support>? supports = null,
        DefensiveShare? defensiveShare = null, int householderReflections = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegative(householderReflections);
        MaskedAutoregressive<T>[] layers = Layers<T>(dimension, transforms, hiddenFeatures, contextDimension, randomOrders, seed,
            PresetStart.InputBound(gaussianStart), alternateOrders: householderReflections == 0);
        return new(new StandardNormal<T>(dimension),
            PresetStart.Compose(householderReflections == 0 ? layers : WithHouseholder(layers, householderReflections, seed), gaussianStart, supports),
            PresetStart.Share(defensiveShare, gaussianStart));
    }

    // A Householder layer between consecutive autoregressive layers, each seeded from its own stream so that the MADEs
    // get the same seeds as without them.
    private static IBijector<T>[] WithHouseholder<T>(MaskedAutoregressive<T>[] layers, int reflections, int seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(unchecked(seed + 0x48485348)); // "HHSH": a stream apart from the MADEs' seeds
        var parts = new List<IBijector<T>>((2 * layers.Length) - 1) { layers[0] };
        for (int i = 1; i < layers.Length; i++)
        {
            parts.Add(new Householder<T>(layers[i].Dimension, reflections, random.Next()));
            parts.Add(layers[i]);
        }

        return [.. parts];
    }

    /// <summary>The MAF layers, the first next to the base distribution.</summary>
    internal static MaskedAutoregressive<T>[] Layers<T>(int dimension, int transforms, IReadOnlyList<int>? hiddenFeatures,
        int contextDimension, bool randomOrders, int seed, double? conditionerInputBound = null, bool alternateOrders = true)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(transforms);
        var random = new Random(seed);
        var layers = new MaskedAutoregressive<T>[transforms];
        for (int i = 0; i < transforms; i++)
        {
            int[] order = randomOrders ? Orders.Random(dimension, random) : i % 2 == 0 || !alternateOrders ? Orders.Natural(dimension) : Orders.Reversed(dimension);
            layers[i] = new MaskedAutoregressive<T>(dimension, hiddenFeatures, order, contextDimension, seed: random.Next(),
                conditionerInputBound: conditionerInputBound);
        }

        return layers;
    }
}
