using System.Numerics;
using Flows.Bijectors;
using Flows.Neural;

namespace Flows.Distributions.Presets;

/// <summary>
/// The sum-of-squares polynomial flow (SOSPF) preset: masked autoregressive layers whose elementwise map is a
/// <see cref="SumOfSquaresPolynomialTransform{T}"/>, on a standard normal base; a MAF with the affine map replaced, as
/// zuko builds it.
/// </summary>
/// <remarks>
/// Defaults: 5 transforms, K = 2 squared polynomials of degree r = 3 (f of degree 7) on [−5, 5] with linear tails,
/// hidden widths [64, 64], orders alternating natural and reversed, the diagonal Gaussian start and the automatic
/// defensive share of the other presets (see <see cref="GaussianStart"/>). Scoring takes one MADE pass per layer;
/// sampling takes d passes per layer, each with a bracketed Newton solve per element.
/// Reference: Jaini, Selby &amp; Yu, "Sum-of-Squares Polynomial Flow", ICML 2019, arXiv:1905.02325.
/// </remarks>
public static class SumOfSquaresPolynomialFlow
{
    /// <summary>Creates a SOSPF.</summary>
    /// <param name="dimension">Features per sample. Range: &gt; 0.</param>
    /// <param name="transforms">Autoregressive layers. Default 5. Range: &gt; 0.</param>
    /// <param name="polynomialCount">K, squared polynomials per feature. Default 2. Range: 1 to 16.</param>
    /// <param name="degree">r, the degree of each squared polynomial. Default 3. Range: 0 to 8.</param>
    /// <param name="hiddenFeatures">MADE hidden widths. Default [64, 64].</param>
    /// <param name="tailBound">B: the polynomials act on [−B, B]. Default 5.</param>
    /// <param name="contextDimension">Context features for a conditional flow. Default 0.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <param name="gaussianStart">Where the flow starts. Default <see cref="GaussianStart.Diagonal"/>.</param>
    /// <param name="defensiveShare">The Gaussian's share of the density; null gives the presets' default (see
    /// <see cref="NeuralSplineFlow"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size or setting is out of range.</exception>
    public static TransformedDistribution<T> Create<T>(int dimension, int transforms = 5, int polynomialCount = 2, int degree = 3,
        IReadOnlyList<int>? hiddenFeatures = null, double tailBound = 5.0, int contextDimension = 0, int seed = 0,
        GaussianStart gaussianStart = GaussianStart.Diagonal, DefensiveShare? defensiveShare = null)
        where T : unmanaged, IFloatingPointIeee754<T>
        => AutoregressivePreset.Create(dimension, transforms, new SumOfSquaresPolynomialTransform<T>(polynomialCount, degree, tailBound),
            hiddenFeatures, contextDimension, seed, gaussianStart, defensiveShare);
}

/// <summary>
/// The Bernstein polynomial flow (BPF) preset: masked autoregressive layers whose elementwise map is a
/// <see cref="BernsteinTransform{T}"/>, on a standard normal base.
/// </summary>
/// <remarks>
/// Defaults: 5 transforms, degree M = 16 on [−5, 5] with linear tails (zuko's BPF default degree), hidden widths
/// [64, 64], orders alternating natural and reversed, the diagonal Gaussian start and the automatic defensive share.
/// Reference: Ramasinghe, Fernando, Khan &amp; Barnes, "Robust normalizing flows using Bernstein-type polynomials",
/// BMVC 2022, arXiv:2102.03509.
/// </remarks>
public static class BernsteinPolynomialFlow
{
    /// <summary>Creates a BPF.</summary>
    /// <param name="dimension">Features per sample. Range: &gt; 0.</param>
    /// <param name="transforms">Autoregressive layers. Default 5. Range: &gt; 0.</param>
    /// <param name="degree">M, the degree of the Bernstein polynomials. Default 16. Range: 1 to 100.</param>
    /// <param name="hiddenFeatures">MADE hidden widths. Default [64, 64].</param>
    /// <param name="tailBound">B: the polynomials act on [−B, B]. Default 5.</param>
    /// <param name="contextDimension">Context features for a conditional flow. Default 0.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <param name="gaussianStart">Where the flow starts. Default <see cref="GaussianStart.Diagonal"/>.</param>
    /// <param name="defensiveShare">The Gaussian's share of the density; null gives the presets' default (see
    /// <see cref="NeuralSplineFlow"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size or setting is out of range.</exception>
    public static TransformedDistribution<T> Create<T>(int dimension, int transforms = 5, int degree = 16,
        IReadOnlyList<int>? hiddenFeatures = null, double tailBound = 5.0, int contextDimension = 0, int seed = 0,
        GaussianStart gaussianStart = GaussianStart.Diagonal, DefensiveShare? defensiveShare = null)
        where T : unmanaged, IFloatingPointIeee754<T>
        => AutoregressivePreset.Create(dimension, transforms, new BernsteinTransform<T>(degree, tailBound),
            hiddenFeatures, contextDimension, seed, gaussianStart, defensiveShare);
}

