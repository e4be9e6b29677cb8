using System.Text.Json.Nodes;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Persistence;
using Flows.Quality;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Distributions;

/// <summary>
/// The defensive share (issue 13): a flow mixed with the Gaussian fitted to its training rows, p = (1 − ε) p_flow + ε N.
/// </summary>
public sealed class DefensiveShareTests
{
    // Issue 13's test. The MAF preset at its defaults, fitted with zuko's protocol (Adam 1e-3, the whole training split as
    // one batch, no clipping, 20 % held out and checked every step, patience 1,000 steps, best parameters restored), on
    // 120 rows of a known 8-feature density. Without the share (DefensiveShare.None) these fits end below the fitted
    // Gaussian on held-out rows (benchmarks/Flows.Quality, seeds 0–4: sinh8 −19.51 against the Gaussian's −17.76,
    // banana8 −13.33 against −12.88), some rows hundreds of nats below their Gaussian log-density. With it no row can
    // fall more than log(1/ε) = 4.6 nats below the Gaussian fitted to the same 120 rows (Fit fits it to training and
    // validation rows together); the stated bound, 4.7 nats, leaves room for rounding only. Checked to fail without the
    // share: the worst rows fell 417, 37 and 8.7 nats below.
    [Theory]
    [InlineData("sinh8", 0)]
    [InlineData("banana8", 0)]
    [InlineData("banana8", 1)]
    public void MaskedAutoregressiveFlow_OnA120RowTable_IsNoWorseThanTheFittedGaussian_AndNoHeldOutRowCollapses(string table, int seed)
    {
        const double rowBound = 4.7;
        (double[,] train, double[,] test) = table == "sinh8"
            ? (new SinhGaussian(8, seed: 2026).Sample(120, new Random(seed)), new SinhGaussian(8, seed: 2026).Sample(2000, new Random(99)))
            : (Banana.Sample(120, new Random(seed)), Banana.Sample(2000, new Random(99)));
        double[] gaussian = MultivariateNormal.Fit(train).DensityLn(test);
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(8, seed: seed);

        flow.Fit(train, new FitOptions { Epochs = 20_000, BatchSize = 96, ValidationFraction = 0.2, Patience = 1000, MaxGradientNorm = null, Seed = seed });
        double[] logDensity = flow.DensityLn(test);

        Assert.Equal(0.01, flow.DefensiveWeight);
        double[] defensive = flow.DefensiveComponent!.DensityLn(test);
        Assert.All(Enumerable.Range(0, test.GetLength(0)), i => Assert.True(logDensity[i] >= Math.Log(0.01) + defensive[i] - 1e-9, $"row {i}"));
        double worst = Enumerable.Range(0, test.GetLength(0)).Min(i => logDensity[i] - gaussian[i]);
        Assert.True(worst >= -rowBound, $"the worst held-out row scores {worst:F2} nats below its Gaussian log-density");
        Assert.True(logDensity.Average() >= gaussian.Average() - 0.02, $"flow {logDensity.Average():F4} vs Gaussian {gaussian.Average():F4} nats per row");
    }

    [Fact]
    public void DensityLn_IsTheMixtureOfTheFlowAndItsGaussian_ComputedApart()
    {
        (TransformedDistribution<double> flow, double[,] data) = FittedFlow(DefensiveShare.Fixed(0.2), contextDimension: 0);
        double[,] probe = TestData.StandardNormal(50, 3, seed: 5);
        var alone = new TransformedDistribution<double>(flow.BaseDistribution, flow.Bijector);

        double[] mixed = flow.DensityLn(probe);
        double[] flowPart = alone.DensityLn(probe);
        double[] gaussianPart = flow.DefensiveComponent!.DensityLn(probe);

        Assert.Equal(0.2, flow.DefensiveWeight);
        for (int i = 0; i < mixed.Length; i++)
        {
            double expected = Math.Log((0.8 * Math.Exp(flowPart[i])) + (0.2 * Math.Exp(gaussianPart[i])));
            AssertClose.Relative(expected, mixed[i], 1e-12, $"row {i}");
        }

        // The Gaussian is the maximum-likelihood normal of the training rows (all of them: no validation split here).
        AssertClose.All(MultivariateNormal.Fit(data).DensityLn(probe), gaussianPart, 1e-9, "the defensive Gaussian");
    }

