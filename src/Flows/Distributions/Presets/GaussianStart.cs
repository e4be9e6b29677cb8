using System.Numerics;
using Flows.Bijectors;

namespace Flows.Distributions.Presets;

/// <summary>
/// Where a preset flow starts before any training: the standard normal, or the maximum-likelihood normal of the first
/// data it scores (with diagonal or full covariance). A flow that starts at the data's Gaussian only has to learn the
/// departures from it, and a fit that keeps its best validation score cannot end below where it started.
/// </summary>
/// <remarks>
/// <para>Every preset's nonlinear layers start at the identity (their conditioners' last layers are zero), so the start
/// is exactly the distribution named here. The Gaussian starts add data-initialized affine layers: a fixed
/// <see cref="Standardization{T}"/> next to the data, which standardizes each feature (the diagonal Gaussian), then a
/// trainable <see cref="ActNorm{T}"/> in standardized units, and for <see cref="Full"/> a
/// <see cref="LowerTriangularAffine{T}"/> next to the base, which takes the Cholesky factor of the standardized data's
/// covariance; together they are the full-covariance normal of <see cref="MultivariateNormal.Fit{T}(T[,])"/>. Every
/// trainable layer thus works in standardized units, so the same data in other units (1e-4 or 1e4) gives the same fit,
/// its log-likelihood shifted by exactly the change of units: a trainable shift in the data's units would take Adam
/// steps of the learning rate's size in those units, ten standard deviations at a scale of 1e-4. Both initialize from the first non-empty batch scored:
/// <c>Fit</c> passes them its training data (up to 4,096 rows) before any step, and initializes them again if only a
/// probe of the untrained flow had. They save that they did, and a loaded flow never re-initializes.</para>
/// <para>The nonlinear layers thus act on standardized features, and with a Gaussian start their conditioners see their
/// inputs softly clipped at ±3 (x / (1 + |x|/3)): far outside the data the conditioners' outputs stay bounded instead of
/// growing linearly and stretching a held-out outlier further at every layer.</para>
/// <para><b>Conditional flows</b> (a context dimension k &gt; 0) start at the maximum-likelihood linear-Gaussian
/// regression of the standardized data on the context instead: a <see cref="LowerTriangularAffine{T}"/> with a context,
/// x = μ + A c + L z, placed inside the ActNorm next to the data and initialized by least squares, L the Cholesky factor
/// of the residuals' covariance (<see cref="Full"/>) or its diagonal (<see cref="Diagonal"/>). The nonlinear layers then
/// model the whitened residuals, and a fit cannot end below the regression on its validation split. On a linear-Gaussian
/// posterior (samples/Posterior, d = 10) this is the exact family: KL(q‖p) fell from 0.063 to 0.017 (MAF) and from 0.126
/// to 0.012 (NSF). The context reaches the layers as it is: to standardize it from the training data (as sbi z-scores
/// observations), wrap the flow with <c>WithContextEmbedding(new IdentityEmbedding&lt;T&gt;(k))</c>. Measured on the crescent
/// task of samples/Posterior (seeds 2 and 3), doing so by default raised the held-out log q(θ | x) by 0.02–0.04 nats but
/// moved the coverage curve 0.054–0.065 from nominal against 0.043–0.044 without it, so it is not the default.</para>
/// <para>Which start each preset takes by default is measured (benchmarks/Flows.Quality, held-out log-likelihood over
/// five seeds on Iris and four small synthetic tables): the affine MAF gains most from the full covariance, the spline
/// flow does better from the diagonal start, whose splines act on the standardized features themselves.</para>
/// </remarks>
public enum GaussianStart
{
    /// <summary>The standard normal: the plain chain of layers, on data the caller has scaled; conditioner inputs unclipped.
    /// The choice for variational inference, which has no data to start from.</summary>
    None,

    /// <summary>The maximum-likelihood normal with diagonal covariance: a <see cref="Standardization{T}"/> next to the data
    /// and an <see cref="ActNorm{T}"/> after it.</summary>
    Diagonal,

    /// <summary>The maximum-likelihood normal with full covariance: a <see cref="Standardization{T}"/> and an
    /// <see cref="ActNorm{T}"/> next to the data and a <see cref="LowerTriangularAffine{T}"/> next to the base.</summary>
    Full,
}

