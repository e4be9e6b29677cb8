using Flows.Bijectors;
using Flows.Distributions;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Training;

public sealed class ModelSelectionTests
{
    // A candidate that ignores its training rows: the standard normal, whose held-out log-densities are known exactly.
    private static ModelCandidate<double> StandardNormalCandidate(string name = "StandardNormal")
        => new(name, (data, _, _) => new TransformedDistribution<double>(new StandardNormal<double>(data.GetLength(1)), new Affine<double>(data.GetLength(1))));

    // Rows of N(μ, Σ) with μ and Σ far from the standard normal's.
    private static double[,] ShiftedData(int rows, int seed)
    {
        double[,] x = TestData.StandardNormal(rows, 2, seed);
        for (int i = 0; i < rows; i++)
        {
            x[i, 0] = (3 * x[i, 0]) + 4;
            x[i, 1] = (0.5 * x[i, 0]) + (0.2 * x[i, 1]);
        }

        return x;
    }

    [Fact]
    public void CrossValidate_ScoresEveryRowOnce_MeanAndStandardErrorOverAllRows()
    {
        double[,] data = TestData.StandardNormal(23, 2, seed: 1);

        ModelSelectionReport<double> report = ModelSelection.CrossValidate(data, [StandardNormalCandidate()], new ModelSelectionOptions { Folds = 4 });

        // A model that ignores the training rows scores every row by the standard normal, whichever fold holds it.
        double[] expected = StandardNormalLogDensity(data);
        double mean = expected.Average();
        double standardError = Math.Sqrt(expected.Sum(v => (v - mean) * (v - mean)) / (expected.Length - 1) / expected.Length);
        CandidateScore score = Assert.Single(report.Scores);
        AssertClose.Relative(mean, score.MeanLogLikelihood, Tolerance.ClosedForm, "mean");
        AssertClose.Relative(standardError, score.StandardError, Tolerance.ClosedForm, "standard error");
        Assert.Equal(4, score.FoldMeans.Count);
        AssertClose.Relative(mean, score.FoldMeans.Zip([6, 6, 6, 5]).Sum(p => p.First * p.Second) / 23, Tolerance.ClosedForm, "folds of 6, 6, 6 and 5 rows");
    }

    [Fact]
    public void CrossValidate_FitsEachFoldWithoutItsOwnRows()
    {
        double[,] data = ShiftedData(40, seed: 2);
        var seen = new List<int>();
        var counting = new ModelCandidate<double>("Counting", (train, seed, _) =>
        {
            seen.Add(train.GetLength(0));
            return MultivariateNormal.Fit(train);
        });

        ModelSelection.CrossValidate(data, [counting], new ModelSelectionOptions { Folds = 5 });

        // Five fits on 32 rows each, then the refit on all 40.
        Assert.Equal([32, 32, 32, 32, 32, 40], seen);
    }

    [Fact]
    public void CrossValidate_ChoosesTheBestMean_AndRefitsItToAllTheRows()
    {
        double[,] data = ShiftedData(60, seed: 3);

        ModelSelectionReport<double> report = ModelSelection.CrossValidate(data, [StandardNormalCandidate(), ModelCandidate.Gaussian<double>()]);

        Assert.Equal("Gaussian", report.Chosen.Name);
        Assert.Equal(0.0, report.Chosen.DifferenceFromBest);
        Assert.True(report.Scores[0].DifferenceFromBest < -3 * report.Scores[0].DifferenceStandardError, report.ToString());
        Assert.NotNull(report.Model);
        double[,] x = ShiftedData(10, seed: 4);
        AssertClose.Bitwise(MultivariateNormal.Fit(data).DensityLn(x), report.Model.DensityLn(x));
    }

