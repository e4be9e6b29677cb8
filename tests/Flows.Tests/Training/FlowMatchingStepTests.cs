using System.Security.Cryptography;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Persistence;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Training;

/// <summary>
/// The flow-matching step is data-parallel like the maximum-likelihood one: its loss and gradients do not depend on the
/// thread count, and one block is the single pass.
/// </summary>
public sealed class FlowMatchingStepTests
{
    internal static TransformedDistribution<double> Create(int contextDimension = 0) => ContinuousNormalizingFlow.Create<double>(2, contextDimension,
        new ContinuousFlowOptions { HiddenFeatures = [16, 16], TimeFrequencies = 2 }, seed: 1);

    internal static double[] Data => TestData.Flatten(ParallelFitTests.Data);

    // The reference: the whole batch's loss on one tape, back-propagated into the parameters.
    private static (double Loss, double[][] Gradients) SinglePass(TransformedDistribution<double> flow, FlowMatching<double> matching, double[] data, int rows)
    {
        var tape = new Tape<double>(isRecording: true, isTraining: true);
        Node<double> loss = matching.BlockLoss(tape, data.AsSpan(0, rows * 2), null, 0, rows, rows, new double[rows]);
        foreach (Parameter<double> p in flow.Parameters)
        {
            p.ZeroGradients();
        }

        tape.Backward(loss);
        return (loss.Values[0], [.. flow.Parameters.Select(p => p.Gradients.ToArray())]);
    }

    [Theory]
    [InlineData(DataParallelGradient<double>.BlockRows)]
    [InlineData(DataParallelGradient<double>.BlockRows + 1)]
    [InlineData(599)]
    public void DataParallelGradient_OfFlowMatching_MatchesTheSinglePass_AndHasTheSameBitsOnAnyThreads(int rows)
    {
        TransformedDistribution<double> flow = Create();
        BijectorCases.Randomized(flow.Bijector, seed: 3, scale: 0.3);
        var matching = new FlowMatching<double>(flow, seed: 5);
        matching.Draw(rows, default);
        double[] data = Data;
        (double expectedLoss, double[][] expected) = SinglePass(flow, matching, data, rows);

        var gradient = new DataParallelGradient<double>(flow, matching);
        double loss1 = gradient.Run(data, null, 0, rows, 1);
        double[][] one = [.. flow.Parameters.Select(p => p.Gradients.ToArray())];
        double loss3 = gradient.Run(data, null, 0, rows, 3);
        double[][] three = [.. flow.Parameters.Select(p => p.Gradients.ToArray())];

        AssertClose.Relative(expectedLoss, loss1, 1e-13, "loss");
        for (int p = 0; p < expected.Length; p++)
        {
            AssertClose.All(expected[p], one[p], 1e-12, because: flow.Parameters[p].Name);
            Assert.Equal(one[p], three[p]);
        }

        Assert.Equal(loss1, loss3);
        if (rows <= DataParallelGradient<double>.BlockRows)
        {
            Assert.Equal(expectedLoss, loss1); // one block is the single pass itself
        }
    }

    private static string Saved(TransformedDistribution<double> flow)
    {
        using var stream = new MemoryStream();
        flow.Save(stream);
        return Convert.ToHexString(SHA256.HashData(stream.ToArray()));
    }

    // A context that tells the moons apart a little: the first coordinate, rounded.
    private static double[,] ContextOf(double[,] data)
    {
        var context = new double[data.GetLength(0), 1];
        for (int i = 0; i < data.GetLength(0); i++)
        {
            context[i, 0] = Math.Round(data[i, 0]);
        }

        return context;
    }

    // 300-row batches are 3 blocks (the last of 44 rows); 16 threads is more than the blocks.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void FlowMatchingFit_GivesTheSameBits_With1_2And16Threads(int contextDimension)
    {
        (FitReport Report, string Saved) FitWith(int degree)
        {
            TransformedDistribution<double> flow = Create(contextDimension);
            var options = new FitOptions
            {
                Objective = FitObjective.FlowMatching, Epochs = 3, BatchSize = 300, Seed = 4, ValidationFraction = 0.1, MaxDegreeOfParallelism = degree,
            };
            FitReport report = contextDimension == 0
                ? flow.Fit(ParallelFitTests.Data, options)
                : flow.Fit(ParallelFitTests.Data, ContextOf(ParallelFitTests.Data), options);
            return (report, Saved(flow));
        }

        (FitReport report, string saved) one = FitWith(1);

        Assert.True(one.report.BestLoss < one.report.InitialLoss, $"precondition: the fit moves, {one.report}");
        foreach (int degree in new[] { 2, 16 })
        {
            (FitReport report, string saved) many = FitWith(degree);
            Assert.Equal(one.report.History, many.report.History);
            Assert.Equal(one.saved, many.saved);
        }
    }
}

/// <summary>Flow matching's optimizer defaults.</summary>
public sealed class FlowMatchingDefaultsTests
{
    // Maximum likelihood's size-adapted decay (1000 / 540 rows here, capped at 0.1 / α = 100) would shrink every weight.
    [Fact]
    public void FlowMatchingFit_UsesNoWeightDecayUnlessAsked()
    {
        string FitWith(double? weightDecay)
        {
            TransformedDistribution<double> flow = FlowMatchingStepTests.Create();
            flow.Fit(ParallelFitTests.Data, new FitOptions
            {
                Objective = FitObjective.FlowMatching, Epochs = 2, BatchSize = 300, Seed = 4, ValidationFraction = 0.1,
                Optimizer = new AdamOptions { WeightDecay = weightDecay },
            });
            return string.Join(",", flow.Parameters.SelectMany(p => p.Values.ToArray()).Select(v => BitConverter.DoubleToInt64Bits(v)));
        }

        string byDefault = FitWith(null);

        Assert.Equal(FitWith(0), byDefault);
        Assert.NotEqual(FitWith(1.0), byDefault);
    }
}

