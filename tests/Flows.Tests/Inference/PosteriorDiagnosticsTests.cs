using Flows.Inference;

namespace Flows.Tests.Inference;

// Known answers from the conjugate linear-Gaussian task, whose exact posterior stands in for an estimator: the exact
// posterior must pass every check, and one half as wide as the truth (over-confident) must fail them, so each check can fail.
public sealed class PosteriorDiagnosticsTests
{
    private static readonly LinearGaussianTask Task = new(dimension: 2);

    [Fact]
    public void SimulationBasedCalibration_OfTheExactPosterior_HasUniformRanks()
    {
        (double[,] theta, double[,] x) = Pairs(500, seed: 1);

        SimulationBasedCalibrationReport report = PosteriorDiagnostics.SimulationBasedCalibration(Task.ExactPosterior(), theta, x, 99, new Random(2));

        Assert.True(report.IsUniform(0.01), report.ToString());
    }

    [Fact]
    public void SimulationBasedCalibration_OfAnOverconfidentPosterior_RejectsUniformity()
    {
        (double[,] theta, double[,] x) = Pairs(500, seed: 1);

        SimulationBasedCalibrationReport report = PosteriorDiagnostics.SimulationBasedCalibration(Task.ExactPosterior(scale: 0.5), theta, x, 99, new Random(2));

        Assert.False(report.IsUniform(0.01), report.ToString());
        Assert.True(report.MinimumPValue < 1e-10, report.ToString());
        // Over-confidence puts θ* below or above every draw far more often than 1 in L + 1: a U shape.
        IReadOnlyList<int> counts = report.Coordinates[0].BinCounts;
        Assert.True(counts[0] > 2 * report.Coordinates[0].ExpectedCounts[0] && counts[^1] > 2 * report.Coordinates[0].ExpectedCounts[^1], report.ToString());
    }

    [Fact]
    public void SimulationBasedCalibration_RanksCountTheDrawsBelowTheTruth_AndTheTestIsPearsons()
    {
        // Every draw equals x = 1; θ* alternates 0 (rank 0) and 2 (rank L = 9). 40 pairs in 5 bins of 2 rank values:
        // counts [20, 0, 0, 0, 20] against 8 each, χ² = 2 · 12² / 8 + 3 · 8 = 60 on 4 df, p = e^−30 (1 + 30).
        var theta = new double[40, 1];
        var x = new double[40, 1];
        for (int i = 0; i < 40; i++)
        {
            theta[i, 0] = 2 * (i % 2);
            x[i, 0] = 1;
        }

        SimulationBasedCalibrationReport report = PosteriorDiagnostics.SimulationBasedCalibration(new GaussianPosterior(1, 1, 0), theta, x, 9, new Random(1), binCount: 5);

        Assert.Equal(Enumerable.Range(0, 40).Select(i => 9 * (i % 2)), report.Ranks(0));
        Assert.Equal([20, 0, 0, 0, 20], report.Coordinates[0].BinCounts);
        Assert.Equal(60, report.Coordinates[0].ChiSquare, 1e-12);
        Assert.Equal(4, report.Coordinates[0].DegreesOfFreedom);
        Assert.Equal(31 * Math.Exp(-30), report.Coordinates[0].PValue, 1e-24);
    }

    [Fact]
    public void SimulationBasedCalibration_ExpectsUnequalBinsInProportion()
    {
        // L + 1 = 5 rank values in 2 bins: ranks 0–2 in the first (3/5 of the mass), 3–4 in the second.
        (double[,] theta, double[,] x) = Pairs(20, seed: 3);

        SimulationBasedCalibrationReport report = PosteriorDiagnostics.SimulationBasedCalibration(Task.ExactPosterior(), theta, x, 4, new Random(2), binCount: 2);

        Assert.Equal([12.0, 8.0], report.Coordinates[1].ExpectedCounts);
    }

    [Fact]
    public void ExpectedCoverage_OfTheExactPosterior_IsNominal()
    {
        (double[,] theta, double[,] x) = Pairs(1000, seed: 4);

        CoverageReport report = PosteriorDiagnostics.ExpectedCoverage(Task.ExactPosterior(), theta, x, 200, new Random(5));

        // Binomial noise with 1000 pairs: at most 0.016 per level, 0.047 at three standard errors.
        Assert.True(report.IsCalibrated(0.047), report.ToString());
    }

    [Fact]
    public void ExpectedCoverage_OfAnOverconfidentPosterior_FollowsItsClosedForm()
    {
        // In 2-D, with q half as wide as the truth, θ*'s highest-density level is 1 − U⁴ for U uniform (since
        // exp(−r²/2σ²) is uniform), so the coverage at α is 1 − (1 − α)^¼: 0.16 at α = 0.5, far below nominal.
        (double[,] theta, double[,] x) = Pairs(1000, seed: 4);

        CoverageReport report = PosteriorDiagnostics.ExpectedCoverage(Task.ExactPosterior(scale: 0.5), theta, x, 200, new Random(5));

        for (int a = 0; a < report.Levels.Count; a++)
        {
            Assert.Equal(1 - Math.Pow(1 - report.Levels[a], 0.25), report.Coverage[a], 0.05);
        }

        Assert.True(report.MaximumShortfall > 0.3, report.ToString());
        Assert.False(report.IsCalibrated(0.05));
    }

    [Fact]
    public void MeanLogLikelihood_OfTheExactPosterior_IsItsNegativeEntropy()
    {
        // E[log p(θ | x)] = −(d / 2)(log 2πσ² + 1) for the exact posterior N(x / 2, σ² I).
        (double[,] theta, double[,] x) = Pairs(2000, seed: 6);
        double sd = Task.PosteriorStandardDeviation;

        LogLikelihoodEstimate estimate = PosteriorDiagnostics.MeanLogLikelihood(Task.ExactPosterior(), theta, x);

        Assert.Equal(2000, estimate.Pairs);
        Assert.Equal(-(Math.Log(2 * Math.PI * sd * sd) + 1), estimate.Mean, 3 * estimate.StandardError);
        Assert.InRange(estimate.StandardError, 0.015, 0.04); // sd of log p is 1 for d = 2: 1 / √2000 = 0.022
    }

    [Fact]
    public void Diagnostics_ThrowForMismatchedPairs()
        => Assert.Throws<ArgumentException>("observations", () =>
            PosteriorDiagnostics.ExpectedCoverage(Task.ExactPosterior(), new double[10, 2], new double[9, 2], 10, new Random(1)));

    [Fact]
    public void Diagnostics_ThrowForAThetaOfTheWrongWidth()
        => Assert.Throws<ArgumentException>("theta", () => PosteriorDiagnostics.MeanLogLikelihood(Task.ExactPosterior(), new double[10, 3], new double[10, 2]));

    [Fact]
    public void SimulationBasedCalibration_ThrowsForMoreBinsThanRanks()
        => Assert.Throws<ArgumentOutOfRangeException>("binCount", () =>
            PosteriorDiagnostics.SimulationBasedCalibration(Task.ExactPosterior(), new double[10, 2], new double[10, 2], 9, new Random(1), binCount: 11));

    [Fact]
    public void ExpectedCoverage_ThrowsForLevelsOutOfOrder()
        => Assert.Throws<ArgumentException>("levels", () =>
            PosteriorDiagnostics.ExpectedCoverage(Task.ExactPosterior(), new double[10, 2], new double[10, 2], 9, new Random(1), [0.5, 0.2]));

    private static (double[,] Theta, double[,] X) Pairs(int count, int seed)
        => NeuralPosteriorEstimation.Simulate(Task.Prior, Task.Simulate, count, new Random(seed));
}
