using System.Globalization;
using System.Text;

namespace Flows.Inference;

/// <summary>
/// Expected coverage of highest-density regions: for each credibility level α, the share of (θ*, x) pairs whose θ*
/// lies in the smallest region holding mass α of q(θ | x). A calibrated posterior covers a share α at every level;
/// a curve below the diagonal means an over-confident posterior, above it an under-confident one.
/// </summary>
public sealed class CoverageReport
{
    private readonly double[] _levels;
    private readonly double[] _coverage;
    private readonly double[] _pairLevels;

    internal CoverageReport(double[] levels, double[] coverage, double[] pairLevels, int drawsPerPair)
    {
        _levels = levels;
        _coverage = coverage;
        _pairLevels = pairLevels;
        DrawsPerPair = drawsPerPair;
    }

    /// <summary>N: the (θ*, x) pairs tested.</summary>
    public int Pairs => _pairLevels.Length;

    /// <summary>L: posterior draws per pair.</summary>
    public int DrawsPerPair { get; }

    /// <summary>The credibility levels α, increasing.</summary>
    public IReadOnlyList<double> Levels => _levels;

    /// <summary>The share of pairs covered at each level of <see cref="Levels"/>.</summary>
    public IReadOnlyList<double> Coverage => _coverage;

    /// <summary>
    /// Each pair's highest-density level: the mass of q(θ | x) in the region of higher density than θ*, estimated from the
    /// L draws as the mid-rank (K + ½) / (L + 1) of θ* among them, K the draws of higher density (ties count half). θ* is
    /// covered at level α when this is at most α.
    /// </summary>
    public IReadOnlyList<double> PairLevels => _pairLevels;

    /// <summary>The binomial standard error of the coverage at each level for a calibrated posterior: √(α(1 − α) / N).</summary>
    public IReadOnlyList<double> StandardErrors => [.. _levels.Select(a => Math.Sqrt(a * (1 - a) / Pairs))];

    /// <summary>max over the levels of |coverage − α|.</summary>
    public double MaximumDeviation => _levels.Select((a, i) => Math.Abs(_coverage[i] - a)).Max();

    /// <summary>max over the levels of α − coverage: how far the curve falls below the diagonal (over-confidence); negative
    /// when it lies above it everywhere.</summary>
    public double MaximumShortfall => _levels.Select((a, i) => a - _coverage[i]).Max();

    /// <summary>Whether the coverage lies within <paramref name="tolerance"/> of α at every level.</summary>
    /// <param name="tolerance">The largest deviation allowed. Range: ≥ 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tolerance"/> is negative or NaN.</exception>
    public bool IsCalibrated(double tolerance)
    {
        if (!(tolerance >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, "The tolerance must be non-negative.");
        }

        return MaximumDeviation <= tolerance;
    }

    /// <summary>The coverage at each level and the largest deviation.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Coverage: {Pairs} pairs, {DrawsPerPair} draws each, largest deviation {MaximumDeviation:F3}");
        text.AppendLine();
        text.Append("  ");
        text.AppendJoin(", ", _levels.Select((a, i) => string.Create(CultureInfo.InvariantCulture, $"{a:F2}: {_coverage[i]:F3}")));
        return text.ToString();
    }
}
