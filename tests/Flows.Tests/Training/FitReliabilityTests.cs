using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Training;

/// <summary>
/// What a maximum-likelihood fit guarantees whatever its settings: never a model worse than its start on the loss it
/// watches, divergence detected and reported, advice that names the data at fault.
/// </summary>
public sealed class FitReliabilityTests
{
    public static TheoryData<string> Presets => ["MAF", "NSF"];

    private static double[,] Moons(int rows) => TestData.Rows(TestData.LoadCsv("moons2d_train.csv"), 0, rows);

    // The plain chains: these tests are about the steps, the checks and the data-range advice of a flow whose start is
    // its initial parameters. A Gaussian start is data-initialized by Fit itself, so its start is tested in PresetTests.
    private static TransformedDistribution<double> TwoLayers(string kind) => kind == "MAF"
        ? MaskedAutoregressiveFlow.Create<double>(2, transforms: 2, seed: 0, gaussianStart: GaussianStart.None)
        : NeuralSplineFlow.Create<double>(2, transforms: 2, seed: 0, gaussianStart: GaussianStart.None);

    private static double MeanNegativeLogLikelihood(TransformedDistribution<double> flow, double[,] data) => -flow.DensityLn(data).Average();

    // The measured fault of issue 12: with learning rate 10 a 2-layer MAF went from a mean NLL of 2.48 to 1.4e7 (3.9e14
    // in this build) and an NSF to 42, and Fit returned normally with that as its "best" epoch.
    [Theory]
    [MemberData(nameof(Presets))]
    public void Fit_WithLearningRate10_NeverReturnsAModelWorseThanItsStart(string kind)
    {
        double[,] data = Moons(2000);
        TransformedDistribution<double> flow = TwoLayers(kind);
        double start = MeanNegativeLogLikelihood(flow, data);

        flow.Fit(data, new FitOptions { Epochs = 20, Optimizer = new AdamOptions { LearningRate = 10 } });

        double end = MeanNegativeLogLikelihood(flow, data);
        Assert.True(end <= start, $"{kind}: mean NLL {start:G6} at the start, {end:G6} after the fit");
    }

    // Validation scores BatchNorm with its running statistics, so they are part of the model a check scored. Here the
    // start scores best (the running statistics move towards the data's far slower than the learning rate of 1e-8 moves
    // anything else), and restoring only the parameters would pair them with the last step's statistics: a flow that
    // scores worse than its start, and worse than the BestLoss the report claims.
    [Fact]
    public void Fit_RestoresBatchNormRunningStatisticsWithTheBestParameters()
    {
        var batchNorm = new BatchNorm<double>(2);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Chain<double>(new ActNorm<double>(2), batchNorm));
        double[,] data = TestData.StandardNormal(400, 2, seed: 6, scale: 3);
        for (int i = 0; i < 400; i++)
        {
            data[i, 0] += 5;
            data[i, 1] -= 3;
        }

        FitReport report = flow.Fit(data, new FitOptions
        {
            Epochs = 3,
            BatchSize = 100,
            ValidationFraction = 0,
            Optimizer = new AdamOptions { LearningRate = 1e-8 },
            Seed = 7,
        });

