using System.Security.Cryptography;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Numerics;
using Flows.Persistence;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Training;

/// <summary>
/// Data-parallel training (issue 16, part 2): a minibatch is cut into fixed blocks, each with its own tape and gradient
/// buffers, reduced in block order, so a fit gives the same bits with any thread count.
/// </summary>
public sealed class ParallelFitTests
{
    public static TheoryData<string> Flows => ["MAF", "NSF", "RealNVP", "ConditionalMAF", "BatchNorm", "InvertibleResidual"];

    internal static TransformedDistribution<double> Create(string name) => name switch
    {
        "MAF" => MaskedAutoregressiveFlow.Create<double>(2, transforms: 2, hiddenFeatures: [16, 16], seed: 1),
        "NSF" => NeuralSplineFlow.Create<double>(2, transforms: 2, hiddenFeatures: [16, 16], seed: 1),
        "RealNVP" => RealNvpFlow.Create<double>(2, transforms: 2, hiddenFeatures: [16], seed: 1),
        "ConditionalMAF" => MaskedAutoregressiveFlow.Create<double>(2, transforms: 2, hiddenFeatures: [16, 16], contextDimension: 1, seed: 1),
        "BatchNorm" => new(new StandardNormal<double>(2), new Chain<double>(new MaskedAutoregressive<double>(2, [16, 16], seed: 1), new BatchNorm<double>(2))),
        _ => new(new StandardNormal<double>(2), new Chain<double>(new InvertibleResidual<double>(2, 16, seed: 1), new ActNorm<double>(2))),
    };

    internal static double[,] Data => TestData.Rows(TestData.LoadCsv("moons2d_train.csv"), 0, 600);

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

    private static string Saved(TransformedDistribution<double> flow)
    {
        using var stream = new MemoryStream();
        flow.Save(stream);
        return Convert.ToHexString(SHA256.HashData(stream.ToArray()));
    }

    private static (FitReport Report, string Saved) FitWith(string name, int degree)
    {
        TransformedDistribution<double> flow = Create(name);
        var options = new FitOptions { Epochs = 3, BatchSize = 300, Seed = 4, ValidationFraction = 0.1, MaxDegreeOfParallelism = degree };
        FitReport report = name == "ConditionalMAF"
            ? flow.Fit(Data, ContextOf(Data), options)
            : flow.Fit(Data, options);
        return (report, Saved(flow));
    }

    // 300-row batches are 3 blocks (the last of 44 rows); 16 threads is more than this machine's cores and more than
    // the blocks, so some workers find nothing to do.
    [Theory]
    [MemberData(nameof(Flows))]
    public void Fit_GivesTheSameBits_With1_2And16Threads(string name)
    {
        (FitReport report, string saved) one = FitWith(name, 1);

        foreach (int degree in new[] { 2, 16 })
        {
            (FitReport report, string saved) many = FitWith(name, degree);
            Assert.Equal(one.report.History, many.report.History);
            Assert.Equal(one.saved, many.saved);
        }
    }

    [Fact]
    public void FitOptions_RefuseANonPositiveDegree()
        => Assert.Throws<ArgumentOutOfRangeException>("MaxDegreeOfParallelism",
            () => Create("MAF").Fit(Data, new FitOptions { Epochs = 1, MaxDegreeOfParallelism = 0 }));