    [Fact]
    public void DensityLn_OnATrainingTape_IsTheFlowsOwn_AndOnAnEvaluationTapeTheMixture()
    {
        (TransformedDistribution<double> flow, _) = FittedFlow(DefensiveShare.Fixed(0.4), contextDimension: 0);
        double[,] probe = TestData.StandardNormal(30, 3, seed: 5);
        var alone = new TransformedDistribution<double>(flow.BaseDistribution, flow.Bijector);
        var training = new Tape<double>(isRecording: true, isTraining: true);
        var evaluation = new Tape<double>(isRecording: false);

        double[] trained = [.. flow.DensityLn(training, training.Constant(TestData.Flatten(probe), 30, 3)).Values];
        double[] evaluated = [.. flow.DensityLn(evaluation, evaluation.Constant(TestData.Flatten(probe), 30, 3)).Values];

        AssertClose.Bitwise(alone.DensityLn(probe), trained, "training tape");
        AssertClose.Bitwise(flow.DensityLn(probe), evaluated, "evaluation tape");
        Assert.True(evaluated.Zip(trained).Any(p => p.First != p.Second), "the share changes the evaluated density");
    }

    [Fact]
    public void ConditionalDensityLn_IsTheMixtureOfTheFlowAndTheLinearGaussianRegression()
    {
        (TransformedDistribution<double> flow, _) = FittedFlow(DefensiveShare.Fixed(0.3), contextDimension: 2);
        double[,] probe = TestData.StandardNormal(40, 3, seed: 6);
        double[,] context = TestData.StandardNormal(40, 2, seed: 7);
        var alone = new TransformedDistribution<double>(flow.BaseDistribution, flow.Bijector);

        double[] mixed = flow.DensityLn(probe, context);
        double[] flowPart = alone.DensityLn(probe, context);
        double[] gaussianPart = flow.DefensiveComponent!.DensityLn(probe, context);

        for (int i = 0; i < mixed.Length; i++)
        {
            AssertClose.Relative(Math.Log((0.7 * Math.Exp(flowPart[i])) + (0.3 * Math.Exp(gaussianPart[i]))), mixed[i], 1e-12, $"row {i}");
        }
    }

    [Fact]
    public void Sample_DrawsTheGaussiansShareOfRowsFromTheGaussian()
    {
        // The flow's mass sits at +40 in the first feature, the Gaussian's at the data (near 0): the share of samples
        // below 20 is the Gaussian's, binomial with p = 0.25.
        var shift = new Affine<double>(3);
        shift.Shift.Values[0] = 40;
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(3), shift, DefensiveShare.Fixed(0.25));
        flow.Fit(TestData.StandardNormal(500, 3, seed: 1), new FitOptions { Epochs = 1, Optimizer = new AdamOptions { LearningRate = 1e-12 }, Seed = 1 });

        double[,] samples = flow.Sample(20_000, new Random(3));