/// <summary>Composes a preset's layers with its <see cref="GaussianStart"/>.</summary>
internal static class PresetStart
{
    // ±3 standard deviations is where data thin out: the conditioners resolve the data's range and stay bounded beyond it.
    private const double ConditionerInputBound = 3;

    /// <summary>The defensive share a preset takes: the one asked for, else automatic when the flow starts at the data's
    /// Gaussian and none when it starts at the standard normal (no data to fit a Gaussian to, as in variational inference).</summary>
    public static DefensiveShare Share(DefensiveShare? requested, GaussianStart gaussianStart)
        => requested ?? (Check(gaussianStart) == GaussianStart.None ? DefensiveShare.None : DefensiveShare.Automatic);

    /// <summary>The soft clip of the conditioners' inputs: set when the layers see standardized data, null otherwise
    /// (the data's scale is then unknown).</summary>
    public static double? InputBound(GaussianStart gaussianStart)
        => Check(gaussianStart) == GaussianStart.None ? null : ConditionerInputBound;

    /// <summary>The chain of <paramref name="layers"/> (the first next to the base) between the start's affine layers.</summary>
    /// <remarks>With <paramref name="supports"/> (not all real), a <see cref="ColumnSupports{T}"/> is the outermost layer,
    /// next to the data: the start's Standardization then acts on the unconstrained values inside it.</remarks>
    public static Chain<T> Compose<T>(IReadOnlyList<IBijector<T>> layers, GaussianStart gaussianStart, IReadOnlyList<Support>? supports = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = layers[0].Dimension;
        int k = layers[0].ContextDimension;
        GaussianStart start = Check(gaussianStart);
        IBijector<T>[] composed = start switch
        {
            // A conditional flow starts at the regression of the standardized data on the context; the layers model the
            // whitened residuals, so a scale that depends on the context does not move the regression's mean.
            not GaussianStart.None when k > 0 => [.. layers,
                new LowerTriangularAffine<T>(d, initializeFromData: true, contextDimension: k, diagonalStart: start == GaussianStart.Diagonal),
                new ActNorm<T>(d), new Standardization<T>(d)],
            GaussianStart.Full => [new LowerTriangularAffine<T>(d, initializeFromData: true), .. layers, new ActNorm<T>(d), new Standardization<T>(d)],
            GaussianStart.Diagonal => [.. layers, new ActNorm<T>(d), new Standardization<T>(d)],
            _ => [.. layers],
        };
        return new Chain<T>(SupportLayer<T>(supports, d) is ColumnSupports<T> support ? [.. composed, support] : composed);
    }

    /// <summary>The preset's support layer: null when <paramref name="supports"/> is null or all real (the flow is then
    /// built exactly as without it).</summary>
    /// <exception cref="ArgumentException"><paramref name="supports"/> does not hold one support per column, or holds an
    /// angle: these presets act on the real line.</exception>
    public static ColumnSupports<T>? SupportLayer<T>(IReadOnlyList<Support>? supports, int dimension)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (supports is null)
        {
            return null;
        }

        if (supports.Count != dimension)
        {
            throw new ArgumentException($"supports has {supports.Count} elements but the flow has Dimension {dimension}; give one support per column.", nameof(supports));
        }

        RefuseAngles(supports);

        return supports.All(s => s is { Kind: SupportKind.Real }) ? null : new ColumnSupports<T>(supports);
    }

    /// <summary>Throws when a column of <paramref name="supports"/> is an angle, naming it: a flow of the real line on an
    /// angle would give a density that jumps where the angle wraps and samples that ignore the period.</summary>
    /// <exception cref="ArgumentException">A support is <see cref="SupportKind.Angle"/>.</exception>
    public static void RefuseAngles(IReadOnlyList<Support> supports)
    {
        for (int j = 0; j < supports.Count; j++)
        {
            if (supports[j] is { Kind: SupportKind.Angle } angle)
            {
                throw new ArgumentException(
                    $"supports[{j}] is {angle}: column {j} is an angle, and this preset's layers act on the real line, so its density would " +
                    "jump where the angle wraps and its samples would not be periodic. Model angle columns with CircularSplineFlow (its real " +
                    "columns may have real, positive or interval supports).", nameof(supports));
            }
        }
    }

    private static GaussianStart Check(GaussianStart gaussianStart)
        => Enum.IsDefined(gaussianStart) ? gaussianStart
            : throw new ArgumentOutOfRangeException(nameof(gaussianStart), gaussianStart, "gaussianStart must be None, Diagonal or Full.");
}