    // The reference: the single pass on one tape, −mean log p over the whole batch, back-propagated into the parameters.
    private static (double Loss, double[][] Gradients) SinglePass(TransformedDistribution<double> flow, double[] data, int rows)
    {
        var tape = new Tape<double>(isRecording: true, isTraining: true);
        Node<double> x = tape.Constant(data.AsSpan(0, rows * flow.Dimension), rows, flow.Dimension);
        Node<double> loss = tape.Negate(tape.Mean(flow.DensityLn(tape, x)));
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
    public void DataParallelGradient_MatchesTheSinglePass_AndHasTheSameBitsOnAnyThreads(int rows)
    {
        TransformedDistribution<double> flow = Create("NSF");
        BijectorCases.Randomized(flow.Bijector, seed: 3, scale: 0.2);
        flow.DensityLn(Data); // initializes the Gaussian start
        double[] data = TestData.Flatten(Data);
        (double expectedLoss, double[][] expected) = SinglePass(flow, data, rows);

        var gradient = new DataParallelGradient<double>(flow);
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

    // A MADE of 2 × 256 makes 128-row products of 2²³ multiply-adds, which split among spare threads: a one-block step,
    // a one-chunk log-density and sampling give the bits of one thread (64 threads asks for more helpers than there are
    // cores, so a helper is free even while other tests run).
    [Fact]
    public void OneBlockStep_AndOneChunkCalls_WithSplitProducts_GiveTheBitsOfOneThread()
    {
        var flow = MaskedAutoregressiveFlow.Create<double>(8, transforms: 2, hiddenFeatures: [256, 256], seed: 1, gaussianStart: GaussianStart.None);
        BijectorCases.Randomized(flow.Bijector, seed: 5, scale: 0.05);
        double[] data = new double[512 * 8];
        var random = new Random(2);
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = random.NextDouble() - 0.5;
        }

        var gradient = new DataParallelGradient<double>(flow);
        double expectedLoss = gradient.Run(data, null, 0, DataParallelGradient<double>.BlockRows, 1);
        double[][] expected = [.. flow.Parameters.Select(p => p.Gradients.ToArray())];
        flow.MaxDegreeOfParallelism = 1;
        double[] expectedDensity = new double[512];
        flow.DensityLn(data, expectedDensity);
        double[] expectedSamples = new double[300 * 8];
        flow.Sample(expectedSamples, new Random(9));

        foreach (int degree in new[] { 2, 64 })
        {
            Assert.Equal(expectedLoss, gradient.Run(data, null, 0, DataParallelGradient<double>.BlockRows, degree));
            for (int p = 0; p < expected.Length; p++)
            {
                Assert.Equal(expected[p], flow.Parameters[p].Gradients);
            }

            flow.MaxDegreeOfParallelism = degree;
            double[] density = new double[512];
            flow.DensityLn(data, density);
            Assert.Equal(expectedDensity, density);
            double[] samples = new double[300 * 8];
            flow.Sample(samples, new Random(9));
            Assert.Equal(expectedSamples, samples);
        }
    }

    // The blocks' gradients summed in block order, each block on a tape of its own: the definition that the running sum
    // (a block whose turn it is adds its weights' products straight into the parameters' gradients) and the reduction
    // (the blocks that ran beside an earlier one) must meet bit for bit, whichever blocks took which path.
    private static double[][] BlockOrderSum(TransformedDistribution<double> flow, double[] data, double[]? context, int rows)
    {
        int d = flow.Dimension;
        int c = flow.ContextDimension;
        double[][]? sum = null;
        for (int start = 0; start < rows; start += DataParallelGradient<double>.BlockRows)
        {
            int blockRows = Math.Min(DataParallelGradient<double>.BlockRows, rows - start);
            foreach (Parameter<double> p in flow.Parameters)
            {
                p.ZeroGradients();
            }

            var tape = new Tape<double>(isRecording: true, isTraining: true);
            Node<double> x = tape.Constant(data.AsSpan(start * d, blockRows * d), blockRows, d);
            Node<double>? given = context is null ? null : tape.Constant(context.AsSpan(start * c, blockRows * c), blockRows, c);
            tape.Backward(tape.Scale(tape.Sum(flow.DensityLn(tape, x, given)), -1.0 / rows));
            if (sum is null)
            {
                sum = [.. flow.Parameters.Select(p => p.Gradients.ToArray())];
                continue;
            }

            for (int p = 0; p < sum.Length; p++)
            {
                double[] block = flow.Parameters[p].Gradients;
                for (int i = 0; i < block.Length; i++)
                {
                    sum[p][i] += block[i];
                }
            }
        }

        return sum!;
    }

    // MAF's masked weights (masks of bands) and RealNVP's dense ones take part in the running sum, and so do a MADE's
    // whose feature order makes masks that are not bands, and a conditional MAF's; IAF's density runs each MADE once per
    // feature, so its weights (used several times a pass) are left to the reduction. 600 rows are 5 blocks: 1 thread
    // runs every block in turn, 3 and 16 run blocks side by side. A MADE of 2 × 256 on 256 rows is 2 blocks whose
    // products (2²³ multiply-adds) split their rows among 32 threads each at 64, the running sum included.
    [Theory]
    [InlineData("MAF")]
    [InlineData("RealNVP")]
    [InlineData("IAF")]
    [InlineData("ConditionalMAF")]
    [InlineData("MAF, masks not bands")]
    [InlineData("MAF, split products")]
    public void DataParallelGradient_IsTheBlocksGradientsSummedInBlockOrder_BitForBit_OnAnyThreads(string name)
    {
        (TransformedDistribution<double> flow, int rows, int[] degrees) = name switch
        {
            "IAF" => (InverseAutoregressiveFlow.Create<double>(2, transforms: 2, hiddenFeatures: [16, 16], seed: 1), 600, new[] { 1, 3, 16, 1 }),
            "MAF, masks not bands" => (new TransformedDistribution<double>(new StandardNormal<double>(3),
                new Chain<double>(new MaskedAutoregressive<double>(3, [16, 16], order: [0, 2, 1], seed: 1))), 600, new[] { 1, 3, 16, 1 }),
            "MAF, split products" => (MaskedAutoregressiveFlow.Create<double>(8, transforms: 2, hiddenFeatures: [256, 256], seed: 1,
                gaussianStart: GaussianStart.None), 256, new[] { 1, 64, 2, 1 }),
            _ => (Create(name), 600, new[] { 1, 3, 16, 1 }),
        };
        BijectorCases.Randomized(flow.Bijector, seed: 5, scale: 0.2);
        double[,] rowsOfData = flow.Dimension == 2 ? Data : TestData.StandardNormal(rows, flow.Dimension, seed: 2, scale: 0.5);
        double[] data = TestData.Flatten(rowsOfData);
        double[]? context = null;
        if (flow.ContextDimension == 0)
        {
            flow.DensityLn(rowsOfData); // initializes the Gaussian start
        }
        else
        {
            flow.DensityLn(rowsOfData, ContextOf(rowsOfData));
            context = TestData.Flatten(ContextOf(rowsOfData));
        }

        double[][] expected = BlockOrderSum(flow, data, context, rows);

        var gradient = new DataParallelGradient<double>(flow);
        foreach (int degree in degrees)
        {
            gradient.Run(data, context, 0, rows, degree);
            for (int p = 0; p < expected.Length; p++)
            {
                Assert.True(expected[p].AsSpan().SequenceEqual(flow.Parameters[p].Gradients), $"{flow.Parameters[p].Name} at {degree} threads");
            }
        }
    }

    // Review finding: the shared W ⊙ M of a data-parallel step was keyed on any masked weight, and BNAF's weights are
    // computed on the tape, so from the second step on it formed them from the last step's values. After an Adam step
    // the gradient must still be that of a fresh single pass over the updated parameters.
    [Theory]
    [InlineData("BNAF")]
    [InlineData("MAF")]
    public void DataParallelGradient_AfterAnAdamStep_MatchesAFreshSinglePass(string name)
    {
        TransformedDistribution<double> flow = name == "BNAF"
            ? BlockNeuralAutoregressiveFlow.Create<double>(2, transforms: 2, hiddenFactors: [4, 4], seed: 1)
            : Create(name);
        flow.DensityLn(Data); // initializes the Gaussian start
        double[] data = TestData.Flatten(Data);
        const int rows = 300;
        var gradient = new DataParallelGradient<double>(flow);
        var adam = new Adam<double>(flow.Parameters, new AdamOptions { LearningRate = 0.05 });
        gradient.Run(data, null, 0, rows, 2);
        adam.Step();

        double loss = gradient.Run(data, null, 0, rows, 2);
        double[][] split = [.. flow.Parameters.Select(p => p.Gradients.ToArray())];
        (double expectedLoss, double[][] expected) = SinglePass(flow, data, rows);

        AssertClose.Relative(expectedLoss, loss, 1e-13, "loss");
        for (int p = 0; p < expected.Length; p++)
        {
            AssertClose.All(expected[p], split[p], 1e-11, because: flow.Parameters[p].Name);
        }
    }

    // A training BatchNorm normalizes with the whole batch's statistics: its batch is never split, so the step is the
    // single pass bit for bit, running statistics included.
    [Fact]
    public void DataParallelGradient_OfATrainingBatchNorm_IsTheSinglePassBitForBit()
    {
        TransformedDistribution<double> reference = Create("BatchNorm");
        TransformedDistribution<double> split = Create("BatchNorm");
        double[] data = TestData.Flatten(Data);
        (double expectedLoss, double[][] expected) = SinglePass(reference, data, 300);

        double loss = new DataParallelGradient<double>(split).Run(data, null, 0, 300, 4);

        Assert.Equal(expectedLoss, loss);
        for (int p = 0; p < expected.Length; p++)
        {
            Assert.Equal(expected[p], split.Parameters[p].Gradients.ToArray());
        }

        Assert.Equal(Saved(reference), Saved(split)); // the running statistics are saved with the flow
    }
}

/// <summary>The parallel loop under the evaluations and the training step.</summary>
public sealed class ParallelLoopTests
{
    private sealed class Record(int count) : IParallelWork
    {
        public int[] Runs { get; } = new int[count];

