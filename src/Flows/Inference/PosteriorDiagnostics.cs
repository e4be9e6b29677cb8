using System.Numerics;
using Flows.Numerics;
using MathNet.Numerics;

namespace Flows.Inference;

/// <summary>
/// Calibration checks of an amortized posterior q(θ | x) on held-out pairs (θ*, x) drawn from the joint p(θ) p(x | θ)
/// (<see cref="NeuralPosteriorEstimation.Simulate{T}(IPrior{T}, Func{T[,], Random, T[,]}, int, Random)"/>):
/// simulation-based calibration, expected coverage of highest-density regions, and the held-out log-likelihood.
/// </summary>
/// <remarks>
/// Each check holds for the true posterior whatever the simulator: ranks uniform, coverage on the diagonal. Each pair
/// costs L posterior draws (and for coverage L + 1 densities), so N = 200–1000 pairs with L = 100–1000 draws is the
/// usual budget. The results are deterministic for a given <see cref="Random"/> state.
/// </remarks>
public static class PosteriorDiagnostics
{
    /// <summary>The credibility levels used when none are given: 0.05, 0.10, …, 0.95.</summary>
    public static IReadOnlyList<double> DefaultLevels { get; } = [.. Enumerable.Range(1, 19).Select(k => k / 20.0)];

    /// <summary>
    /// Simulation-based calibration (Talts et al. 2018): per pair, L draws from q(θ | x) and, per coordinate, the rank of
    /// θ* among them (the draws below it); per coordinate, a chi-square test that the ranks are uniform on {0, …, L}.
    /// </summary>
    /// <param name="posterior">The posterior to check.</param>
    /// <param name="theta">N × Dimension true parameters θ*.</param>
    /// <param name="observations">N × ObservationDimension observations, row i simulated at θ* row i.</param>
    /// <param name="drawsPerPair">L. Range: ≥ 1.</param>
    /// <param name="random">The source of randomness of the draws.</param>
    /// <param name="binCount">Bins of the chi-square test; 0 (the default) for N / 10 clamped to [2, 20] (about ten
    /// expected ranks per bin), and never more than L + 1. Range: 0, or [2, L + 1].</param>
    /// <returns>The ranks and the tests.</returns>
    /// <exception cref="ArgumentException">The shapes do not match the posterior or each other, or fewer than 2 pairs.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="drawsPerPair"/> or <paramref name="binCount"/> is out of range.</exception>
    public static SimulationBasedCalibrationReport SimulationBasedCalibration<T>(IPosterior<T> posterior, T[,] theta, T[,] observations,
        int drawsPerPair, Random random, int binCount = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(random);
        int pairs = CheckPairs(posterior, theta, observations, drawsPerPair);
        if (binCount != 0 && (binCount < 2 || binCount > drawsPerPair + 1))
        {
            throw new ArgumentOutOfRangeException(nameof(binCount), binCount, $"Bins must be 0 (automatic) or in [2, L + 1] = [2, {drawsPerPair + 1}].");
        }

        int bins = binCount != 0 ? binCount : Math.Min(Math.Clamp(pairs / 10, 2, 20), drawsPerPair + 1);
        int d = posterior.Dimension;
        int k = posterior.ObservationDimension;
        var ranks = new int[pairs * d];
        var draws = new T[drawsPerPair * d];
        for (int i = 0; i < pairs; i++)
        {
            ReadOnlySpan<T> truth = Batch.AsSpan(theta).Slice(i * d, d);
            posterior.Sample(Batch.AsSpan(observations).Slice(i * k, k), draws, random);
            for (int l = 0; l < drawsPerPair; l++)
            {
                for (int j = 0; j < d; j++)
                {
                    if (draws[(l * d) + j] < truth[j])
                    {
                        ranks[(i * d) + j]++;
                    }
                }
            }
        }

        var coordinates = new RankUniformity[d];
        for (int j = 0; j < d; j++)
        {
            coordinates[j] = UniformityTest(ranks, j, d, pairs, drawsPerPair, bins);
        }

        return new SimulationBasedCalibrationReport(ranks, pairs, d, drawsPerPair, coordinates);
    }

    /// <summary>
    /// Expected coverage of highest-density regions: per pair, L draws from q(θ | x) and the share of them denser than θ*
    /// (θ*'s highest-density level); the coverage at level α is the share of pairs whose level is at most α.
    /// </summary>
    /// <param name="posterior">The posterior to check.</param>
    /// <param name="theta">N × Dimension true parameters θ*.</param>
    /// <param name="observations">N × ObservationDimension observations, row i simulated at θ* row i.</param>
    /// <param name="drawsPerPair">L. Range: ≥ 1.</param>
    /// <param name="random">The source of randomness of the draws.</param>
    /// <param name="levels">Credibility levels in (0, 1), increasing; null for <see cref="DefaultLevels"/>.</param>
    /// <returns>The coverage curve and each pair's level.</returns>
    /// <exception cref="ArgumentException">The shapes do not match, fewer than 2 pairs, or a level is outside (0, 1) or
    /// out of order.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="drawsPerPair"/> is out of range.</exception>
    public static CoverageReport ExpectedCoverage<T>(IPosterior<T> posterior, T[,] theta, T[,] observations, int drawsPerPair,
        Random random, IReadOnlyList<double>? levels = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(random);
        int pairs = CheckPairs(posterior, theta, observations, drawsPerPair);
        double[] alphas = CheckLevels(levels ?? DefaultLevels);
        int d = posterior.Dimension;
        int k = posterior.ObservationDimension;

        // The L draws and, in the last row, θ*: one density call scores them all.
        var points = new T[(drawsPerPair + 1) * d];
        var logDensity = new T[drawsPerPair + 1];
        var pairLevels = new double[pairs];
        for (int i = 0; i < pairs; i++)
        {
            ReadOnlySpan<T> x = Batch.AsSpan(observations).Slice(i * k, k);
            posterior.Sample(x, points.AsSpan(0, drawsPerPair * d), random);
            Batch.AsSpan(theta).Slice(i * d, d).CopyTo(points.AsSpan(drawsPerPair * d));
            posterior.DensityLn(x, points, logDensity);
            T truth = logDensity[drawsPerPair];
            double denser = 0;
            for (int l = 0; l < drawsPerPair; l++)
            {
                denser += logDensity[l] > truth ? 1.0 : logDensity[l] == truth ? 0.5 : 0.0;
            }

            // The mid-rank among the L + 1 values: uniform on (0, 1) up to ½ / (L + 1) for the true posterior, where
            // K / L would overstate every coverage by up to 1 / L.
            pairLevels[i] = (denser + 0.5) / (drawsPerPair + 1);
        }

        var coverage = new double[alphas.Length];
        for (int a = 0; a < alphas.Length; a++)
        {
            coverage[a] = (double)pairLevels.Count(level => level <= alphas[a]) / pairs;
        }

        return new CoverageReport(alphas, coverage, pairLevels, drawsPerPair);
    }

