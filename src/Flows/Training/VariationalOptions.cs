namespace Flows.Training;

/// <summary>Settings of variational fitting (<see cref="VariationalInference"/>), with documented defaults.</summary>
public sealed record VariationalOptions
{
    /// <summary>Optimizer steps. Default 2000. Range: &gt; 0.</summary>
    public int Steps { get; init; } = 2000;

    /// <summary>Monte Carlo samples per step for the ELBO and its gradient. Default 64. Range: &gt; 0.</summary>
    public int SamplesPerStep { get; init; } = 64;

    /// <summary>The optimizer's settings. Default: Adam with learning rate 1e-3.</summary>
    public AdamOptions Optimizer { get; init; } = new();

    /// <summary>Gradients are scaled down together when their global norm exceeds this. Default null: no clipping.</summary>
    /// <remarks>Unlike <see cref="FitOptions.MaxGradientNorm"/> (default 5), variational fitting has not been measured
    /// with clipping, so it stays off by default.</remarks>
    public double? MaxGradientNorm { get; init; }

    /// <summary>
    /// Use the sticking-the-landing gradient estimator (Roeder, Wu &amp; Duvenaud 2017), which drops the score term of
    /// log q; its variance vanishes as q approaches the target. Default false: the standard reparameterization gradient.
    /// </summary>
    /// <remarks>Each step then also evaluates log q(z) through the bijector's inverse, which costs d passes per layer
    /// for an inverse autoregressive flow.</remarks>
    public bool StickingTheLanding { get; init; }

    /// <summary>Seed of every draw: the same seed gives the same fit, bit for bit. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// Steps the smoothed ELBO averages over: an exponential moving average with weight 1/SmoothingWindow on each new
    /// step, bias-corrected as Adam's moments are. Default 100. Range: &gt; 0.
    /// </summary>
    public int SmoothingWindow { get; init; } = 100;

    /// <summary>Samples of the final importance-sampling estimate of log Z. Default 10,000. Range: ≥ 0; 0 skips it.</summary>
    public int ImportanceSamples { get; init; } = 10_000;

    /// <summary>Steps between progress reports. Default 100. Range: &gt; 0.</summary>
    public int ProgressInterval { get; init; } = 100;

    /// <summary>Receives a report every <see cref="ProgressInterval"/> steps and after the last step. Default null.</summary>
    /// <remarks>Called on the fitting thread while the fit holds the flow; see <see cref="FitOptions.Progress"/>.</remarks>
    public IProgress<VariationalProgress>? Progress { get; init; }

    /// <summary>
    /// How far below the best smoothed ELBO so far the smoothed ELBO may fall before the fit counts as diverged, in units
    /// of max(Dimension, |best|) nats. Default 10. Range: &gt; 0; +∞ turns the check off (non-finite values still count
    /// as divergence).
    /// </summary>
    /// <remarks>The smoothed ELBO (see <see cref="SmoothingWindow"/>) is watched rather than each step's estimate, so that
    /// one step with an extreme sample does not count as divergence.</remarks>
    public double DivergenceTolerance { get; init; } = 10;

    /// <summary>
    /// Throw an <see cref="InvalidOperationException"/> on divergence, after restoring the best parameters, instead of
    /// returning a report whose status is <see cref="FitStatus.Diverged"/>. Default false.
    /// </summary>
    public bool ThrowOnDivergence { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Steps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(SamplesPerStep);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(SmoothingWindow);
        ArgumentOutOfRangeException.ThrowIfNegative(ImportanceSamples);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ProgressInterval);
        ArgumentNullException.ThrowIfNull(Optimizer);
        Optimizer.Validate();
        if (MaxGradientNorm is double norm && !(norm > 0 && double.IsFinite(norm)))
        {
            throw new ArgumentOutOfRangeException(nameof(MaxGradientNorm), norm, "MaxGradientNorm must be finite and > 0.");
        }

        if (!(DivergenceTolerance > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(DivergenceTolerance), DivergenceTolerance, "DivergenceTolerance must be > 0 (+∞ turns the check off).");
        }
    }
}
