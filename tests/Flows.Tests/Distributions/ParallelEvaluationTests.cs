using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Numerics;
using Flows.Tests.Testing;

namespace Flows.Tests.Distributions;

/// <summary>
/// Parallel array-level evaluation (issue 16, parts 1 and 3): rows are split into fixed chunks across threads, so any
/// thread count gives the bits of the chunk-by-chunk reference on one tape, and concurrent callers run concurrently.
/// </summary>
public sealed class ParallelEvaluationTests
{
    private const int Rows = 5 * TransformedDistribution<double>.EvaluationChunkRows + 37; // 6 chunks, the last partial

    public static TheoryData<int> Degrees => [1, 2, 3, 16];

    public static TheoryData<string> Presets => ["MAF", "NSF", "RealNVP", "ConditionalMAF", "DefendedMAF", "DefendedConditionalMAF"];

    public static TheoryData<string> Cases => [.. BijectorCases.Names];

    // A fitted-looking flow: random parameters, and a first evaluation that initializes its Gaussian start's layers.
    private static TransformedDistribution<double> Preset(string name)
    {
        TransformedDistribution<double> flow = name switch
        {
            "MAF" => MaskedAutoregressiveFlow.Create<double>(3, transforms: 3, hiddenFeatures: [16, 16], seed: 1),
            "NSF" => NeuralSplineFlow.Create<double>(3, transforms: 2, hiddenFeatures: [16, 16], seed: 1),
            "RealNVP" => RealNvpFlow.Create<double>(4, transforms: 3, hiddenFeatures: [16], seed: 1),
            // A defensive share in use: 30 % of the rows drawn from the Gaussian, which the first evaluation fits.
            "DefendedMAF" => MaskedAutoregressiveFlow.Create<double>(3, transforms: 2, hiddenFeatures: [16], seed: 1, defensiveShare: DefensiveShare.Fixed(0.3)),
            "DefendedConditionalMAF" => MaskedAutoregressiveFlow.Create<double>(3, transforms: 2, hiddenFeatures: [16], contextDimension: 2, seed: 1,
                defensiveShare: DefensiveShare.Fixed(0.3)),
            _ => MaskedAutoregressiveFlow.Create<double>(3, transforms: 2, hiddenFeatures: [16, 16], contextDimension: 2, seed: 1),
        };
        Perturb(flow, seed: 9);
        flow.MaxDegreeOfParallelism = 1;
        flow.DensityLn(TestData.StandardNormal(600, flow.Dimension, seed: 2), Context(flow, 600));
        flow.MaxDegreeOfParallelism = null;
        return flow;
    }

    private static void Perturb(TransformedDistribution<double> flow, int seed)
    {
        var random = new Random(seed);
        foreach (Parameter<double> parameter in flow.Parameters)
        {
            for (int k = 0; k < parameter.Values.Length; k++)
            {
                parameter.Values[k] += 0.1 * TestData.NextNormal(random);
            }
        }
    }

    private static double[,]? Context(TransformedDistribution<double> flow, int rows)
        => flow.ContextDimension == 0 ? null : TestData.StandardNormal(rows, flow.ContextDimension, seed: 4);

    private static double[] DensityLnAt(TransformedDistribution<double> flow, int degree, double[,] x, double[,]? context)
    {
        flow.MaxDegreeOfParallelism = degree;
        try
        {
            return flow.DensityLn(x, context);
        }
        finally
        {
            flow.MaxDegreeOfParallelism = null;
        }
    }

    private static double[,] SampleAt(TransformedDistribution<double> flow, int degree, int count, int seed, double[,]? context)
    {
        flow.MaxDegreeOfParallelism = degree;
        try
        {
            return flow.Sample(count, new Random(seed), context);
        }
        finally
        {
            flow.MaxDegreeOfParallelism = null;
        }
    }

