using System.Numerics;
using BenchmarkDotNet.Attributes;
using Flows.Benchmarks;
using TorchSharp;
using static TorchSharp.torch;

namespace Flows.Peers;

/// <summary>
/// The PEERS.md workloads (MAF-8, NSF-8, MAF-64) and the conditional NSF-8 with a 32-feature context (CNSF-8) in Flows
/// and in TorchSharp (libtorch CPU), at one thread and at all cores (<see cref="Threads"/>), in one run:
/// a training step (log-density of a batch, mean NLL, backward, Adam), log-density of 65,536 points without gradients,
/// and sampling. The Flows side is FlowWorkloadBenchmarks' code; the torch model starts from the Flows model's
/// parameters, so both train, score and sample the same function. Points per second = points / median time.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[Config(typeof(PeerJobConfig))]
[GenericTypeArguments(typeof(double))]
[GenericTypeArguments(typeof(float))]
public class PeerWorkloadBenchmarks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Rows per torch log-density call: chunks of 4,096 were the fastest in <c>--density-chunks</c>, 2.5–3.5 times
    /// faster than one call on all 65,536 (the intermediates of a chunk stay in cache); Flows also scores 4,096 rows at a time.</summary>
    private const int TorchDensityChunkRows = 4_096;

    private FlowWorkload<T> _workload = null!;
    private T[] _densities = null!;
    private T[] _samples = null!;

    private TorchFlow? _torchFlow;
    private optim.Optimizer? _torchOptimizer;
    private Tensor? _torchData;
    private Tensor? _torchContext;
    private Generator? _generator;

    /// <summary>MAF-8 and NSF-8 (d = 8, MADE 2 × 64, batch 512), MAF-64 (d = 64, MADE 2 × 512, batch 1024), or CNSF-8
    /// (NSF-8 given a 32-feature context).</summary>
    [ParamsSource(nameof(Workloads))]
    public string Workload { get; set; } = "MAF-8";

    /// <summary>The values of <see cref="Workload"/>: every workload, or those named in the environment variable
    /// FLOWS_PEER_WORKLOADS (comma-separated, such as <c>NSF-8,CNSF-8</c>).</summary>
    public static IEnumerable<string> Workloads
        => Environment.GetEnvironmentVariable("FLOWS_PEER_WORKLOADS")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            ?? FlowWorkload.Names;

    /// <summary>Flows, or TorchSharp 0.107.0 on libtorch 2.10 (CPU).</summary>
    [Params("Flows", "TorchSharp")]
    public string Library { get; set; } = "Flows";

    /// <summary>Threads each library may use: 1, and every core (<see cref="Environment.ProcessorCount"/>). Flows gets
    /// it as the flow's MaxDegreeOfParallelism and the training step's degree, torch as <c>torch.set_num_threads</c>.</summary>
    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; } = 1;

    /// <summary>The values of <see cref="Threads"/>: 1 and the core count (just 1 on a one-core machine).</summary>
    public static IEnumerable<int> ThreadCounts => Environment.ProcessorCount > 1 ? [1, Environment.ProcessorCount] : [1];

    /// <summary>Samples drawn per sampling invocation (MAF sampling takes d sequential passes per layer).</summary>
    public int SampleCount => FlowWorkload.Shape(Workload).SampleCount;

    private bool Torch => Library == "TorchSharp";

    [GlobalSetup]
    public void Setup()
    {
        _workload = new FlowWorkload<T>(Workload, Threads);
        _densities = new T[FlowWorkload.EvaluationPoints];
        _samples = new T[SampleCount * _workload.Features];
        if (Torch)
        {
            torch.set_num_threads(Threads);
            ScalarType dtype = typeof(T) == typeof(double) ? ScalarType.Float64 : ScalarType.Float32;
            _torchFlow = TorchFlow.From(_workload.Flow, dtype);
            _torchOptimizer = optim.Adam(_torchFlow.parameters(), lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8);
            _torchData = Tensor(_workload.Data, _workload.Features, dtype);
            _torchContext = _workload.ContextFeatures == 0 ? null : Tensor(_workload.Context, _workload.ContextFeatures, dtype);
            _generator = new Generator(3);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _torchOptimizer?.Dispose();
        _torchFlow?.Dispose();
        _torchData?.Dispose();
        _torchContext?.Dispose();
        _generator?.Dispose();
    }

    /// <summary>One training step on the next consecutive batch.</summary>
    [Benchmark]
    public T TrainingStep()
    {
        if (!Torch)
        {
            return _workload.TrainingStep();
        }

        int start = _workload.NextBatchStart();
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor torchLoss = -_torchFlow!.LogProb(_torchData!.narrow(0, start, _workload.BatchSize), _torchContext?.narrow(0, start, _workload.BatchSize)).mean();
        _torchOptimizer!.zero_grad();
        torchLoss.backward();
        _torchOptimizer.step();
        return torchLoss.item<T>();
    }

    /// <summary>log p(x) of 65,536 points, no gradients, into a .NET array.</summary>
    [Benchmark]
    public T DensityLn()
    {
        if (Torch)
        {
            using IDisposable noGrad = torch.no_grad();
            for (int start = 0; start < FlowWorkload.EvaluationPoints; start += TorchDensityChunkRows)
            {
                using DisposeScope scope = torch.NewDisposeScope();
                _torchFlow!.LogProb(_torchData!.narrow(0, start, TorchDensityChunkRows), _torchContext?.narrow(0, start, TorchDensityChunkRows))
                    .data<T>().CopyTo(_densities, start, 0);
            }

            return _densities[0];
        }

        return _workload.DensityLn();
    }

    /// <summary>Draws <see cref="SampleCount"/> samples into a .NET array.</summary>
    [Benchmark]
    public T Sample()
    {
        if (Torch)
        {
            using IDisposable noGrad = torch.no_grad();
            using DisposeScope scope = torch.NewDisposeScope();
            _torchFlow!.Sample(SampleCount, _generator!, _torchContext?.narrow(0, 0, SampleCount)).data<T>().CopyTo(_samples, 0, 0);
            return _samples[0];
        }

        return _workload.Sample();
    }

    // n × features rows of the workload's data as a tensor of the benchmark's element type.
    private static Tensor Tensor(T[] values, int features, ScalarType dtype)
        => values is double[] doubles
            ? torch.tensor(doubles, [values.Length / features, features], dtype)
            : torch.tensor((float[])(object)values, [values.Length / features, features], dtype);
}