        public int? Throw { get; init; }

        public void Run(int index, int worker)
        {
            Interlocked.Increment(ref Runs[index]);
            if (index == Throw)
            {
                throw new InvalidOperationException($"item {index}");
            }
        }
    }

    [Theory]
    [InlineData(0, 4)]
    [InlineData(1, 4)]
    [InlineData(7, 1)]
    [InlineData(100, 3)]
    [InlineData(100, 64)]
    public void For_RunsEveryItemOnce(int count, int degree)
    {
        var work = new Record(count);

        ParallelLoop.For(work, count, degree);

        Assert.All(work.Runs, r => Assert.Equal(1, r));
    }

    // A call's items share its degree among their products: one item takes all of it, items that fill it none beyond
    // their own thread, so a call never uses more threads than its degree.
    [Theory]
    [InlineData(8, 1, 8)]
    [InlineData(8, 2, 4)]
    [InlineData(8, 3, 2)]
    [InlineData(8, 8, 1)]
    [InlineData(2, 9, 1)]
    [InlineData(1, 1, 1)]
    public void KernelParallelism_SharesTheDegreeAmongTheItems(int degree, int items, int share)
        => Assert.Equal(share, KernelParallelism.ShareOf(degree, items));

    // Helpers linger for the loop's next run: runs back to back (served by the lingering helper), after pauses longer than
    // the linger (served by a new pool entry), with a loop nested in the items (its own cached loop), each item once.
    [Fact]
    public void For_InQuickSuccession_AfterPauses_AndNested_RunsEveryItemOnce()
    {
        var inner = new Record[8];
        var outer = new Nested(inner);
        for (int run = 0; run < 200; run++)
        {
            for (int i = 0; i < inner.Length; i++)
            {
                inner[i] = new Record(run % 5);
            }

            var work = new Record(1 + (run % 9));
            ParallelLoop.For(work, work.Runs.Length, 4);
            Assert.All(work.Runs, r => Assert.Equal(1, r));
            ParallelLoop.For(outer, inner.Length, 3);
            Assert.All(inner, record => Assert.All(record.Runs, r => Assert.Equal(1, r)));
            if (run % 20 == 0)
            {
                Thread.Sleep(2);
            }
        }
    }