    // The reference: what the array-level calls computed before they had threads, chunk by chunk on one tape.
    private static double[] ReferenceDensityLn(TransformedDistribution<double> flow, double[,] x, double[,]? context)
    {
        int rows = x.GetLength(0);
        int d = flow.Dimension;
        double[] flat = TestData.Flatten(x);
        double[]? flatContext = context is null ? null : TestData.Flatten(context);
        var result = new double[rows];
        var tape = new Tape<double>(isRecording: false);
        for (int start = 0; start < rows; start += TransformedDistribution<double>.EvaluationChunkRows)
        {
            int count = Math.Min(TransformedDistribution<double>.EvaluationChunkRows, rows - start);
            tape.Reset();
            Node<double> xNode = tape.Constant(flat.AsSpan(start * d, count * d), count, d);
            Node<double>? c = flatContext is null
                ? null
                : tape.Constant(flatContext.AsSpan(start * flow.ContextDimension, count * flow.ContextDimension), count, flow.ContextDimension);
            flow.DensityLn(tape, xNode, c).Values.CopyTo(result.AsSpan(start, count));
        }

        return result;
    }

    private static double[] ReferenceSample(TransformedDistribution<double> flow, int count, Random random, double[,]? context)
    {
        int d = flow.Dimension;
        double[]? flatContext = context is null ? null : TestData.Flatten(context);
        var result = new double[count * d];
        var tape = new Tape<double>(isRecording: false);
        for (int start = 0; start < count; start += TransformedDistribution<double>.EvaluationChunkRows)
        {
            int rows = Math.Min(TransformedDistribution<double>.EvaluationChunkRows, count - start);
            tape.Reset();
            Node<double>? c = flatContext is null
                ? null
                : tape.Constant(flatContext.AsSpan(start * flow.ContextDimension, rows * flow.ContextDimension), rows, flow.ContextDimension);
            flow.Sample(tape, rows, random, c).Values.CopyTo(result.AsSpan(start * d, rows * d));
        }

        return result;
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public void DensityLn_AtEveryThreadCount_EqualsTheChunkByChunkReference_BitForBit(string preset)
    {
        TransformedDistribution<double> flow = Preset(preset);
        double[,] x = TestData.StandardNormal(Rows, flow.Dimension, seed: 3);
        double[,]? context = Context(flow, Rows);
        double[] expected = ReferenceDensityLn(flow, x, context);

        foreach (int degree in new[] { 1, 2, 3, 16 })
        {
            Assert.Equal(expected, DensityLnAt(flow, degree, x, context));
        }
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public void Sample_AtEveryThreadCount_EqualsTheChunkByChunkReference_BitForBit(string preset)
    {
        TransformedDistribution<double> flow = Preset(preset);
        double[,]? context = Context(flow, Rows);
        double[] expected = ReferenceSample(flow, Rows, new Random(17), context);

        foreach (int degree in new[] { 1, 2, 3, 16 })
        {
            Assert.Equal(expected, TestData.Flatten(SampleAt(flow, degree, Rows, seed: 17, context)));
        }
    }

    // A call forms each masked weight's W ⊙ M once and shares it among its chunks; the next call must form it again
    // from the weights as they are then, or it would score and sample with the old weights.
    [Theory]
    [MemberData(nameof(Presets))]
    public void DensityLnAndSample_AfterTheWeightsChange_UseTheNewWeights(string preset)
    {
        TransformedDistribution<double> flow = Preset(preset);
        double[,] x = TestData.StandardNormal(Rows, flow.Dimension, seed: 3);
        double[,]? context = Context(flow, Rows);
        foreach (int degree in new[] { 1, 2 })
        {
            _ = DensityLnAt(flow, degree, x, context);
            _ = SampleAt(flow, degree, Rows, seed: 17, context);
        }

        Perturb(flow, seed: 21);
        double[] expectedDensity = ReferenceDensityLn(flow, x, context);
        double[] expectedSample = ReferenceSample(flow, Rows, new Random(17), context);
        foreach (int degree in new[] { 1, 2 })
        {
            Assert.Equal(expectedDensity, DensityLnAt(flow, degree, x, context));
            Assert.Equal(expectedSample, TestData.Flatten(SampleAt(flow, degree, Rows, seed: 17, context)));
        }
    }

    // Concurrent calls rent one pooled job each, and every job re-forms its shared products from the current weights.
    [Fact]
    public void DensityLn_FromManyThreadsAfterAWeightChange_EveryPooledJobUsesTheNewWeights()
    {
        TransformedDistribution<double> flow = Preset("MAF");
        double[,] x = TestData.StandardNormal(Rows, flow.Dimension, seed: 3);
        for (int round = 0; round < 3; round++)
        {
            Perturb(flow, seed: 30 + round);
            double[] expected = ReferenceDensityLn(flow, x, null);
            var results = new double[4][];
            using var start = new Barrier(results.Length);
            Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = results.Length }, t =>
            {
                start.SignalAndWait(TimeSpan.FromSeconds(30));
                results[t] = flow.DensityLn(x);
            });

            Assert.All(results, r => Assert.Equal(expected, r));
        }
    }

