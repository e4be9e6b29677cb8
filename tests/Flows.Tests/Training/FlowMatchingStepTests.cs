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
