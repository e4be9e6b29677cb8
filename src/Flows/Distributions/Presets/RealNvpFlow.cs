using System.Numerics;
using Flows.Bijectors;

namespace Flows.Distributions.Presets;

/// <summary>
/// The RealNVP preset: a chain of <see cref="AffineCoupling{T}"/> layers with alternating masks on a
/// standard normal base. One conditioner pass per layer in both directions.
/// </summary>
/// <remarks>Defaults: 5 transforms, hidden widths [64, 64]. By default the flow starts as the full-covariance
/// maximum-likelihood Gaussian of the first data it scores, and its conditioners see their inputs softly clipped (see
/// <see cref="GaussianStart"/>). Reference: Dinh, Sohl-Dickstein &amp; Bengio (2017), arXiv:1605.08803.</remarks>
public static class RealNvpFlow
{
    /// <summary>Creates a RealNVP flow.</summary>
    /// <param name="dimension">Features per sample. Range: ≥ 2.</param>
    /// <param name="transforms">Coupling layers. Default 5. Range: &gt; 0.</param>
    /// <param name="hiddenFeatures">Conditioner hidden widths. Default [64, 64].</param>
    /// <param name="contextDimension">Context features for a conditional flow. Default 0.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <param name="gaussianStart">Where the flow starts (see <see cref="GaussianStart"/>). Default
    /// <see cref="GaussianStart.Full"/>; <see cref="GaussianStart.None"/> gives the plain chain of coupling layers on the
    /// standard normal.</param>
    /// <param name="supports">One <see cref="Support"/> per column, placed as a <see cref="ColumnSupports{T}"/> next to the
    /// data so that samples lie in the supports and data outside them are refused; null (the default) or all
    /// <see cref="Support.Real"/> leaves every column real.</param>
    /// <param name="defensiveShare">The share of the density given to the Gaussian fitted to the training data (see
    /// <see cref="DefensiveShare"/>): null (the default) gives <see cref="DefensiveShare.Automatic"/> with a Gaussian start
    /// and <see cref="DefensiveShare.None"/> with <see cref="GaussianStart.None"/>, which has no data to fit it to.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size or <paramref name="gaussianStart"/> is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="supports"/> does not hold one support per column, or holds an angle
    /// (<see cref="Support.Angle"/>; model angles with <see cref="CircularSplineFlow"/>), naming the column.</exception>
    public static TransformedDistribution<T> Create<T>(int dimension, int transforms = 5, IReadOnlyList<int>? hiddenFeatures = null,
        int contextDimension = 0, int seed = 0, GaussianStart gaussianStart = GaussianStart.Full, IReadOnlyList<Support>? supports = null,
        DefensiveShare? defensiveShare = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 2);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(transforms);
        var random = new Random(seed);
        var layers = new IBijector<T>[transforms];
        for (int i = 0; i < transforms; i++)
        {
            layers[i] = new AffineCoupling<T>(Coupling<T>.AlternatingMask(dimension, i % 2), hiddenFeatures, contextDimension, seed: random.Next(),
                conditionerInputBound: PresetStart.InputBound(gaussianStart));
        }

        return new TransformedDistribution<T>(new StandardNormal<T>(dimension), PresetStart.Compose(layers, gaussianStart, supports),
            PresetStart.Share(defensiveShare, gaussianStart));
    }
}
