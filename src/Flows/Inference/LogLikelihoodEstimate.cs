namespace Flows.Inference;

/// <summary>The mean of log q(θ* | x) over held-out (θ*, x) pairs, with its standard error: higher is better, and it is
/// the quantity NPE maximizes, so it compares posteriors fitted to the same simulator.</summary>
/// <param name="Mean">The mean log-density, in nats per pair.</param>
/// <param name="StandardError">The standard deviation of the per-pair values over √N.</param>
/// <param name="Pairs">N.</param>
public sealed record LogLikelihoodEstimate(double Mean, double StandardError, int Pairs)
{
    /// <summary>"mean ± standard error (N pairs)".</summary>
    public override string ToString() => FormattableString.Invariant($"{Mean:F4} ± {StandardError:F4} nats ({Pairs} pairs)");
}
