using System.Globalization;
using System.Text;

namespace Flows.Inference;

/// <summary>The rank test of one coordinate of θ: the ranks of the true values binned, and a chi-square test of uniformity.</summary>
/// <param name="Coordinate">The coordinate of θ, from 0.</param>
/// <param name="BinCounts">How many pairs' ranks fell in each bin.</param>
/// <param name="ExpectedCounts">The counts a calibrated posterior gives on average (pairs × the bin's share of the L + 1
/// possible ranks).</param>
/// <param name="ChiSquare">Pearson's statistic Σ (observed − expected)² / expected.</param>
/// <param name="DegreesOfFreedom">Bins − 1.</param>
/// <param name="PValue">P(χ² ≥ ChiSquare) under uniform ranks: small when the ranks are not uniform.</param>
public sealed record RankUniformity(int Coordinate, IReadOnlyList<int> BinCounts, IReadOnlyList<double> ExpectedCounts,
    double ChiSquare, int DegreesOfFreedom, double PValue);

/// <summary>
/// The outcome of simulation-based calibration (Talts et al. 2018, arXiv:1804.06788): for each of N pairs (θ*, x) drawn
/// from the joint, the rank of each coordinate of θ* among L posterior draws for x, and per coordinate a chi-square test
/// that the ranks are uniform on {0, …, L}, as they are exactly when q(θ | x) is the true posterior.
/// </summary>
/// <remarks>
/// How the ranks depart from uniform says how the posterior is wrong: a U shape (θ* often below or above every draw)
/// means an over-confident posterior, a hump in the middle an under-confident one, a slope a biased one. Uniform ranks
/// are necessary for calibration, not sufficient: the prior itself, used as the posterior, passes too.
/// </remarks>
public sealed class SimulationBasedCalibrationReport
{
    private readonly int[] _ranks;

    internal SimulationBasedCalibrationReport(int[] ranks, int pairs, int dimension, int drawsPerPair, IReadOnlyList<RankUniformity> coordinates)
    {
        _ranks = ranks;
        Pairs = pairs;
        Dimension = dimension;
        DrawsPerPair = drawsPerPair;
        Coordinates = coordinates;
    }

    /// <summary>N: the (θ*, x) pairs tested.</summary>
    public int Pairs { get; }

    /// <summary>The coordinates of θ.</summary>
    public int Dimension { get; }

    /// <summary>L: posterior draws per pair; ranks run from 0 to L.</summary>
    public int DrawsPerPair { get; }

    /// <summary>One uniformity test per coordinate of θ.</summary>
    public IReadOnlyList<RankUniformity> Coordinates { get; }

    /// <summary>The smallest p-value over the coordinates.</summary>
    public double MinimumPValue => Coordinates.Min(c => c.PValue);

    /// <summary>The ranks of coordinate <paramref name="coordinate"/>, one per pair: how many of that pair's L draws
    /// fell below θ*.</summary>
    /// <param name="coordinate">The coordinate. Range: [0, Dimension).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="coordinate"/> is out of range.</exception>
    public IReadOnlyList<int> Ranks(int coordinate)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(coordinate);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(coordinate, Dimension);
        var ranks = new int[Pairs];
        for (int i = 0; i < Pairs; i++)
        {
            ranks[i] = _ranks[(i * Dimension) + coordinate];
        }

        return ranks;
    }

    /// <summary>
    /// Whether no coordinate's test rejects uniformity at level <paramref name="significance"/>, Bonferroni-corrected
    /// for the number of coordinates (every p-value ≥ significance / Dimension).
    /// </summary>
    /// <param name="significance">The family-wise level. Default 0.01. Range: (0, 1).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="significance"/> is outside (0, 1).</exception>
    public bool IsUniform(double significance = 0.01)
    {
        if (!(significance > 0 && significance < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(significance), significance, "The significance level must lie in (0, 1).");
        }

        return MinimumPValue >= significance / Dimension;
    }

    /// <summary>One line per coordinate: chi-square, degrees of freedom and p-value.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"SBC: {Pairs} pairs, {DrawsPerPair} draws each");
        foreach (RankUniformity c in Coordinates)
        {
            text.AppendLine();
            text.Append(CultureInfo.InvariantCulture, $"  θ[{c.Coordinate}]: χ² = {c.ChiSquare:F2} on {c.DegreesOfFreedom} df, p = {c.PValue:G3}");
        }

        return text.ToString();
    }
}
