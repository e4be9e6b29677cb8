namespace Flows.Variational;

/// <summary>
/// The importance-sampled marginal log-likelihood of held-out rows, <c>log p̂(x) = log (1/k) Σₛ p(x, zₛ)/q(zₛ | x)</c>
/// with zₛ ~ q(z | x), averaged over the rows, as the VAE papers report it; and the ELBO from the same samples.
/// </summary>
/// <remarks>
/// Two standard errors answer two questions. <see cref="StandardError"/> (the rows' standard deviation over √N) is the
/// uncertainty of the mean as an estimate of the population's expected log-likelihood: use it to compare models on the
/// same held-out rows. <see cref="MonteCarloStandardError"/> is the importance sampling's own error for these rows,
/// √(Σᵢ seᵢ²)/N with seᵢ the delta-method error of row i (sd(w)/(mean(w)·√k)): the gap to the exact log-likelihood of
/// these rows that more samples would close. log p̂ is biased low by about half its variance (it is a lower bound in
/// expectation), which is why k is large (the papers use 5,000).
/// </remarks>
/// <param name="Mean">Mean log p̂(xᵢ) over the rows, in nats per row.</param>
/// <param name="StandardError">Standard deviation of the rows' log p̂ over √N.</param>
/// <param name="MonteCarloStandardError">The importance sampling's standard error of <paramref name="Mean"/> (see the remarks).</param>
/// <param name="Elbo">Mean ELBO over the rows, from the same samples.</param>
/// <param name="ElboStandardError">Standard deviation of the rows' ELBO over √N.</param>
/// <param name="Rows">N.</param>
/// <param name="ImportanceSamples">k, samples per row.</param>
/// <param name="PerRow">log p̂(xᵢ) per row.</param>
public sealed record MarginalLogLikelihoodEstimate(double Mean, double StandardError, double MonteCarloStandardError, double Elbo,
    double ElboStandardError, int Rows, int ImportanceSamples, IReadOnlyList<double> PerRow)
{
    /// <inheritdoc/>
    public override string ToString()
        => FormattableString.Invariant($"log p(x) {Mean:F4} ± {StandardError:F4} (Monte Carlo ± {MonteCarloStandardError:F4}), ELBO {Elbo:F4} ± {ElboStandardError:F4} ({Rows} rows, k = {ImportanceSamples})");
}