    [Theory]
    [MemberData(nameof(Degrees))]
    public void Sample_LeavesTheCallersRandomInTheSameState_AtEveryThreadCount(int degree)
    {
        TransformedDistribution<double> flow = Preset("MAF");
        var reference = new Random(23);
        ReferenceSample(flow, Rows, reference, null);
        var random = new Random(23);
        flow.MaxDegreeOfParallelism = degree;
        flow.Sample(Rows, random);

        Assert.Equal(reference.NextDouble(), random.NextDouble());
    }

    [Theory]
    [MemberData(nameof(Degrees))]
    public void Given_AtEveryThreadCount_EqualsTheRepeatedContextCall_BitForBit(int degree)
    {
        TransformedDistribution<double> flow = Preset("ConditionalMAF");
        double[] row = [0.3, -1.2];
        double[,] repeated = new double[Rows, 2];
        for (int i = 0; i < Rows; i++)
        {
            repeated[i, 0] = row[0];
            repeated[i, 1] = row[1];
        }

        double[,] x = TestData.StandardNormal(Rows, 3, seed: 8);
        double[] expectedDensity = ReferenceDensityLn(flow, x, repeated);
        double[] expectedSample = ReferenceSample(flow, Rows, new Random(5), repeated);
        flow.MaxDegreeOfParallelism = degree;
        ConditionedDistribution<double> given = flow.Given(row);

        Assert.Equal(expectedDensity, given.DensityLn(x));
        Assert.Equal(expectedSample, TestData.Flatten(given.Sample(Rows, new Random(5))));
    }

    // Every bijector of the property suite as a flow on a standard normal base, scored by 8 threads at once, each call
    // itself split over 3 threads: any shared mutable state in a layer (a cache, lazily refreshed vectors) shows up as a
    // difference from the serial reference.
    [Theory]
    [MemberData(nameof(Cases))]
    public void DensityLn_FromManyThreadsAtOnce_EqualsTheSerialReference_ForEveryBijector(string name)
    {
        BijectorCase c = BijectorCases.Get(name);
        IBijector<double> bijector = c.Create(seed: 3);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(bijector.Dimension), bijector);
        const int rows = 2 * TransformedDistribution<double>.EvaluationChunkRows + 5;
        double[,] x = BijectorCases.ModerateDataInputs(c, bijector.Dimension, rows, seed: 5);
        double[,]? context = Context(flow, rows);
        flow.MaxDegreeOfParallelism = 1;
        flow.DensityLn(x, context); // initializes data-initialized layers, as a first evaluation does
        double[] expected = ReferenceDensityLn(flow, x, context);
        double[] expectedSample = ReferenceSample(flow, rows, new Random(6), context);
        flow.MaxDegreeOfParallelism = 3;

