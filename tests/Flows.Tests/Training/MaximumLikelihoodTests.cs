using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Tests.Testing;
using Flows.Training;
using MathNet.Numerics.LinearAlgebra;

namespace Flows.Tests.Training;

public sealed class MaximumLikelihoodTests
{
    // Progress<T> posts to the thread pool; the tests need the reports synchronously, in order.
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    // A decaying learning rate as successive fits, each restoring its best epoch: Fit has no schedule of its own.
    private static readonly (double LearningRate, int Epochs)[] Schedule = [(0.05, 150), (0.01, 150), (0.002, 150), (4e-4, 150), (1e-4, 100)];

    private static void FitWithSchedule(TransformedDistribution<double> flow, double[,] data, int batchSize)
    {
        foreach ((double learningRate, int epochs) in Schedule)
        {
            flow.Fit(data, new FitOptions
            {
                Epochs = epochs,
                BatchSize = batchSize,
                ValidationFraction = 0,
                Patience = epochs,
                Optimizer = new AdamOptions { LearningRate = learningRate },
            });
        }
    }

    private static double[,] Draw(IBijector<double> truth, int rows, int seed)
        => truth.Forward(TestData.StandardNormal(rows, truth.Dimension, seed)).Output;

    [Fact]
    public void Fit_LowerTriangularAffine_RecoversTheSampleMeanAndCovariance()
    {
        const int d = 3;
        const int n = 20_000;
        var truth = new LowerTriangularAffine<double>(d);
        double[] shift = [1, -2, 0.5];
        double[] packed = [0.3, 0.8, -0.2, -0.5, 0.4, 0.1];
        shift.CopyTo(truth.Shift.Values, 0);
        packed.CopyTo(truth.PackedScale.Values, 0);
        double[,] data = Draw(truth, n, seed: 1);

        var model = new LowerTriangularAffine<double>(d);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(d), model);
        FitWithSchedule(flow, data, batchSize: n);

        // The maximum-likelihood estimate of a normal is the sample mean and the 1/n sample covariance.
        Matrix<double> x = Matrix<double>.Build.DenseOfArray(data);
        Vector<double> mean = x.ColumnSums() / n;
        Matrix<double> centered = x - Matrix<double>.Build.Dense(n, d, (i, j) => mean[j]);
        Matrix<double> covariance = centered.TransposeThisAndMultiply(centered) / n;
        Matrix<double> l = Matrix<double>.Build.DenseOfArray(model.GetScaleMatrix());
        Matrix<double> fitted = l * l.Transpose();

