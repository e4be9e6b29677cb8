using System.Globalization;

namespace Flows.Training;

/// <summary>The outcome of a variational fit: how it ended, the ELBO trace, the parameters kept and the final estimate of log Z.</summary>
/// <remarks>
/// The fit watches the smoothed ELBO. It keeps the parameters of the last step unless the smoothed ELBO at the end is
/// below the estimate at the start (step 1, of the initial parameters), in which case — as on divergence and
/// cancellation — it restores the parameters of the best smoothed ELBO; so the flow never ends worse than it started on
/// the ELBO it watches. <see cref="KeptStep"/> says which parameters the flow holds.
/// </remarks>
public sealed class VariationalReport
{
    internal VariationalReport(FitStatus status, double[] elbo, double[] smoothedElbo, int keptStep, LogNormalizerEstimate? logNormalizer,
        bool stickingTheLanding, string? divergence, IReadOnlyList<string> warnings)
    {
        Status = status;
        Elbo = elbo;
        SmoothedElbo = smoothedElbo;
        KeptStep = keptStep;
        LogNormalizer = logNormalizer;
        StickingTheLanding = stickingTheLanding;
        Divergence = divergence;
        Warnings = warnings;
    }

    /// <summary>How the fit ended.</summary>
    public FitStatus Status { get; }

    /// <summary>The Monte Carlo ELBO estimate of every step taken, in nats.</summary>
    public IReadOnlyList<double> Elbo { get; }

    /// <summary>The exponential moving average of <see cref="Elbo"/> at every step.</summary>
    public IReadOnlyList<double> SmoothedElbo { get; }

    /// <summary>The smoothed ELBO after the last step; NaN when no step completed.</summary>
    public double FinalElbo => SmoothedElbo.Count > 0 ? SmoothedElbo[^1] : double.NaN;

    /// <summary>The ELBO estimate of the initial parameters (that of step 1); NaN when no step completed.</summary>
    public double InitialElbo => Elbo.Count > 0 ? Elbo[0] : double.NaN;

    /// <summary>Steps taken.</summary>
    public int Steps => Elbo.Count;

    /// <summary>
    /// The number of optimizer updates behind the parameters the flow holds now: <see cref="Steps"/> when it kept the
    /// last ones; otherwise those whose smoothed ELBO was the best, restored (0 for the initial parameters).
    /// </summary>
    public int KeptStep { get; }

    /// <summary>The importance-sampling estimate of log Z with the fitted q, or null when it was switched off or the fit diverged.</summary>
    public LogNormalizerEstimate? LogNormalizer { get; }

    /// <summary>Whether the sticking-the-landing estimator was used.</summary>
    public bool StickingTheLanding { get; }

    /// <summary>When <see cref="Status"/> is <see cref="FitStatus.Diverged"/>: what happened, at which step, and what to try. Else null.</summary>
    public string? Divergence { get; }

    /// <summary>Advice that did not stop the fit, such as an end below the start.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"VariationalReport(status: {Status}, steps: {Steps}, finalElbo: {FinalElbo:G6}, keptStep: {KeptStep}, logZ: {(LogNormalizer is null ? "not estimated" : $"{LogNormalizer.LogNormalizer:G6} ± {LogNormalizer.StandardError:G2}")})");
}