    /// <summary>The mean of log q(θ* | x) over held-out pairs, with its standard error.</summary>
    /// <param name="posterior">The posterior to score.</param>
    /// <param name="theta">N × Dimension true parameters θ*.</param>
    /// <param name="observations">N × ObservationDimension observations, row i simulated at θ* row i.</param>
    /// <returns>The mean, its standard error and N.</returns>
    /// <exception cref="ArgumentException">The shapes do not match, or fewer than 2 pairs.</exception>
    public static LogLikelihoodEstimate MeanLogLikelihood<T>(IPosterior<T> posterior, T[,] theta, T[,] observations)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int pairs = CheckPairs(posterior, theta, observations, drawsPerPair: 1);
        int d = posterior.Dimension;
        int k = posterior.ObservationDimension;
        var values = new double[pairs];
        Span<T> one = stackalloc T[1];
        for (int i = 0; i < pairs; i++)
        {
            posterior.DensityLn(Batch.AsSpan(observations).Slice(i * k, k), Batch.AsSpan(theta).Slice(i * d, d), one);
            values[i] = double.CreateTruncating(one[0]);
        }

        double mean = values.Average();
        double variance = values.Sum(v => (v - mean) * (v - mean)) / (pairs - 1);
        return new LogLikelihoodEstimate(mean, Math.Sqrt(variance / pairs), pairs);
    }

    // Pearson's chi-square of coordinate j's ranks binned into equal runs of the L + 1 rank values.
    private static RankUniformity UniformityTest(int[] ranks, int j, int d, int pairs, int drawsPerPair, int bins)
    {
        int values = drawsPerPair + 1;
        var counts = new int[bins];
        for (int i = 0; i < pairs; i++)
        {
            counts[(int)((long)ranks[(i * d) + j] * bins / values)]++;
        }

        // When L + 1 is not a multiple of the bins, bins hold different numbers of rank values; expect accordingly.
        var expected = new double[bins];
        for (int r = 0; r < values; r++)
        {
            expected[(int)((long)r * bins / values)] += (double)pairs / values;
        }

        double chiSquare = 0;
        for (int b = 0; b < bins; b++)
        {
            chiSquare += (counts[b] - expected[b]) * (counts[b] - expected[b]) / expected[b];
        }

        int dof = bins - 1;
        // The upper tail directly, not 1 − CDF, so that small p-values keep their digits.
        double p = SpecialFunctions.GammaUpperRegularized(dof / 2.0, chiSquare / 2.0);
        return new RankUniformity(j, counts, expected, chiSquare, dof, p);
    }

    private static int CheckPairs<T>(IPosterior<T> posterior, T[,] theta, T[,] observations, int drawsPerPair)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(posterior);
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(observations);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(drawsPerPair);
        if (theta.GetLength(1) != posterior.Dimension)
        {
            throw new ArgumentException($"theta has {theta.GetLength(1)} columns but the posterior has dimension {posterior.Dimension}.", nameof(theta));
        }

        if (observations.GetLength(1) != posterior.ObservationDimension)
        {
            throw new ArgumentException(
                $"observations have {observations.GetLength(1)} columns but the posterior takes {posterior.ObservationDimension}.", nameof(observations));
        }

        if (observations.GetLength(0) != theta.GetLength(0))
        {
            throw new ArgumentException(
                $"theta has {theta.GetLength(0)} rows but observations {observations.GetLength(0)}; each θ* needs its observation.", nameof(observations));
        }

        if (theta.GetLength(0) < 2)
        {
            throw new ArgumentException($"theta has {theta.GetLength(0)} rows; a calibration check needs at least 2 pairs.", nameof(theta));
        }

        Batch.CheckFinite<T>(Batch.AsSpan(theta), posterior.Dimension, nameof(theta), "calibration checks");
        return theta.GetLength(0);
    }

    private static double[] CheckLevels(IReadOnlyList<double> levels)
    {
        if (levels.Count == 0)
        {
            throw new ArgumentException("levels is empty.", nameof(levels));
        }

        for (int a = 0; a < levels.Count; a++)
        {
            if (!(levels[a] > 0 && levels[a] < 1) || (a > 0 && levels[a] <= levels[a - 1]))
            {
                throw new ArgumentException(
                    FormattableString.Invariant($"levels[{a}] is {levels[a]}; levels must lie in (0, 1) and increase."), nameof(levels));
            }
        }

        return [.. levels];
    }
}