        Assert.Equal(0, report.BestEpoch);
        double loss = MeanNegativeLogLikelihood(flow, data);
        AssertClose.Relative(report.BestLoss, loss, 1e-12, "mean NLL of the restored flow against the best check's");
        // Fit's own checks compared with each other: the test's recomputation sums in another order, so against Fit's
        // numbers it agrees only to rounding (1 ulp apart with AVX2 off), as the relative check above allows.
        Assert.True(report.BestLoss <= report.InitialLoss, $"best loss {report.BestLoss:R}, {report.InitialLoss:R} at the start");
        Assert.Equal(0.0, batchNorm.RunningMean[0]);
    }

    private static double[][] Snapshot(TransformedDistribution<double> flow) => [.. flow.Parameters.Select(p => (double[])p.Values.Clone())];

    private static void AssertParametersEqual(double[][] expected, TransformedDistribution<double> flow, string because)
    {
        for (int p = 0; p < expected.Length; p++)
        {
            AssertClose.Bitwise(expected[p], flow.Parameters[p].Values, $"{because}, {flow.Parameters[p].Name}");
        }
    }

    // Progress<T> posts to the thread pool; the tests need the reports synchronously, in order.
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public void Fit_WithLearningRate10_ReportsDivergence_AndRestoresTheStart(string kind)
    {
        TransformedDistribution<double> flow = TwoLayers(kind);
        double[][] before = Snapshot(flow);

        FitReport report = flow.Fit(Moons(2000), new FitOptions { Epochs = 20, Optimizer = new AdamOptions { LearningRate = 10 } });

        Assert.Equal(FitStatus.Diverged, report.Status);
        Assert.Equal(0, report.BestEpoch);
        Assert.Equal(report.InitialLoss, report.BestLoss);
        Assert.Contains("learning rate (now 10)", report.Divergence, StringComparison.Ordinal);
        Assert.Contains("not outliers", report.Divergence, StringComparison.Ordinal);
        AssertParametersEqual(before, flow, "parameters after divergence");
    }

    // Issue 12 fuzz finding: a valid learning rate can overflow the step itself (α/(1 − β₁) = +∞ here); the fit then
    // blamed the next minibatch's NaN loss instead of the step, and named no parameter.
    [Fact]
    public void Fit_WhoseStepMakesAParameterNonFinite_ReportsDivergenceNamingTheParameter_AndRestoresTheStart()
    {
        TransformedDistribution<double> flow = TwoLayers("MAF");
        double[][] before = Snapshot(flow);

        FitReport report = flow.Fit(Moons(200), new FitOptions { Epochs = 2, Optimizer = new AdamOptions { LearningRate = double.MaxValue } });

        Assert.Equal(FitStatus.Diverged, report.Status);
        Assert.Contains("The Adam step made a parameter non-finite at epoch 1, batch 1 (step 1): Parameter '", report.Divergence, StringComparison.Ordinal);
        AssertParametersEqual(before, flow, "parameters after divergence");
    }

    // Issue 12 fuzz finding: an NSF fitted to 5 rows, one holding 1.8e308, started (as its Gaussian start does) from
    // their mean and spread, about 3.6e307 and 7e307, and returned Completed with a flow whose samples overflowed to ±∞.
    // Data that close to overflow are refused, naming the value.
    [Theory]
    [InlineData(double.MaxValue)]
    [InlineData(-1e306)]
    public void Fit_OnDataWithinAFactor1024OfOverflow_ThrowsNamingTheValue(double extreme)
    {
        TransformedDistribution<double> flow = NeuralSplineFlow.Create<double>(3, transforms: 1, hiddenFeatures: [8], seed: 0);
        double[,] data = TestData.StandardNormal(20, 3, seed: 1);
        data[7, 2] = extreme;

        var error = Assert.Throws<ArgumentException>("data", () => flow.Fit(data, new FitOptions { Epochs = 1 }));

        Assert.Contains("data[7, 2] = ", error.Message, StringComparison.Ordinal);
        Assert.Contains("within a factor 1024 of the largest Double", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fit_WithThrowOnDivergence_ThrowsTheSameAdvice_AfterRestoringTheStart()
    {
        TransformedDistribution<double> flow = TwoLayers("MAF");
        double[][] before = Snapshot(flow);

        var exception = Assert.Throws<InvalidOperationException>(() => flow.Fit(Moons(2000),
            new FitOptions { Epochs = 20, Optimizer = new AdamOptions { LearningRate = 10 }, ThrowOnDivergence = true }));

        Assert.Contains("validation loss rose to", exception.Message, StringComparison.Ordinal);
        Assert.Contains("learning rate (now 10)", exception.Message, StringComparison.Ordinal);
        AssertParametersEqual(before, flow, "parameters after divergence");
    }

    // Issue 12, fault 4: a single row of 1e300 gave "try a smaller learning rate ... or standardized data" and named no
    // row. In the training rows it makes a minibatch loss infinite; in the validation rows, the loss at the start.
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    [InlineData(0.5)]
    public void Fit_WhenARowHasZeroDensity_NamesTheRowAsAnOutlier(double validationFraction)
    {
        double[,] data = Moons(500);
        data[37, 0] = 1e300;
        TransformedDistribution<double> flow = TwoLayers("MAF");
        double[][] before = Snapshot(flow);

        FitReport report = flow.Fit(data, new FitOptions { Epochs = 3, ValidationFraction = validationFraction, Seed = 1 });

        Assert.Equal(FitStatus.Diverged, report.Status);
        Assert.Contains("row 37 (log p = -Infinity, x = (1E+300, ", report.Divergence, StringComparison.Ordinal);
        Assert.Contains("from the median of column 0", report.Divergence, StringComparison.Ordinal);
        Assert.Contains("remove or transform them", report.Divergence, StringComparison.Ordinal);
        AssertParametersEqual(before, flow, "parameters after divergence");
    }

    [Fact]
    public void Fit_ScoresTheStartAsEpochZero()
    {
        double[,] data = Moons(400);
        TransformedDistribution<double> flow = TwoLayers("MAF");
        double start = MeanNegativeLogLikelihood(flow, data);

        FitReport report = flow.Fit(data, new FitOptions { Epochs = 2, ValidationFraction = 0 });

        Assert.Equal(0, report.Initial.Epoch);
        Assert.Null(report.Initial.ValidationLoss);
        AssertClose.Relative(start, report.InitialLoss, 1e-12, "the start's loss");
        Assert.Equal((0, 0, report.InitialLoss), (report.Checks[0].Epoch, report.Checks[0].Step, report.Checks[0].Loss));
        Assert.True(report.Checks[0].StandardError > 0, $"standard error {report.Checks[0].StandardError}");
        Assert.Equal([1, 2], report.History.Select(r => r.Epoch));
        Assert.True(report.BestLoss <= report.InitialLoss, report.ToString());
    }

    // 1,000 rows in minibatches of 50 are 20 steps an epoch; with an interval of 6 the fit checks after steps 6, 12 and
    // 18 and at the epoch's end, and keeps the best of all of them, wherever it fell.
    [Fact]
    public void Fit_WithAValidationInterval_ChecksWithinEpochs_AndKeepsTheBestCheck()
    {
        double[,] data = Moons(1000);
        TransformedDistribution<double> flow = TwoLayers("MAF");

        FitReport report = flow.Fit(data, new FitOptions
        {
            Epochs = 3,
            BatchSize = 50,
            ValidationFraction = 0,
            ValidationInterval = 6,
            Optimizer = new AdamOptions { LearningRate = 0.05 },
        });

        Assert.Equal([0, 6, 12, 18, 20, 26, 32, 38, 40, 46, 52, 58, 60], report.Checks.Select(c => c.Step));
        Assert.Equal([0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3], report.Checks.Select(c => c.Epoch));
        FitCheck best = report.Checks.MinBy(c => c.Loss);
        Assert.Equal((best.Epoch, best.Step, best.Loss), (report.BestEpoch, report.BestStep, report.BestLoss));
        // Without a split the watched loss is that of all the data, so the flow now scores exactly the best check's loss.
        AssertClose.Relative(report.BestLoss, MeanNegativeLogLikelihood(flow, data), 1e-12, "mean NLL of the restored flow");
    }

    // Issue 12, fault 5: cancelling a fit lost its history.
    [Fact]
    public void Fit_WhenCancelled_CarriesTheReportOnTheException()
    {
        TransformedDistribution<double> flow = TwoLayers("MAF");
        var reports = new List<EpochReport>();
        using var cancellation = new CancellationTokenSource();
        var options = new FitOptions
        {
            Epochs = 50,
            BatchSize = 64,
            ValidationFraction = 0.1,
            Optimizer = new AdamOptions { LearningRate = 0.005 },
            Progress = new SynchronousProgress<EpochReport>(r =>
            {
                reports.Add(r);
                if (r.Epoch == 4)
                {
                    cancellation.Cancel();
                }
            }),
        };

        var exception = Assert.Throws<FitCanceledException<FitReport>>(() => flow.Fit(Moons(1000), options, cancellation.Token));

        Assert.Equal(cancellation.Token, exception.CancellationToken);
        FitReport report = Assert.IsType<FitReport>(exception.Report);
        Assert.Equal(FitStatus.Cancelled, report.Status);
        Assert.Equal(reports, report.History);
        Assert.Equal(4 * 15, report.Steps); // 900 training rows in minibatches of 64: 15 steps an epoch
        Assert.Equal(report.Checks.MinBy(c => c.Loss).Epoch, report.BestEpoch);
    }

    private static double[,] Scaled(double[,] data, double scale)
    {
        var result = (double[,])data.Clone();
        for (int i = 0; i < result.GetLength(0); i++)
        {
            for (int j = 0; j < result.GetLength(1); j++)
            {
                result[i, j] *= scale;
            }
        }

        return result;
    }

    // Issue 12, fault 4: unstandardized data at scale 1e4 with an NSF learned nothing (its best stayed at epoch 1, loss
    // 6.6e7) with no hint that the spline's window [−B, B] never saw the data.
    [Fact]
    public void Fit_OnDataFarOutsideTheSplineWindow_WarnsNamingTheColumnsAndTheWindow()
    {
        FitReport report = TwoLayers("NSF").Fit(Scaled(Moons(500), 1e4), new FitOptions { Epochs = 2 });

        string warning = Assert.Single(report.Warnings, w => w.Contains("far outside", StringComparison.Ordinal));
        Assert.Contains("column 0 spans [", warning, StringComparison.Ordinal);
        Assert.Contains("column 1 spans [", warning, StringComparison.Ordinal);
        Assert.Contains("outside [-5, 5]", warning, StringComparison.Ordinal);
        Assert.Contains("tail bound 5", warning, StringComparison.Ordinal);
        Assert.Contains("Standardize each column", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Fit_WithDataRangeCheckThrow_ThrowsBeforeFitting()
    {
        TransformedDistribution<double> flow = TwoLayers("NSF");
        double[][] before = Snapshot(flow);

        var exception = Assert.Throws<ArgumentException>("data",
            () => flow.Fit(Scaled(Moons(500), 1e4), new FitOptions { DataRangeCheck = DataRangeCheck.Throw }));

        Assert.Contains("outside [-5, 5]", exception.Message, StringComparison.Ordinal);
        AssertParametersEqual(before, flow, "parameters after a refused fit");
    }

    // Issue 12: the range check looked at the data only; a context at scale 1e4 goes unscaled into every conditioner's
    // first layer, whose weights start for unit-scale inputs.
    private static (double[,] Data, double[,] Context) WithContext(double contextScale)
    {
        double[,] moons = Moons(500);
        double[,] context = TestData.StandardNormal(500, 2, seed: 3);
        for (int i = 0; i < 500; i++)
        {
            context[i, 1] *= contextScale;
        }

        return (moons, context);
    }

    private static TransformedDistribution<double> Conditional()
        => MaskedAutoregressiveFlow.Create<double>(2, transforms: 2, hiddenFeatures: [16], contextDimension: 2, seed: 0);

    [Fact]
    public void Fit_OnAContextFarOutsideUnitScale_WarnsNamingTheContextColumn()
    {
        (double[,] data, double[,] context) = WithContext(1e4);

        FitReport report = Conditional().Fit(data, context, new FitOptions { Epochs = 1 });

        string warning = Assert.Single(report.Warnings, w => w.Contains("context", StringComparison.Ordinal));
        Assert.Contains("context column 1 spans [", warning, StringComparison.Ordinal);
        Assert.DoesNotContain("context column 0", warning, StringComparison.Ordinal);
        Assert.Contains("Standardize each context column", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Fit_WithDataRangeCheckThrow_RefusesAContextFarOutsideUnitScale_NamingContext()
    {
        (double[,] data, double[,] context) = WithContext(1e4);

        var exception = Assert.Throws<ArgumentException>("context",
            () => Conditional().Fit(data, context, new FitOptions { DataRangeCheck = DataRangeCheck.Throw }));

        Assert.Contains("context column 1 spans [", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckDataRange_WithAContext_NamesTheContextColumnOutsideUnitScale()
    {
        (double[,] data, double[,] context) = WithContext(1e4);

        string advice = Assert.Single(Conditional().CheckDataRange(data, context));

        Assert.Contains("The context lies far outside unit scale: context column 1 spans [", advice, StringComparison.Ordinal);
        Assert.Empty(Conditional().CheckDataRange(data, WithContext(1).Context));
    }

    // A context embedding that standardizes the context (the default of WithContextEmbedding) takes it to unit scale
    // itself, as an ActNorm next to the data does; so does a context already at unit scale.
    [Fact]
    public void Fit_DoesNotWarnAboutTheContext_WhenItIsAtUnitScaleOrAnEmbeddingStandardizesIt()
    {
        (double[,] data, double[,] unit) = WithContext(1);
        (_, double[,] wide) = WithContext(1e4);
        TransformedDistribution<double> embedded = MaskedAutoregressiveFlow.Create<double>(2, transforms: 2, hiddenFeatures: [16], contextDimension: 3, seed: 0)
            .WithContextEmbedding(new MultilayerPerceptronEmbedding<double>(2, 3, [8], seed: 1));

        FitReport atUnitScale = Conditional().Fit(data, unit, new FitOptions { Epochs = 1 });
        FitReport standardized = embedded.Fit(data, wide, new FitOptions { Epochs = 1 });

        Assert.DoesNotContain(atUnitScale.Warnings, w => w.Contains("context", StringComparison.Ordinal));
        Assert.DoesNotContain(standardized.Warnings, w => w.Contains("context", StringComparison.Ordinal));
    }

    [Fact]
    public void CheckDataRange_NamesOnlyTheColumnsOutsideTheWindow()
    {
        double[,] data = Moons(500);
        double[,] oneColumnOut = (double[,])data.Clone();
        for (int i = 0; i < 500; i++)
        {
            oneColumnOut[i, 1] = (data[i, 1] * 3) + 20;
        }

        Assert.Empty(TwoLayers("NSF").CheckDataRange(data));
        string advice = Assert.Single(TwoLayers("NSF").CheckDataRange(oneColumnOut));
        Assert.Contains("column 1 spans [", advice, StringComparison.Ordinal);
        Assert.DoesNotContain("column 0", advice, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckDataRange_OfAFlowWithoutSplines_UsesTheUnitScaleWindow_UnlessANormalizationMeetsTheData()
    {
        double[,] data = Scaled(Moons(500), 1e4);
        TransformedDistribution<double> maf = TwoLayers("MAF");
        var normalized = new TransformedDistribution<double>(new StandardNormal<double>(2),
            new Chain<double>(maf.Bijector, new ActNorm<double>(2)));

        Assert.Contains("outside [-100, 100]", Assert.Single(maf.CheckDataRange(data)), StringComparison.Ordinal);
        Assert.Empty(maf.CheckDataRange(Scaled(Moons(500), 10)));
        Assert.Empty(normalized.CheckDataRange(data));
    }

    public static TheoryData<string> InvalidOptions => ["ValidationInterval", "DivergenceTolerance", "DataRangeCheck"];

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void Fit_RejectsInvalidReliabilityOptions_NamingTheSetting(string setting)
    {
        FitOptions options = setting switch
        {
            "ValidationInterval" => new FitOptions { ValidationInterval = 0 },
            "DivergenceTolerance" => new FitOptions { DivergenceTolerance = double.NaN },
            _ => new FitOptions { DataRangeCheck = (DataRangeCheck)7 },
        };

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => TwoLayers("MAF").Fit(Moons(20), options));
        Assert.Equal(setting, exception.ParamName);
    }

    [Fact]
    public void VariationalFit_RejectsANonPositiveDivergenceTolerance()
        => Assert.Throws<ArgumentOutOfRangeException>("DivergenceTolerance", () => TwoLayers("MAF").Fit(
            (z, logDensity, gradient) => { logDensity.Clear(); gradient.Clear(); }, new VariationalOptions { DivergenceTolerance = 0 }));

    // The same guarantee in single precision, where the losses are computed in float and compared in double.
    [Fact]
    public void Fit_InFloat_WithLearningRate10_ReportsDivergence_AndRestoresTheStart()
    {
        TransformedDistribution<float> flow = MaskedAutoregressiveFlow.Create<float>(2, transforms: 2, seed: 0, gaussianStart: GaussianStart.None);
        float[][] before = [.. flow.Parameters.Select(p => (float[])p.Values.Clone())];
        double[,] moons = Moons(1000);
        var data = new float[1000, 2];
        for (int i = 0; i < 1000; i++)
        {
            data[i, 0] = (float)moons[i, 0];
            data[i, 1] = (float)moons[i, 1];
        }

        FitReport report = flow.Fit(data, new FitOptions { Epochs = 10, Optimizer = new AdamOptions { LearningRate = 10 } });

        Assert.Equal(FitStatus.Diverged, report.Status);
        for (int p = 0; p < before.Length; p++)
        {
            Assert.Equal(before[p], flow.Parameters[p].Values);
        }
    }
}