    [Fact]
    public void CrossValidate_PreferSimpler_ChoosesTheFirstCandidateWithinOneStandardErrorOfTheBest()
    {
        // On standard normal rows the standard normal itself and the fitted Gaussian score within noise of each other;
        // a model listed first that is clearly worse is passed over.
        double[,] data = TestData.StandardNormal(40, 2, seed: 5);
        var shifted = new ModelCandidate<double>("Shifted", (train, _, _) =>
        {
            var affine = new Affine<double>(2);
            affine.Parameters[0].Values[0] = 3;
            return new TransformedDistribution<double>(new StandardNormal<double>(2), affine);
        });
        ModelCandidate<double>[] candidates = [shifted, StandardNormalCandidate(), ModelCandidate.Gaussian<double>()];

        ModelSelectionReport<double> best = ModelSelection.CrossValidate(data, candidates, new ModelSelectionOptions { RefitBest = false });
        ModelSelectionReport<double> simpler = ModelSelection.CrossValidate(data, candidates, new ModelSelectionOptions { RefitBest = false, PreferSimpler = true });

        CandidateScore expected = best.Scores.First(s => s.DifferenceFromBest >= -s.DifferenceStandardError);
        Assert.Equal(best.Scores.MaxBy(s => s.MeanLogLikelihood)!.Name, best.Chosen.Name);
        Assert.Equal("StandardNormal", simpler.Chosen.Name);
        Assert.Equal(expected.Name, simpler.Chosen.Name);
        Assert.Null(simpler.Model);
    }

    [Fact]
    public void CrossValidate_WithTheDefaultCandidates_ComparesTheGaussianMafAndNsf()
    {
        double[,] data = ShiftedData(45, seed: 6);

        ModelSelectionReport<double> report = ModelSelection.CrossValidate(data, options: new ModelSelectionOptions { Folds = 3, RefitBest = false });

        Assert.Equal(["Gaussian", "MAF", "NSF"], report.Scores.Select(s => s.Name));
        Assert.All(report.Scores, s => Assert.True(double.IsFinite(s.MeanLogLikelihood) && double.IsFinite(s.StandardError), report.ToString()));
    }

    [Fact]
    public void ToString_ListsEveryCandidate_AndMarksTheChosenOne()
    {
        ModelSelectionReport<double> report = ModelSelection.CrossValidate(ShiftedData(30, seed: 7), [StandardNormalCandidate(), ModelCandidate.Gaussian<double>()],
            new ModelSelectionOptions { RefitBest = false });

        string[] lines = report.ToString().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("StandardNormal: ", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("(chosen)", lines[1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(31)]
    public void CrossValidate_ThrowsForFoldsOutOfRange(int folds)
        => Assert.Throws<ArgumentOutOfRangeException>("Folds", () => ModelSelection.CrossValidate(ShiftedData(30, seed: 8), [ModelCandidate.Gaussian<double>()],
            new ModelSelectionOptions { Folds = folds }));

    [Fact]
    public void CrossValidate_ThrowsForNoCandidates_OrTwoWithOneName()
    {
        double[,] data = ShiftedData(30, seed: 9);
        Assert.Throws<ArgumentException>("candidates", () => ModelSelection.CrossValidate(data, Array.Empty<ModelCandidate<double>>()));
        Assert.Throws<ArgumentException>("candidates", () => ModelSelection.CrossValidate(data, [ModelCandidate.Gaussian<double>(), ModelCandidate.Gaussian<double>()]));
    }

    [Fact]
    public void CrossValidate_ThrowsForANonFiniteValue_NamingIt()
    {
        double[,] data = ShiftedData(30, seed: 10);
        data[7, 1] = double.NaN;
        var e = Assert.Throws<ArgumentException>("data", () => ModelSelection.CrossValidate(data, [ModelCandidate.Gaussian<double>()]));
        Assert.Contains("data[7, 1]", e.Message, StringComparison.Ordinal);
    }

    private static double[] StandardNormalLogDensity(double[,] x)
        => [.. Enumerable.Range(0, x.GetLength(0)).Select(i =>
            -0.5 * ((x.GetLength(1) * Math.Log(2 * Math.PI)) + Enumerable.Range(0, x.GetLength(1)).Sum(j => x[i, j] * x[i, j])))];
}