        for (int i = 0; i < d; i++)
        {
            Assert.True(Math.Abs(model.Shift.Values[i] - mean[i]) <= Tolerance.MaximumLikelihoodMoments, $"μ[{i}] = {model.Shift.Values[i]:R}, sample mean {mean[i]:R}");
            for (int j = 0; j < d; j++)
            {
                Assert.True(Math.Abs(fitted[i, j] - covariance[i, j]) <= Tolerance.MaximumLikelihoodMoments, $"Σ[{i}, {j}] = {fitted[i, j]:R}, sample covariance {covariance[i, j]:R}");
            }
        }
    }

    [Fact]
    public void Fit_LowerTriangularAffine_ReachesTheEntropyWithinThreeStandardErrors()
    {
        const int d = 3;
        const int n = 20_000;
        var truth = new LowerTriangularAffine<double>(d);
        double[] packed = [0.3, 0.8, -0.2, -0.5, 0.4, 0.1];
        packed.CopyTo(truth.PackedScale.Values, 0);
        double[,] data = Draw(truth, n, seed: 2);

        var flow = new TransformedDistribution<double>(new StandardNormal<double>(d), new LowerTriangularAffine<double>(d));
        FitWithSchedule(flow, data, batchSize: n);

        // H = ½ log det(2πe Σ) = ½ d log(2πe) + Σᵢ log Lᵢᵢ; the NLL of n draws has standard error √(d/2)/√n.
        double entropy = (0.5 * d * Math.Log(2 * Math.PI * Math.E)) + packed[0] + packed[2] + packed[5];
        double negativeLogLikelihood = -flow.DensityLn(data).Average();
        double standardError = Math.Sqrt(d / 2.0) / Math.Sqrt(n);
        Assert.True(Math.Abs(negativeLogLikelihood - entropy) <= 3 * standardError,
            $"NLL {negativeLogLikelihood:R}, entropy {entropy:R}, 3 SE = {3 * standardError:G3}");
    }

    [Fact]
    public void Fit_ChainOfSinhArcsinhAndLowerTriangularAffine_RecoversTheParametersOfItsData()
    {
        // data = LowerTriangularAffine(SinhArcsinh(z)): the sinh-arcsinh sits next to the base, as Chain orders its parts.
        const int n = 20_000;
        var truthSinhArcsinh = new SinhArcsinh<double>(2);
        var truthAffine = new LowerTriangularAffine<double>(2);
        var truth = new Chain<double>(truthSinhArcsinh, truthAffine);
        double[][] expected = [[0.6, -0.4], [-0.3, 0.3], [1, -1], [0.2, 0.5, -0.3]];
        for (int p = 0; p < truth.Parameters.Count; p++)
        {
            expected[p].CopyTo(truth.Parameters[p].Values, 0);
        }

        double[,] data = Draw(truth, n, seed: 3);
        var model = new Chain<double>(new SinhArcsinh<double>(2), new LowerTriangularAffine<double>(2));
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), model);
        FitWithSchedule(flow, data, batchSize: n);

        for (int p = 0; p < model.Parameters.Count; p++)
        {
            for (int k = 0; k < expected[p].Length; k++)
            {
                double actual = model.Parameters[p].Values[k];
                Assert.True(Math.Abs(actual - expected[p][k]) <= Tolerance.ParameterRecovery,
                    $"{model.Parameters[p].Name}[{k}] = {actual:R}, truth {expected[p][k]}");
            }
        }
    }

    private static TransformedDistribution<double> SmallFlow(int seed = 4)
        => new(new StandardNormal<double>(2), BijectorCases.Randomized(
            new Chain<double>(new SinhArcsinh<double>(2), new LowerTriangularAffine<double>(2)), seed, scale: 0.2));

    // Issue 13: with the budget and the patience counted in epochs alone, a fit on a 100-row table (one step an epoch)
    // ran at most 100 steps and stopped ten steps after its best check, long before a flow has learned the table.
    [Fact]
    public void Fit_OnASmallTable_ByDefault_RunsUntilAThousandStepsPassWithoutImprovement()
    {
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(2, transforms: 1, hiddenFeatures: [8], seed: 0);

        FitReport report = flow.Fit(MoonsSample(100), new FitOptions { Seed = 1 }); // 90 training rows: one step an epoch

        Assert.True(report.Status is FitStatus.EarlyStopped or FitStatus.Completed, $"{report}");
        Assert.Equal(report.Status == FitStatus.EarlyStopped ? report.BestEpoch + 1000 : 20_000, report.History.Count);
        Assert.True(report.BestEpoch > 100, $"the best check came at step {report.BestEpoch}, within the old budget of 100 epochs");
    }

    // Issue 13: 10 % of a small table is a handful of rows, too few to choose the best check by; the default holds out
    // 20 % of small tables, 500 rows in between, 10 % of large ones, with no jump at the joins.
    [Theory]
    [InlineData(100, 20)]
    [InlineData(2_500, 500)]
    [InlineData(4_000, 500)]
    [InlineData(5_000, 500)]
    [InlineData(20_000, 2_000)]
    public void ValidationRows_ByDefault_AreAFifthOfASmallTable_AndATenthOfALargeOne(int rows, int expected)
    {
        Assert.Equal(expected, new FitOptions().ValidationRowsFor(rows));
        Assert.Equal((int)Math.Round(rows * 0.3), new FitOptions { ValidationFraction = 0.3 }.ValidationRowsFor(rows));
    }

    private static double[,] MoonsSample(int rows) => TestData.Rows(TestData.LoadCsv("moons2d_train.csv"), 0, rows);

    private static double[][] Snapshot(TransformedDistribution<double> flow) => [.. flow.Parameters.Select(p => (double[])p.Values.Clone())];

    private static void AssertParametersEqual(double[][] expected, TransformedDistribution<double> flow, string because)
    {
        for (int p = 0; p < expected.Length; p++)
        {
            AssertClose.Bitwise(expected[p], flow.Parameters[p].Values, $"{because}, {flow.Parameters[p].Name}");
        }
    }

    [Fact]
    public void Fit_RejectsEmptyData()
    {
        var exception = Assert.Throws<ArgumentException>("data", () => SmallFlow().Fit(new double[0, 2]));
        Assert.Contains("no rows", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fit_RejectsTheWrongWidth_NamingTheShapes()
    {
        var exception = Assert.Throws<ArgumentException>("data", () => SmallFlow().Fit(new double[10, 3]));
        Assert.Contains("3 columns", exception.Message, StringComparison.Ordinal);
        Assert.Contains("Dimension 2", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Fit_RejectsNonFiniteData_NamingTheRow(double value)
    {
        double[,] data = MoonsSample(50);
        data[37, 1] = value;
        TransformedDistribution<double> flow = SmallFlow();
        double[][] before = Snapshot(flow);

        var exception = Assert.Throws<ArgumentException>("data", () => flow.Fit(data));

        Assert.Contains("data[37, 1]", exception.Message, StringComparison.Ordinal);
        AssertParametersEqual(before, flow, "parameters after a rejected fit");
    }

    [Fact]
    public void Fit_WhenTheLossBecomesNonFinite_ThrowsAndRestoresTheBestParameters()
    {
        // Data with a spread of 1e-4 pull the log-scale down; a learning rate of 1e3 sends it to −1000 in one step, so
        // that exp(−s) overflows and the next batch's loss is infinite.
        var bijector = new Affine<double>(1);
        bijector.Shift.Values[0] = 0.1;
        bijector.LogScale.Values[0] = 0.2;
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(1), bijector);
        double[,] data = TestData.StandardNormal(100, 1, seed: 5, scale: 1e-4);
        double[][] before = Snapshot(flow);

        var exception = Assert.Throws<InvalidOperationException>(() => flow.Fit(data, new FitOptions
        {
            BatchSize = 10,
            Optimizer = new AdamOptions { LearningRate = 1e3 },
            ThrowOnDivergence = true,
        }));

        Assert.Contains("epoch 1", exception.Message, StringComparison.Ordinal);
        AssertParametersEqual(before, flow, "parameters after divergence in the first epoch");
    }

    [Fact]
    public void Fit_WhenCancelledBeforeItStarts_ThrowsAndLeavesTheParameters()
    {
        TransformedDistribution<double> flow = SmallFlow();
        double[][] before = Snapshot(flow);
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => flow.Fit(MoonsSample(200), cancellationToken: cancellation.Token));

        AssertParametersEqual(before, flow, "parameters after cancellation");
    }

    [Fact]
    public void Fit_WhenCancelledMidway_ThrowsAndRestoresTheBestEpochSoFar()
    {
        TransformedDistribution<double> flow = SmallFlow();
        var reports = new List<(EpochReport Report, double[][] Parameters)>();
        using var cancellation = new CancellationTokenSource();
        var options = new FitOptions
        {
            Epochs = 50,
            BatchSize = 64,
            Optimizer = new AdamOptions { LearningRate = 0.02 },
            Progress = new SynchronousProgress<EpochReport>(r =>
            {
                reports.Add((r, Snapshot(flow)));
                if (r.Epoch == 4)
                {
                    cancellation.Cancel();
                }
            }),
        };

        Assert.ThrowsAny<OperationCanceledException>(() => flow.Fit(MoonsSample(1000), options, cancellation.Token));

        Assert.Equal(4, reports.Count);
        (EpochReport _, double[][] best) = reports.MinBy(r => r.Report.ValidationLoss!.Value);
        AssertParametersEqual(best, flow, "parameters after cancellation");
    }

    [Fact]
    public void Fit_WithTheSameSeed_GivesBitIdenticalParameters()
    {
        var options = new FitOptions { Epochs = 5, BatchSize = 50, Seed = 9, Optimizer = new AdamOptions { LearningRate = 0.02 } };
        TransformedDistribution<double> first = SmallFlow();
        TransformedDistribution<double> second = SmallFlow();

        FitReport firstReport = first.Fit(MoonsSample(500), options);
        second.Fit(MoonsSample(500), options);

        Assert.Equal(5, firstReport.History.Count);
        AssertParametersEqual(Snapshot(first), second, "second fit");
    }

    [Fact]
    public void Fit_WithDifferentSeeds_GivesDifferentParameters()
    {
        TransformedDistribution<double> first = SmallFlow();
        TransformedDistribution<double> second = SmallFlow();

        first.Fit(MoonsSample(500), new FitOptions { Epochs = 3, BatchSize = 50, Seed = 1 });
        second.Fit(MoonsSample(500), new FitOptions { Epochs = 3, BatchSize = 50, Seed = 2 });

        Assert.NotEqual(first.Parameters[0].Values, second.Parameters[0].Values);
    }

    [Fact]
    public void Fit_ReportsProgressOncePerEpoch_InOrder()
    {
        var reports = new List<EpochReport>();
        var options = new FitOptions { Epochs = 7, Patience = 100, BatchSize = 100, Progress = new SynchronousProgress<EpochReport>(reports.Add) };

        FitReport report = SmallFlow().Fit(MoonsSample(400), options);

        Assert.Equal(7, reports.Count);
        Assert.Equal(Enumerable.Range(1, 7), reports.Select(r => r.Epoch));
        Assert.Equal(report.History, reports);
        Assert.All(reports, r => Assert.True(double.IsFinite(r.TrainLoss) && r.ValidationLoss is double v && double.IsFinite(v)));
    }

    [Fact]
    public void Fit_WithEarlyStopping_RestoresTheBestEpoch()
    {
        // A large learning rate on small batches makes the validation loss wander, so patience runs out.
        TransformedDistribution<double> flow = SmallFlow();
        var snapshots = new List<double[][]>();
        var options = new FitOptions
        {
            Epochs = 200,
            Patience = 3,
            BatchSize = 16,
            ValidationFraction = 0.2,
            Optimizer = new AdamOptions { LearningRate = 0.2 },
            Progress = new SynchronousProgress<EpochReport>(_ => snapshots.Add(Snapshot(flow))),
        };

        FitReport report = flow.Fit(MoonsSample(400), options);

        Assert.True(report.StoppedEarly, $"precondition: the fit stopped early ({report})");
        int best = report.History.Select((r, i) => (r.ValidationLoss!.Value, i)).Min().i + 1;
        Assert.Equal(best, report.BestEpoch);
        Assert.Equal(report.History[best - 1].ValidationLoss, report.BestLoss);
        Assert.Equal(report.BestEpoch + options.Patience, report.History.Count);
        AssertParametersEqual(snapshots[report.BestEpoch - 1], flow, $"parameters after stopping at epoch {report.History.Count}");
    }

    [Fact]
    public void Fit_KeepsTheLastEpochWhenEveryEpochImproves()
    {
        TransformedDistribution<double> flow = SmallFlow();
        var snapshots = new List<double[][]>();
        var options = new FitOptions
        {
            Epochs = 5,
            BatchSize = 50,
            Optimizer = new AdamOptions { LearningRate = 0.005 },
            Progress = new SynchronousProgress<EpochReport>(_ => snapshots.Add(Snapshot(flow))),
        };

        FitReport report = flow.Fit(MoonsSample(1000), options);

        Assert.False(report.StoppedEarly);
        Assert.Equal(5, report.BestEpoch);
        AssertParametersEqual(snapshots[^1], flow, "parameters after the last epoch");
    }

    public static TheoryData<string> InvalidOptions => ["Epochs", "BatchSize", "Patience", "ValidationFraction", "MaxGradientNorm", "LearningRate"];

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void Fit_RejectsInvalidOptions_NamingTheSetting(string setting)
    {
        FitOptions options = setting switch
        {
            "Epochs" => new FitOptions { Epochs = 0 },
            "BatchSize" => new FitOptions { BatchSize = -1 },
            "Patience" => new FitOptions { Patience = 0 },
            "ValidationFraction" => new FitOptions { ValidationFraction = 1 },
            "MaxGradientNorm" => new FitOptions { MaxGradientNorm = 0 },
            _ => new FitOptions { Optimizer = new AdamOptions { LearningRate = -1 } },
        };

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => SmallFlow().Fit(MoonsSample(20), options));
        Assert.Equal(setting, exception.ParamName);
    }

    [Fact]
    public void Fit_WithoutAValidationSplit_WhenTheLossBecomesNonFinite_RestoresParametersWithAFiniteLoss()
    {
        // One batch per epoch: epoch 1's step sends the log-scale to −1000, epoch 2's loss is infinite. The parameters
        // restored must be ones whose loss was measured, not the ones the diverging step produced.
        var bijector = new Affine<double>(1);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(1), bijector);
        double[,] data = TestData.StandardNormal(100, 1, seed: 5, scale: 1e-4);
        double[][] before = Snapshot(flow);

        Assert.Throws<InvalidOperationException>(() => flow.Fit(data, new FitOptions
        {
            Epochs = 3,
            BatchSize = 100,
            ValidationFraction = 0,
            Optimizer = new AdamOptions { LearningRate = 1e3 },
            ThrowOnDivergence = true,
        }));

        Assert.All(flow.DensityLn(data), v => Assert.True(double.IsFinite(v), $"log-density {v} after restoring"));
        AssertParametersEqual(before, flow, "parameters after divergence");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.25)]
    public void BestLossStandardError_IsTheStandardErrorOfTheWatchedRowsMeanNegativeLogLikelihood(double validationFraction)
    {
        // With a split the watched rows are the validation rows, otherwise the training rows; both are some subset of the
        // data, so the oracle scores each subset that has the best loss's mean and checks its standard error.
        double[,] data = TestData.StandardNormal(300, 2, seed: 3, scale: 2);
        var flow = MaskedAutoregressiveFlow.Create<double>(2, transforms: 1, hiddenFeatures: [8], seed: 0);

        FitReport report = flow.Fit(data, new FitOptions { Epochs = 3, ValidationFraction = validationFraction, Seed = 1 });

        double[] logDensity = flow.DensityLn(data);
        int watched = validationFraction == 0 ? 300 : (int)(300 * validationFraction);
        Assert.True(report.BestLossStandardError > 0, $"standard error {report.BestLossStandardError}");
        if (validationFraction == 0)
        {
            double mean = logDensity.Average();
            double sd = Math.Sqrt(logDensity.Sum(v => (v - mean) * (v - mean)) / (watched - 1));
            Assert.Equal(-mean, report.BestLoss, 1e-12);
            Assert.Equal(sd / Math.Sqrt(watched), report.BestLossStandardError, 1e-12);
        }
        else
        {
            // The whole data's spread bounds the subset's only loosely; the figure must be of the order of sd / √rows.
            double mean = logDensity.Average();
            double sd = Math.Sqrt(logDensity.Sum(v => (v - mean) * (v - mean)) / 299);
            Assert.InRange(report.BestLossStandardError, 0.5 * sd / Math.Sqrt(watched), 2 * sd / Math.Sqrt(watched));
        }

        Assert.Equal(report.Checks.Single(c => c.Epoch == report.BestEpoch && c.Step == report.BestStep).StandardError, report.BestLossStandardError);
    }
}