        var results = new (double[] Density, double[] Sample)[8];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = results.Length }, t =>
        {
            results[t] = (flow.DensityLn(x, context), TestData.Flatten(flow.Sample(rows, new Random(6), context)));
        });

        Assert.All(results, r => Assert.Equal(expected, r.Density));
        Assert.All(results, r => Assert.Equal(expectedSample, r.Sample));
    }

    // InvertibleResidual refines its spectral-norm vectors on the first use after a weight change: many threads making
    // that first use at once must all see the one refined vector.
    [Fact]
    public void DensityLn_FromManyThreadsAfterAWeightChange_EqualsTheSerialReference()
    {
        TransformedDistribution<double> Create() => new(new StandardNormal<double>(2), new Chain<double>(
            new InvertibleResidual<double>(2, 16, seed: 1), Permutation<double>.Reverse(2), new InvertibleResidual<double>(2, 16, seed: 2)));
        double[,] x = TestData.StandardNormal(700, 2, seed: 7);
        TransformedDistribution<double> serial = Create();
        Perturb(serial, seed: 12);
        double[] expected = ReferenceDensityLn(serial, x, null);

        for (int round = 0; round < 5; round++)
        {
            TransformedDistribution<double> shared = Create();
            Perturb(shared, seed: 12);
            var results = new double[8][];
            using var start = new Barrier(results.Length);
            Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = results.Length }, t =>
            {
                start.SignalAndWait(TimeSpan.FromSeconds(30));
                results[t] = shared.DensityLn(x);
            });

            Assert.All(results, r => Assert.Equal(expected, r));
        }
    }

    [Fact]
    public void MaxDegreeOfParallelism_RefusesNonPositiveValues()
    {
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(2, transforms: 1, hiddenFeatures: [4]);

        Assert.Throws<ArgumentOutOfRangeException>("value", () => flow.MaxDegreeOfParallelism = 0);
        Assert.Throws<ArgumentOutOfRangeException>("value", () => Parallelism.MaxDegreeOfParallelism = -1);
    }
}

/// <summary>
/// Concurrency of the array-level calls, shown without timing: a bijector that waits in its inverse until a second
/// thread is inside it too. Under a lock around the whole call the second caller could never get there.
/// </summary>
public sealed class ConcurrentCallerTests
{
    // Identity map whose inverse waits at a barrier of two, so that it returns only once two passes are inside at once.
    private sealed class Rendezvous(int dimension) : Bijector<double>(dimension)
    {
        public Barrier? Barrier { get; set; }

        public bool Met { get; private set; } = true;

        public override IReadOnlyList<Parameter<double>> Parameters => [];

        protected override (Node<double> Output, Node<double> LogDet) ForwardCore(Tape<double> tape, Node<double> z, Node<double>? context)
            => (z, tape.Constant(new double[z.Rows], z.Rows, 1));

        protected override (Node<double> Output, Node<double> LogDet) InverseCore(Tape<double> tape, Node<double> x, Node<double>? context)
        {
            if (Barrier is { } barrier && !barrier.SignalAndWait(TimeSpan.FromSeconds(30)))
            {
                Met = false;
            }

            return (x, tape.Constant(new double[x.Rows], x.Rows, 1));
        }
    }

    [Fact]
    public async Task DensityLn_OnTwoThreads_RunsBothCallsAtOnce()
    {
        var rendezvous = new Rendezvous(2);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), rendezvous) { MaxDegreeOfParallelism = 1 };
        double[,] x = TestData.StandardNormal(10, 2, seed: 1);
        using var barrier = new Barrier(2);
        rendezvous.Barrier = barrier;

        Task<double[]>[] calls = [Task.Run(() => flow.DensityLn(x)), Task.Run(() => flow.DensityLn(x))];
        await Task.WhenAll(calls);

        Assert.True(rendezvous.Met, "the two calls never were inside the flow at the same time");
    }

    [Fact]
    public void DensityLn_OfTwoChunks_ScoresThemOnTwoThreadsAtOnce()
    {
        var rendezvous = new Rendezvous(2);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), rendezvous) { MaxDegreeOfParallelism = 16 };
        double[,] x = TestData.StandardNormal(2 * TransformedDistribution<double>.EvaluationChunkRows, 2, seed: 1);
        using var barrier = new Barrier(2);
        rendezvous.Barrier = barrier;

        flow.DensityLn(x);

        Assert.True(rendezvous.Met, "the two chunks never were scored at the same time");
    }
}