        double share = Enumerable.Range(0, 20_000).Count(i => samples[i, 0] < 20) / 20_000.0;
        Assert.InRange(share, 0.25 - (4 * Math.Sqrt(0.25 * 0.75 / 20_000)), 0.25 + (4 * Math.Sqrt(0.25 * 0.75 / 20_000)));
    }

    [Fact]
    public void Sample_WithColumnSupports_KeepsTheGaussiansRowsInsideTheSupports()
    {
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(2, transforms: 1, hiddenFeatures: [8],
            supports: [Support.Positive(0), Support.Interval(-1, 1)], defensiveShare: DefensiveShare.Fixed(0.5));
        var random = new Random(2);
        var data = new double[300, 2];
        for (int i = 0; i < 300; i++)
        {
            data[i, 0] = Math.Exp(random.NextDouble());
            data[i, 1] = (2 * random.NextDouble()) - 1;
        }

        flow.Fit(data, new FitOptions { Epochs = 2, Seed = 1 });
        double[,] samples = flow.Sample(5000, new Random(4));

        Assert.All(Enumerable.Range(0, 5000), i => Assert.True(samples[i, 0] > 0 && samples[i, 1] is > -1 and < 1, $"row {i}"));
    }

    [Theory]
    [InlineData(500, 0.01)]      // 400 training rows: 10 / 400 = 0.025, capped at 0.01
    [InlineData(5000, 0.0025)]   // 4,000 training rows
    public void Automatic_TakesTheShareFromTheTrainingRows_AndIsZeroBeforeAnyFit(int rows, double expected)
    {
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(2, transforms: 1, hiddenFeatures: [8]);
        Assert.Equal(DefensiveShare.Automatic, flow.DefensiveShare);
        Assert.Equal(0, flow.DefensiveWeight);

        flow.Fit(TestData.StandardNormal(rows, 2, seed: 3), new FitOptions { Epochs = 1, ValidationFraction = 0.2, Seed = 1 });

        Assert.Equal(expected, flow.DefensiveWeight, 15);
    }

    [Fact]
    public void Presets_StartingAtTheStandardNormal_HaveNoShare_AndVariationalFitsRefuseAFixedOne()
    {
        Assert.Null(MaskedAutoregressiveFlow.Create<double>(2, gaussianStart: GaussianStart.None).DefensiveComponent);
        TransformedDistribution<double> fixedShare = MaskedAutoregressiveFlow.Create<double>(2, transforms: 1, defensiveShare: DefensiveShare.Fixed(0.1));

        var error = Assert.Throws<InvalidOperationException>(() => fixedShare.Fit(StandardNormalTarget, new VariationalOptions { Steps = 2 }));

        Assert.Contains("defensive share", error.Message, StringComparison.Ordinal);
    }

    // Review finding: a refit kept the first data's Gaussian (an earlier fit's initialization counted as on purpose), so
    // on data moved by 50 a held-out row fell 2,900 nats below its Gaussian. Every fit to data fits it again.
    [Fact]
    public void Refit_OnOtherData_FitsTheGaussianAgain()
    {
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(2, transforms: 1, hiddenFeatures: [8]);
        flow.Fit(TestData.StandardNormal(200, 2, seed: 1), new FitOptions { Epochs = 2, Seed = 1 });
        double[,] moved = TestData.StandardNormal(200, 2, seed: 2);
        for (int i = 0; i < 200; i++)
        {
            moved[i, 0] += 50;
            moved[i, 1] += 50;
        }

        flow.Fit(moved, new FitOptions { Epochs = 2, Seed = 1 });

        double[,] probe = TestData.StandardNormal(20, 2, seed: 3);
        for (int i = 0; i < 20; i++)
        {
            probe[i, 0] += 50;
            probe[i, 1] += 50;
        }

        AssertClose.All(MultivariateNormal.Fit(moved).DensityLn(probe), flow.DefensiveComponent!.DensityLn(probe), 1e-9, "the Gaussian of the second data");
    }

    [Fact]
    public void AVariationalObjective_UsesTheFlowAlone_AndFixedSharesOnNestedFlowsOrComponentsAreRefused()
    {
        (TransformedDistribution<double> fitted, _) = FittedFlow(DefensiveShare.Automatic, contextDimension: 0);
        Assert.True(fitted.DefensiveWeight > 0);
        TransformedDistribution<double> q = MaskedAutoregressiveFlow.Create<double>(2, transforms: 1, hiddenFeatures: [8]);
        q.Fit(TestData.StandardNormal(300, 2, seed: 1), new FitOptions { Epochs = 1, Seed = 1 });

        _ = new VariationalObjective<double>(q, StandardNormalTarget);

        Assert.Equal(0, q.DefensiveWeight);
        TransformedDistribution<double> fixedShare = MaskedAutoregressiveFlow.Create<double>(2, transforms: 1, defensiveShare: DefensiveShare.Fixed(0.1));
        Assert.Throws<ArgumentException>(() => new TransformedDistribution<double>(fixedShare, new Affine<double>(2)));
        Assert.Throws<ArgumentException>(() => new Mixture<double>(fixedShare, MaskedAutoregressiveFlow.Create<double>(2, transforms: 1)));
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(0.6)]
    [InlineData(double.NaN)]
    public void Fixed_OutsideItsRange_Throws(double weight)
        => Assert.Throws<ArgumentOutOfRangeException>(() => DefensiveShare.Fixed(weight));

    [Fact]
    public void SaveAndLoad_KeepTheShareAndTheGaussian_BitForBit()
    {
        (TransformedDistribution<double> flow, _) = FittedFlow(DefensiveShare.Automatic, contextDimension: 0);
        using var stream = new MemoryStream();
        flow.Save(stream);
        stream.Position = 0;

        TransformedDistribution<double> loaded = FlowSerializer.Load<double>(stream);

        double[,] probe = TestData.StandardNormal(64, 3, seed: 8);
        Assert.Equal(flow.DefensiveShare, loaded.DefensiveShare);
        Assert.Equal(flow.DefensiveWeight, loaded.DefensiveWeight);
        AssertClose.Bitwise(flow.DensityLn(probe), loaded.DensityLn(probe), "log-densities");
        AssertClose.Bitwise(flow.Sample(64, new Random(9)), loaded.Sample(64, new Random(9)), "samples");
    }

    [Fact]
    public void Load_RefusesAShareInUseOutsideItsRange()
    {
        (TransformedDistribution<double> flow, _) = FittedFlow(DefensiveShare.Automatic, contextDimension: 0);
        using var stream = new MemoryStream();
        flow.Save(stream);
        JsonNode root = JsonNode.Parse(stream.ToArray())!;
        Assert.Equal(0.01, (double)root["flow"]!["defensiveShare"]!["weightInUse"]!);
        root["flow"]!["defensiveShare"]!["weightInUse"] = 0.7;

        var error = Assert.Throws<FlowFormatException>(() => FlowSerializer.Load<double>(SavedFiles.Resigned(root)));

        Assert.Contains("weightInUse", error.Message, StringComparison.Ordinal);
    }

    private static void StandardNormalTarget(ReadOnlySpan<double> z, Span<double> logDensity, Span<double> gradient)
    {
        for (int i = 0; i < logDensity.Length; i++)
        {
            logDensity[i] = -0.5 * ((z[2 * i] * z[2 * i]) + (z[(2 * i) + 1] * z[(2 * i) + 1]));
            gradient[2 * i] = -z[2 * i];
            gradient[(2 * i) + 1] = -z[(2 * i) + 1];
        }
    }

    // A small MAF with the share, fitted for a few epochs to 400 rows of a correlated 3-feature normal (320 train).
    private static (TransformedDistribution<double> Flow, double[,] Data) FittedFlow(DefensiveShare share, int contextDimension)
    {
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(3, transforms: 2, hiddenFeatures: [16],
            contextDimension: contextDimension, seed: 1, defensiveShare: share);
        double[,] data = TestData.StandardNormal(400, 3, seed: 2);
        for (int i = 0; i < 400; i++)
        {
            data[i, 1] += 0.8 * data[i, 0];
            data[i, 2] = (data[i, 2] * 0.5) + 2;
        }

        double[,]? context = contextDimension == 0 ? null : TestData.StandardNormal(400, contextDimension, seed: 4);
        flow.Fit(data, context, new FitOptions { Epochs = 3, ValidationFraction = 0, Seed = 1 });
        return (flow, data);
    }
}
