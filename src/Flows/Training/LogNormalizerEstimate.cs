namespace Flows.Training;

/// <summary>
/// An importance-sampling estimate of the target's log-normalizer, log Z = log E_q[p̃(z)/q(z)], with samples from q.
/// </summary>
/// <remarks>
/// With log-weights lwᵢ = log p̃(zᵢ) − log q(zᵢ): log Ẑ = log((1/N) Σᵢ exp(lwᵢ)) by a stable log-sum-exp, and the
/// effective sample size ESS = (Σw)²/Σw² (Kish). By the delta method the standard error of log Ẑ is
/// sd(w)/(mean(w)·√N) = √((1/ESS − 1/N)·N/(N − 1)). The estimate of Z is unbiased, that of log Z biased low by about
/// half its variance; both are reliable only when the ESS is a reasonable share of N, that is when q covers the target.
/// </remarks>
/// <param name="LogNormalizer">log Ẑ.</param>
/// <param name="StandardError">The delta-method standard error of log Ẑ.</param>
/// <param name="EffectiveSampleSize">(Σw)²/Σw², between 1 and <paramref name="SampleCount"/>.</param>
/// <param name="SampleCount">N, the samples drawn from q.</param>
/// <param name="Elbo">The mean log-weight (1/N) Σᵢ lwᵢ: an ELBO estimate from the same samples, ≤ log Ẑ.</param>
public sealed record LogNormalizerEstimate(double LogNormalizer, double StandardError, double EffectiveSampleSize, int SampleCount, double Elbo)
{
    /// <summary>ESS / N, in (0, 1]: 1 when q equals the normalized target.</summary>
    public double EffectiveSampleSizeFraction => EffectiveSampleSize / SampleCount;

    /// <summary>The estimate from N log-weights lwᵢ = log p̃(zᵢ) − log q(zᵢ), of which at least one is finite.</summary>
    internal static LogNormalizerEstimate FromLogWeights(ReadOnlySpan<double> logWeights)
    {
        double max = double.NegativeInfinity;
        foreach (double w in logWeights)
        {
            max = Math.Max(max, w);
        }

        // Log-sum-exp about the largest log-weight: every exp(lw − max) lies in [0, 1] and the largest is 1.
        double sum = 0;
        double sumOfSquares = 0;
        double meanLogWeight = 0;
        foreach (double lw in logWeights)
        {
            double w = Math.Exp(lw - max);
            sum += w;
            sumOfSquares += w * w;
            meanLogWeight += lw;
        }

        int sampleCount = logWeights.Length;
        double n = sampleCount;
        double logNormalizer = max + Math.Log(sum) - Math.Log(n);
        // (Σw)²/Σw² ≤ N by Cauchy–Schwarz; clamp the last-digit excess of equal weights.
        double ess = Math.Min(sum * sum / sumOfSquares, n);
        // Var(w)/mean(w)² = N·Σw²/(Σw)² − 1 = N/ESS − 1 (with the N/(N − 1) correction of the sample variance).
        double standardError = sampleCount > 1 ? Math.Sqrt(Math.Max(0, (1 / ess) - (1 / n)) * n / (n - 1)) : double.NaN;
        return new LogNormalizerEstimate(logNormalizer, standardError, ess, sampleCount, meanLogWeight / n);
    }

    /// <inheritdoc/>
    public override string ToString()
        => $"LogNormalizerEstimate(logZ: {LogNormalizer:G6} ± {StandardError:G2}, ess: {EffectiveSampleSize:F0}/{SampleCount} ({EffectiveSampleSizeFraction:P1}), elbo: {Elbo:G6})";
}