    private sealed class Nested(Record[] inner) : IParallelWork
    {
        public void Run(int index, int worker) => ParallelLoop.For(inner[index], inner[index].Runs.Length, 2);
    }

    [Fact]
    public void For_RethrowsAWorkersException_AndStaysUsable()
    {
        var failing = new Record(50) { Throw = 17 };

        var e = Assert.Throws<InvalidOperationException>(() => ParallelLoop.For(failing, 50, 4));
        Assert.Equal("item 17", e.Message);

        var work = new Record(50);
        ParallelLoop.For(work, 50, 4);
        Assert.All(work.Runs, r => Assert.Equal(1, r));
    }
}

/// <summary>Runs alone: it reads the library's process-wide count of busy threads.</summary>
[CollectionDefinition(nameof(ParallelismBudgetRunsAlone), DisableParallelization = true)]
public sealed class ParallelismBudgetRunsAlone;

/// <summary>
/// The steady-state training step allocates nothing on its calling thread. It runs alone, so that other test classes do
/// not fill the thread pool around it.
/// </summary>
/// <remarks>
/// The step queues a pool work item for its helper, and the runtime sometimes allocates for the pool on the thread
/// that queues: a new pool thread when idle ones have retired (136 bytes on this runtime, measured), a queue segment.
/// Three of about a dozen full CI test runs saw 3,328 to 8,088 bytes in the single window of 20 steps this test had;
/// it never reproduced otherwise (two full suite runs and 600 windows, 400 of them under artificial load, were clean).
/// So the step is measured in 8 windows and at most one may see such bytes, at most 8 KB: an allocation of the step's
/// own, even one every 20 steps, shows in every window.
/// </remarks>
[Collection(nameof(ParallelismBudgetRunsAlone))]
public sealed class SteadyStateAllocationTests
{
    [Fact]
    public void DataParallelGradient_InTheSteadyState_AllocatesNothingOnTheCallingThread()
    {
        TransformedDistribution<double> flow = ParallelFitTests.Create("MAF");
        flow.DensityLn(ParallelFitTests.Data);
        AssertStepsAllocateNothing(flow, TestData.Flatten(ParallelFitTests.Data), rows: 256, stepsPerWindow: 20);
    }

