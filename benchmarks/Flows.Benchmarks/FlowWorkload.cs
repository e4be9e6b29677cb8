using System.Numerics;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Neural;
using Flows.Training;

namespace Flows.Benchmarks;

/// <summary>The canonical workloads of PEERS.md as Flows builds them: shapes, presets and seeds. Flows.Peers links this
/// file, so both benchmark projects measure the same models.</summary>
internal static class FlowWorkload
{
    /// <summary>Points scored per log-density measurement.</summary>
    public const int EvaluationPoints = 65_536;

    /// <summary>The workloads, by name: the three of PEERS.md and the conditional NSF-8 of issue 14.</summary>
    public static readonly string[] Names = ["MAF-8", "NSF-8", "MAF-64", "CNSF-8"];

    /// <summary>Workloads run only when named (FLOWS_WORKLOADS, FLOWS_PEER_WORKLOADS): SOSPF-8, issue 19's sum-of-squares
    /// polynomial flow at NSF-8's shape.</summary>
    public static readonly string[] OptInNames = ["SOSPF-8"];

    /// <summary>MAF-8 and NSF-8: d = 8, MADE 2 × 64, batch 512, 4,096 samples per draw; MAF-64: d = 64, MADE 2 × 512,
    /// batch 1024, 128 samples (MAF sampling takes d sequential passes per layer); CNSF-8: NSF-8 conditioned on a
    /// 32-feature context (<see cref="ContextFeatures"/>).</summary>
    public static (int Features, int Hidden, int BatchSize, int SampleCount) Shape(string workload)
        => workload switch
        {
            "MAF-8" or "NSF-8" or "CNSF-8" or "SOSPF-8" => (8, 64, 512, 4096),
            "MAF-64" => (64, 512, 1024, 128),
            _ => throw new ArgumentException($"Unknown workload '{workload}'; expected one of {string.Join(", ", Names.Concat(OptInNames))}.", nameof(workload)),
        };

    /// <summary>Context features per row: 32 for CNSF-8, 0 for the unconditional workloads.</summary>
    public static int ContextFeatures(string workload) => workload == "CNSF-8" ? 32 : 0;

    /// <summary>The workload's flow: 5 transforms on a standard normal base, alternating MADE orders.</summary>
    /// <remarks>The canonical workloads of PEERS.md are the plain chains, which the TorchSharp peer mirrors layer by
    /// layer, so the presets' Gaussian start (extra affine layers, soft-clipped conditioner inputs) is off; SOSPF-8 keeps
    /// the soft clip (see <see cref="SumOfSquaresLayers{T}"/>).</remarks>
    public static TransformedDistribution<T> CreateFlow<T>(string workload) where T : unmanaged, IFloatingPointIeee754<T>
    {
        (int features, int hidden, _, _) = Shape(workload);
        return workload switch
        {
            "NSF-8" or "CNSF-8" => NeuralSplineFlow.Create<T>(features, transforms: 5, binCount: 8, hiddenFeatures: [hidden, hidden], tailBound: 5,
                contextDimension: ContextFeatures(workload), seed: 1, gaussianStart: GaussianStart.None),
            "SOSPF-8" => SumOfSquaresLayers<T>(features, hidden),
            _ => MaskedAutoregressiveFlow.Create<T>(features, transforms: 5, hiddenFeatures: [hidden, hidden], seed: 1, gaussianStart: GaussianStart.None),
        };
    }

    // The SOSPF preset's layers (K = 2 squares of degree r = 3 on [−5, 5], minimum slope 1e-3, alternating orders, its
    // layer seeds) with the soft clip (±3) of the conditioners' inputs that its Gaussian start brings, but not the start's
    // affine layers (the data are standardized already): without the clip plain Adam at 1e-3 diverges on this data within
    // 50 steps (loss 12.0 → 7e19), the previous layer's tails driving the next MADE's polynomial coefficients.
    private static TransformedDistribution<T> SumOfSquaresLayers<T>(int features, int hidden) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(1);
        var layers = new IBijector<T>[5];
        for (int i = 0; i < layers.Length; i++)
        {
            layers[i] = new MaskedAutoregressive<T>(features, [hidden, hidden], i % 2 == 0 ? Orders.Natural(features) : Orders.Reversed(features),
                transform: new SumOfSquaresPolynomialTransform<T>(), seed: random.Next(), conditionerInputBound: 3);
        }

        return new TransformedDistribution<T>(new StandardNormal<T>(features), new Chain<T>(layers));
    }
}