/// <summary>The moving average of the parameters that checks score (FitOptions.AverageDecay).</summary>
public sealed class ParameterAverageTests
{
    [Fact]
    public void Update_FollowsTheRampedExponentialAverage_AndExchangeSwapsBack()
    {
        var parameter = new Parameter<double>("p", 1, 3);
        double[] start = [0.5, -1.0, 2.0];
        start.CopyTo(parameter.Values, 0);
        var average = new ParameterAverage<double>([parameter], decay: 0.9);
        double[] expected = [.. start];
        var random = new Random(3);
        for (int k = 0; k < 40; k++)
        {
            for (int i = 0; i < 3; i++)
            {
                parameter.Values[i] = random.NextDouble() - 0.5;
            }

            average.Update();
            double beta = Math.Min(0.9, (1.0 + k) / (10.0 + k));
            for (int i = 0; i < 3; i++)
            {
                expected[i] = (beta * expected[i]) + ((1 - beta) * parameter.Values[i]);
            }
        }

        double[] last = [.. parameter.Values];
        average.Exchange();
        AssertClose.All(expected, parameter.Values, 1e-15, "the average in place");
        average.Exchange();
        Assert.Equal(last, parameter.Values);
    }

    [Fact]
    public void FitOptions_RefuseAnAverageDecayOutside0To1()
    {
        foreach (double decay in new[] { -0.1, 1.0, double.NaN })
        {
            Assert.Throws<ArgumentOutOfRangeException>("AverageDecay",
                () => FlowMatchingStepTests.Create().Fit(ParallelFitTests.Data, new FitOptions { AverageDecay = decay, Epochs = 1 }));
        }
    }

    private static string Bits(TransformedDistribution<double> flow)
        => string.Join(",", flow.Parameters.SelectMany(p => p.Values.ToArray()).Select(BitConverter.DoubleToInt64Bits));

    private static string FitWith(TransformedDistribution<double> flow, FitObjective objective, double? decay, bool restoreBest = true)
    {
        flow.Fit(ParallelFitTests.Data, new FitOptions
        {
            Objective = objective, Epochs = 3, BatchSize = 300, Seed = 4, ValidationFraction = 0.1, AverageDecay = decay, RestoreBest = restoreBest,
        });
        return Bits(flow);
    }

    [Fact]
    public void FlowMatchingFit_AveragesWithDecay09999_UnlessAsked()
    {
        string byDefault = FitWith(FlowMatchingStepTests.Create(), FitObjective.FlowMatching, null);

        Assert.Equal(FitWith(FlowMatchingStepTests.Create(), FitObjective.FlowMatching, 0.9999), byDefault);
        Assert.NotEqual(FitWith(FlowMatchingStepTests.Create(), FitObjective.FlowMatching, 0), byDefault);
    }

    [Fact]
    public void MaximumLikelihoodFit_DoesNotAverage_UnlessAsked()
    {
        string byDefault = FitWith(ParallelFitTests.Create("MAF"), FitObjective.MaximumLikelihood, null);

        Assert.Equal(FitWith(ParallelFitTests.Create("MAF"), FitObjective.MaximumLikelihood, 0), byDefault);
        Assert.NotEqual(FitWith(ParallelFitTests.Create("MAF"), FitObjective.MaximumLikelihood, 0.9), byDefault);
    }

    // Without restoring the best check, the flow ends with the last average: its watched loss is the last check's.
    [Fact]
    public void Fit_WithoutRestoringTheBest_EndsWithTheLastAverage()
    {
        TransformedDistribution<double> flow = FlowMatchingStepTests.Create();
        var options = new FitOptions
        {
            Objective = FitObjective.FlowMatching, Epochs = 3, BatchSize = 300, Seed = 4, ValidationFraction = 0.1, RestoreBest = false, AverageDecay = 0.9,
        };
        FitReport report = flow.Fit(ParallelFitTests.Data, options);
        TransformedDistribution<double> raw = FlowMatchingStepTests.Create();
        raw.Fit(ParallelFitTests.Data, options with { AverageDecay = 0 });

        Assert.NotEqual(Bits(raw), Bits(flow));
        // A fit of zero further epochs scores the flow as it is: epoch 0's check is the watched loss of the kept parameters.
        FitReport again = flow.Fit(ParallelFitTests.Data, options with { Epochs = 1, Optimizer = new AdamOptions { LearningRate = 1e-300 } });
        Assert.Equal(report.Checks[^1].Loss, again.InitialLoss, 1e-12);
    }
}

/// <summary>The steady-state flow-matching step (draws, forward, backward) allocates nothing on its calling thread; it
/// runs alone, as the maximum-likelihood step's test does.</summary>
[Collection(nameof(ParallelismBudgetRunsAlone))]
public sealed class FlowMatchingSteadyStateAllocationTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void FlowMatchingStep_InTheSteadyState_AllocatesNothingOnTheCallingThread(int degree)
    {
        TransformedDistribution<double> flow = FlowMatchingStepTests.Create();
        var matching = new FlowMatching<double>(flow, seed: 2);
        var gradient = new DataParallelGradient<double>(flow, matching);
        double[] data = FlowMatchingStepTests.Data;
        void Step(int threads)
        {
            matching.Draw(256, default);
            gradient.Run(data, null, 0, 256, threads);
        }

        // Warm-up: once on the calling thread alone (every block runs there), then at the degree measured.
        Step(1);
        for (int i = 0; i < 30; i++)
        {
            Step(degree);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
        {
            Step(degree);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
