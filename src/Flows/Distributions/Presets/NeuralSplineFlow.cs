using System.Numerics;
using Flows.Bijectors;
using Flows.Neural;

namespace Flows.Distributions.Presets;

/// <summary>
/// The neural spline flow (NSF) preset: layers of monotone rational-quadratic splines whose parameters come from a
/// MADE (autoregressive, the default) or from an MLP on the other half of the features (coupling), on a standard normal
/// base. A MAF with a spline in place of the affine map, as zuko builds it.
/// </summary>
/// <remarks>
/// Defaults: 5 transforms, 8 bins on [−5, 5] with identity tails, hidden widths [64, 64]. The autoregressive form
/// scores in one pass per layer and samples in d; the coupling form takes one pass either way. By default the flow starts
/// as the diagonal maximum-likelihood Gaussian of the first data it scores (<see cref="GaussianStart.Diagonal"/>): the
/// splines act on the standardized features, and their conditioners see their inputs softly clipped (see
/// <see cref="GaussianStart"/>). The full-covariance start is available; measured over five seeds on Iris and small
/// synthetic tables it scored held-out data 0.05–0.6 nats per row lower on four of six sets and better on none.
/// Reference: Durkan, Bekasov, Murray &amp; Papamakarios, "Neural Spline Flows", NeurIPS 2019, arXiv:1906.04032.
/// </remarks>
public static class NeuralSplineFlow
{
    /// <summary>Creates an NSF.</summary>
    /// <param name="dimension">Features per sample. Range: &gt; 0 (≥ 2 for coupling).</param>
    /// <param name="transforms">Spline layers. Default 5. Range: &gt; 0.</param>
    /// <param name="binCount">Bins per spline. Default 8.</param>
    /// <param name="hiddenFeatures">Conditioner hidden widths. Default [64, 64].</param>
    /// <param name="tailBound">B: splines act on [−B, B]. Default 5. Range: (0, <see cref="RationalQuadraticTransform{T}.MaximumTailBound"/>]
    /// (about 2.0e149 in double, 2.8e14 in float), beyond which the spline's arithmetic overflows T.</param>
    /// <param name="coupling">Use coupling layers (alternating halves) instead of autoregressive ones.</param>
    /// <param name="contextDimension">Context features for a conditional flow. Default 0.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <param name="gaussianStart">Where the flow starts (see <see cref="GaussianStart"/>). Default
    /// <see cref="GaussianStart.Diagonal"/>; <see cref="GaussianStart.None"/> gives the plain chain of spline layers on the
    /// standard normal.</param>
    /// <param name="supports">One <see cref="Support"/> per column, placed as a <see cref="ColumnSupports{T}"/> next to the
    /// data so that samples lie in the supports and data outside them are refused; null (the default) or all
    /// <see cref="Support.Real"/> leaves every column real.</param>
    /// <param name="defensiveShare">The share of the density given to the Gaussian fitted to the training data (see
    /// <see cref="DefensiveShare"/>): null (the default) gives <see cref="DefensiveShare.Automatic"/> with a Gaussian start
    /// and <see cref="DefensiveShare.None"/> with <see cref="GaussianStart.None"/>, which has no data to fit it to.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size or setting is out of range; for <paramref name="tailBound"/>,
    /// the message gives the largest value allowed for T.</exception>
    /// <exception cref="ArgumentException"><paramref name="supports"/> does not hold one support per column, or holds an angle
    /// (<see cref="Support.Angle"/>; model angles with <see cref="CircularSplineFlow"/>), naming the column.</exception>
    public static TransformedDistribution<T> Create<T>(int dimension, int transforms = 5, int binCount = 8, IReadOnlyList<int>? hiddenFeatures = null,
        double tailBound = 5.0, bool coupling = false, int contextDimension = 0, int seed = 0, GaussianStart gaussianStart = GaussianStart.Diagonal, IReadOnlyList<Support>? supports = null,
        DefensiveShare? defensiveShare = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(transforms);
        if (coupling)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 2);
        }

        var transform = new RationalQuadraticTransform<T>(binCount, tailBound);
        double? inputBound = PresetStart.InputBound(gaussianStart);
        var random = new Random(seed);
        var layers = new IBijector<T>[transforms];
        for (int i = 0; i < transforms; i++)
        {
            layers[i] = coupling
                ? new Coupling<T>(Coupling<T>.AlternatingMask(dimension, i % 2), hiddenFeatures, contextDimension, transform, random.Next(), inputBound)
                : new MaskedAutoregressive<T>(dimension, hiddenFeatures, i % 2 == 0 ? Orders.Natural(dimension) : Orders.Reversed(dimension),
                    contextDimension, transform, random.Next(), inputBound);
        }

        return new TransformedDistribution<T>(new StandardNormal<T>(dimension), PresetStart.Compose(layers, gaussianStart, supports),
            PresetStart.Share(defensiveShare, gaussianStart));
    }
}
