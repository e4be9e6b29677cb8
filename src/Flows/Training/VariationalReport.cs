namespace Flows.Training;

/// <summary>The outcome of a variational fit: the ELBO trace and the final estimate of log Z.</summary>
public sealed class VariationalReport
{
    internal VariationalReport(double[] elbo, double[] smoothedElbo, LogNormalizerEstimate? logNormalizer, bool stickingTheLanding)
    {
        Elbo = elbo;
        SmoothedElbo = smoothedElbo;
        LogNormalizer = logNormalizer;
        StickingTheLanding = stickingTheLanding;
    }

    /// <summary>The Monte Carlo ELBO estimate of every step, in nats.</summary>
    public IReadOnlyList<double> Elbo { get; }

    /// <summary>The exponential moving average of <see cref="Elbo"/> at every step.</summary>
    public IReadOnlyList<double> SmoothedElbo { get; }

    /// <summary>The smoothed ELBO after the last step.</summary>
    public double FinalElbo => SmoothedElbo[^1];

    /// <summary>Steps taken.</summary>
    public int Steps => Elbo.Count;

    /// <summary>The importance-sampling estimate of log Z with the fitted q, or null when it was switched off.</summary>
    public LogNormalizerEstimate? LogNormalizer { get; }

    /// <summary>Whether the sticking-the-landing estimator was used.</summary>
    public bool StickingTheLanding { get; }

    /// <inheritdoc/>
    public override string ToString()
        => $"VariationalReport(steps: {Steps}, finalElbo: {FinalElbo:G6}, logZ: {(LogNormalizer is null ? "not estimated" : $"{LogNormalizer.LogNormalizer:G6} ± {LogNormalizer.StandardError:G2}")})";
}