/// <summary>
/// The unconstrained neural autoregressive flow (UNAF, zuko's name for UMNN in a MAF): masked autoregressive layers whose
/// elementwise map is an <see cref="UnconstrainedMonotonicTransform{T}"/>, on a standard normal base.
/// </summary>
/// <remarks>
/// Defaults: 5 transforms, integrands of H = 8 tanh units integrated on 33 Clenshaw–Curtis nodes over [−5, 5] with linear
/// tails, hidden widths [64, 64], orders alternating natural and reversed, the diagonal Gaussian start and the automatic
/// defensive share. Reference: Wehenkel &amp; Louppe, "Unconstrained Monotonic Neural Networks", NeurIPS 2019,
/// arXiv:1908.05164.
/// </remarks>
public static class UnconstrainedNeuralAutoregressiveFlow
{
    /// <summary>Creates a UNAF.</summary>
    /// <param name="dimension">Features per sample. Range: &gt; 0.</param>
    /// <param name="transforms">Autoregressive layers. Default 5. Range: &gt; 0.</param>
    /// <param name="hiddenCount">H, tanh units of each integrand. Default 8. Range: 1 to 64.</param>
    /// <param name="intervalCount">N, Clenshaw–Curtis intervals. Default 32. Range: even, 2 to 256.</param>
    /// <param name="hiddenFeatures">MADE hidden widths. Default [64, 64].</param>
    /// <param name="tailBound">B: the integrals act on [−B, B]. Default 5.</param>
    /// <param name="contextDimension">Context features for a conditional flow. Default 0.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <param name="gaussianStart">Where the flow starts. Default <see cref="GaussianStart.Diagonal"/>.</param>
    /// <param name="defensiveShare">The Gaussian's share of the density; null gives the presets' default (see
    /// <see cref="NeuralSplineFlow"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size or setting is out of range.</exception>
    public static TransformedDistribution<T> Create<T>(int dimension, int transforms = 5, int hiddenCount = 8, int intervalCount = 32,
        IReadOnlyList<int>? hiddenFeatures = null, double tailBound = 5.0, int contextDimension = 0, int seed = 0,
        GaussianStart gaussianStart = GaussianStart.Diagonal, DefensiveShare? defensiveShare = null)
        where T : unmanaged, IFloatingPointIeee754<T>
        => AutoregressivePreset.Create(dimension, transforms, new UnconstrainedMonotonicTransform<T>(hiddenCount, intervalCount, tailBound),
            hiddenFeatures, contextDimension, seed, gaussianStart, defensiveShare);
}

/// <summary>
/// The neural autoregressive flow (NAF) preset with deep sigmoidal transforms: masked autoregressive layers whose
/// elementwise map is a <see cref="DeepSigmoidalTransform{T}"/>, on a standard normal base.
/// </summary>
/// <remarks>
/// Defaults: 5 transforms, H = 8 sigmoid units on [−5, 5] with linear tails and slope floor 1e-3, hidden widths [64, 64],
/// orders alternating natural and reversed, the diagonal Gaussian start and the automatic defensive share. Reference:
/// Huang, Krueger, Lacoste &amp; Courville, "Neural Autoregressive Flows", ICML 2018, arXiv:1804.00779.
/// </remarks>
public static class NeuralAutoregressiveFlow
{
    /// <summary>Creates a NAF (deep sigmoidal).</summary>
    /// <param name="dimension">Features per sample. Range: &gt; 0.</param>
    /// <param name="transforms">Autoregressive layers. Default 5. Range: &gt; 0.</param>
    /// <param name="hiddenCount">H, sigmoid units per feature. Default 8. Range: 1 to 64.</param>
    /// <param name="hiddenFeatures">MADE hidden widths. Default [64, 64].</param>
    /// <param name="tailBound">B: the sigmoidal maps act on [−B, B]. Default 5.</param>
    /// <param name="contextDimension">Context features for a conditional flow. Default 0.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <param name="gaussianStart">Where the flow starts. Default <see cref="GaussianStart.Diagonal"/>.</param>
    /// <param name="defensiveShare">The Gaussian's share of the density; null gives the presets' default (see
    /// <see cref="NeuralSplineFlow"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size or setting is out of range.</exception>
    public static TransformedDistribution<T> Create<T>(int dimension, int transforms = 5, int hiddenCount = 8,
        IReadOnlyList<int>? hiddenFeatures = null, double tailBound = 5.0, int contextDimension = 0, int seed = 0,
        GaussianStart gaussianStart = GaussianStart.Diagonal, DefensiveShare? defensiveShare = null)
        where T : unmanaged, IFloatingPointIeee754<T>
        => AutoregressivePreset.Create(dimension, transforms, new DeepSigmoidalTransform<T>(hiddenCount, tailBound),
            hiddenFeatures, contextDimension, seed, gaussianStart, defensiveShare);
}

/// <summary>A stack of masked autoregressive layers with one conditional transform, between a preset's start layers.</summary>
internal static class AutoregressivePreset
{
    public static TransformedDistribution<T> Create<T>(int dimension, int transforms, IConditionalTransform<T> transform,
        IReadOnlyList<int>? hiddenFeatures, int contextDimension, int seed, GaussianStart gaussianStart, DefensiveShare? defensiveShare)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(transforms);
        double? inputBound = PresetStart.InputBound(gaussianStart);
        var random = new Random(seed);
        var layers = new IBijector<T>[transforms];
        for (int i = 0; i < transforms; i++)
        {
            layers[i] = new MaskedAutoregressive<T>(dimension, hiddenFeatures, i % 2 == 0 ? Orders.Natural(dimension) : Orders.Reversed(dimension),
                contextDimension, transform, random.Next(), inputBound);
        }

        return new TransformedDistribution<T>(new StandardNormal<T>(dimension), PresetStart.Compose(layers, gaussianStart),
            PresetStart.Share(defensiveShare, gaussianStart));
    }
}