/// <summary>One workload, ready to run: a training step on consecutive batches, log-density of the evaluation points
/// without gradients, and sampling; a conditional workload pairs every row with its row of <see cref="Context"/>.</summary>
internal sealed class FlowWorkload<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Adam<T> _optimizer;
    private readonly DataParallelGradient<T> _gradient;
    private readonly T[] _densities = new T[FlowWorkload.EvaluationPoints];
    private readonly T[] _samples;
    private readonly Random _random = new(3);
    private readonly Tape<T> _singlePassTape = new(isRecording: true, isTraining: true);
    private int _batchStart;

    /// <param name="workload">The workload's name.</param>
    /// <param name="threads">Threads per call: the training step's blocks and the evaluations' chunks run on up to
    /// this many (1 gives the one-thread numbers, as a fit with MaxDegreeOfParallelism 1).</param>
    /// <param name="batchSize">Rows per training batch; null for the workload's own.</param>
    public FlowWorkload(string workload, int threads = 1, int? batchSize = null)
    {
        (Features, _, int defaultBatchSize, SampleCount) = FlowWorkload.Shape(workload);
        BatchSize = batchSize ?? defaultBatchSize;
        Threads = threads;
        Flow = FlowWorkload.CreateFlow<T>(workload);
        Flow.MaxDegreeOfParallelism = threads;
        _gradient = new DataParallelGradient<T>(Flow);
        _optimizer = new Adam<T>(Flow.Parameters);
        Data = PeerWorkload.Data<T>(FlowWorkload.EvaluationPoints, Features, seed: 2);
        ContextFeatures = FlowWorkload.ContextFeatures(workload);
        Context = PeerWorkload.Data<T>(FlowWorkload.EvaluationPoints, ContextFeatures, seed: 7);
        _samples = new T[SampleCount * Features];
    }

    public TransformedDistribution<T> Flow { get; }

    public int Threads { get; }

    /// <summary>The evaluation points, row-major; training batches are consecutive slices of them.</summary>
    public T[] Data { get; }

    public int Features { get; }

    /// <summary>The context of every evaluation point, row-major (empty for an unconditional workload); sampling
    /// conditions its i-th draw on row i.</summary>
    public T[] Context { get; }

    public int ContextFeatures { get; }

    public int BatchSize { get; }

    public int SampleCount { get; }

    /// <summary>First row of the next consecutive batch, wrapping around at the end of the data.</summary>
    public int NextBatchStart()
    {
        if ((_batchStart + BatchSize) * Features > Data.Length)
        {
            _batchStart = 0;
        }

        int start = _batchStart;
        _batchStart += BatchSize;
        return start;
    }

    /// <summary>Log-density of the next batch, mean NLL, backward, Adam: the step <c>Fit</c> takes, data-parallel over
    /// 128-row blocks on up to <see cref="Threads"/> threads.</summary>
    public T TrainingStep()
    {
        int start = NextBatchStart();
        T loss = _gradient.Run(Data, ContextFeatures == 0 ? null : Context, start, BatchSize, Threads);
        _optimizer.Step(Threads);
        return loss;
    }

    /// <summary>The same step on one tape over the whole batch, as steps ran before data parallelism: what the fixed
    /// 128-row split costs at one thread (the split sums the blocks' gradients, so the two differ in the last bits).</summary>
    public T SinglePassTrainingStep()
    {
        int start = NextBatchStart();
        Tape<T> tape = _singlePassTape;
        tape.Reset();
        Node<T> x = tape.Constant(Data.AsSpan(start * Features, BatchSize * Features), BatchSize, Features);
        Node<T>? context = ContextFeatures == 0 ? null : tape.Constant(Context.AsSpan(start * ContextFeatures, BatchSize * ContextFeatures), BatchSize, ContextFeatures);
        Node<T> loss = tape.Negate(tape.Mean(Flow.DensityLn(tape, x, context)));
        _optimizer.ZeroGradients();
        tape.Backward(loss);
        _optimizer.Step();
        return loss.Values[0];
    }

    /// <summary>log p(x) of the evaluation points, no gradients.</summary>
    public T DensityLn()
    {
        Flow.DensityLn(Data, _densities, Context);
        return _densities[0];
    }

    /// <summary>Draws <see cref="SampleCount"/> samples.</summary>
    public T Sample()
    {
        Flow.Sample(_samples, _random, Context.AsSpan(0, SampleCount * ContextFeatures));
        return _samples[0];
    }
}
