namespace Flows.Training;

/// <summary>
/// An importance-sampling estimate of log P(x), the mass of a row's integer cell under a flow fitted with
/// <see cref="FitOptions.IntegerColumns"/>: P(x) = ∫ p(x + u) du over u ∈ [0, 1)ᵏ in the k integer columns (a density in
/// the other columns). See <see cref="Dequantization"/>.
/// </summary>
/// <param name="LogMass">log P̂ = log((1/N) Σᵢ p(x + uᵢ)), uᵢ ~ U[0, 1)ᵏ: the estimate of P is unbiased, that of log P
/// biased low by about half its variance.</param>
/// <param name="StandardError">The delta-method standard error of <paramref name="LogMass"/>, sd(w)/(mean(w)·√N) with
/// wᵢ = p(x + uᵢ); it shrinks like 1/√N.</param>
/// <param name="EffectiveSampleSize">(Σw)²/Σw², between 1 and <paramref name="SampleCount"/>.</param>
/// <param name="SampleCount">N, the points drawn in the cell.</param>
/// <param name="DequantizedLogDensity">(1/N) Σᵢ log p(x + uᵢ), the dequantized log-density that the fit maximizes: a
/// lower bound on log P(x) in expectation (Jensen), never above <paramref name="LogMass"/>.</param>
public sealed record CellMassEstimate(double LogMass, double StandardError, double EffectiveSampleSize, int SampleCount, double DequantizedLogDensity)
{
    /// <inheritdoc/>
    public override string ToString()
        => FormattableString.Invariant($"CellMassEstimate(logP: {LogMass:G6} ± {StandardError:G2}, ess: {EffectiveSampleSize:F0}/{SampleCount}, dequantized: {DequantizedLogDensity:G6})");
}