    // One block on two threads: its products split (2 × 256 hidden units, 2²³ multiply-adds a product), through the
    // nested loop, the shared packing of B and the pinned operands, and allocate nothing either.
    [Fact]
    public void OneBlockStep_WithSplitProducts_AllocatesNothingOnTheCallingThread()
    {
        var flow = MaskedAutoregressiveFlow.Create<double>(8, transforms: 2, hiddenFeatures: [256, 256], seed: 1, gaussianStart: GaussianStart.None);
        double[] data = TestData.Flatten(TestData.Rows(TestData.LoadCsv("moons2d_train.csv"), 0, 512));
        AssertStepsAllocateNothing(flow, data, rows: DataParallelGradient<double>.BlockRows, stepsPerWindow: 10);
    }

    // Steps of `rows` rows at degree 2, in 8 windows after a warm-up: once on the calling thread alone (every block and
    // the reduction run there, so whatever it keeps per thread exists), then in parallel until tiered compilation has
    // settled. At most one window may see bytes, and no more than the runtime's episodes did (all below one 8 KB
    // allocation quantum).
    private static void AssertStepsAllocateNothing(TransformedDistribution<double> flow, double[] data, int rows, int stepsPerWindow)
    {
        var gradient = new DataParallelGradient<double>(flow);
        gradient.Run(data, null, 0, rows, 1);
        for (int i = 0; i < 30; i++)
        {
            gradient.Run(data, null, 0, rows, 2);
        }

        var windows = new long[8];
        for (int w = 0; w < windows.Length; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < stepsPerWindow; i++)
            {
                gradient.Run(data, null, 0, rows, 2);
            }

            windows[w] = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.True(windows.Count(bytes => bytes != 0) <= 1 && windows.Max() <= 8192,
            $"bytes allocated per window of {stepsPerWindow} steps: {string.Join(", ", windows)}");
    }
}

/// <summary>No oversubscription: a loop started while every core already works for the library runs on its own thread.</summary>
[Collection(nameof(ParallelismBudgetRunsAlone))]
public sealed class ParallelismBudgetTests
{
    // Items that hold their thread until released, counting how many have started.
    private sealed class Hold(ManualResetEventSlim gate) : IParallelWork
    {
        public int Started;

        public void Run(int index, int worker)
        {
            Interlocked.Increment(ref Started);
            gate.Wait(TimeSpan.FromSeconds(60));
        }
    }

    private sealed class Threads : IParallelWork
    {
        public System.Collections.Concurrent.ConcurrentDictionary<int, bool> Seen { get; } = new();

        public void Run(int index, int worker)
        {
            Seen[Environment.CurrentManagedThreadId] = true;
            Thread.Sleep(2); // long enough for a helper to join if one were granted
        }
    }

    // A call whose items run alone (one chunk, one block) but whose products may split counts its thread: with such
    // callers on every core but this one, a product on this thread finds no helper free.
    [Fact]
    public void CallersRunningOneItemAlone_CountAsBusy_SoProductsFindNoHelper()
    {
        int cores = Environment.ProcessorCount;
        using var gate = new ManualResetEventSlim(false);
        var holds = Enumerable.Range(0, cores - 1).Select(_ => new Hold(gate)).ToArray();
        Thread[] holders = [.. holds.Select(hold => new Thread(() => ParallelLoop.For(hold, 1, cores)))];
        foreach (Thread holder in holders)
        {
            holder.Start();
        }

        try
        {
            Assert.True(SpinWait.SpinUntil(() => holds.All(h => Volatile.Read(ref h.Started) == 1), TimeSpan.FromSeconds(30)),
                "precondition: every holder runs its item");
            Assert.False(ParallelLoop.HelperAvailable(cores));
        }
        finally
        {
            gate.Set();
            foreach (Thread holder in holders)
            {
                holder.Join();
            }
        }

        Assert.True(cores == 1 || ParallelLoop.HelperAvailable(cores));
    }

    [Fact]
    public void For_WhileEveryCoreIsBusy_RunsOnTheCallingThreadAlone()
    {
        int cores = Environment.ProcessorCount;
        using var gate = new ManualResetEventSlim(false);
        var hold = new Hold(gate);
        var holder = new Thread(() => ParallelLoop.For(hold, cores, cores));
        holder.Start();
        try
        {
            Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref hold.Started) == cores, TimeSpan.FromSeconds(30)),
                $"precondition: the holding loop runs {cores} items at once");

            var threads = new Threads();
            ParallelLoop.For(threads, 16, cores);

            Assert.Equal([Environment.CurrentManagedThreadId], threads.Seen.Keys);
        }
        finally
        {
            gate.Set();
            holder.Join();
        }
    }
}
