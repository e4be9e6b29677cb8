using System.Numerics;
using BenchmarkDotNet.Attributes;

namespace Flows.Benchmarks;

/// <summary>
/// The canonical workloads of PEERS.md (MAF-8, NSF-8, MAF-64), one thread: a training step (log-density of a batch,
/// mean NLL, backward, Adam), log-density of 65,536 points without gradients, and sampling. Points per second =
/// points / median time.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
[GenericTypeArguments(typeof(double))]
[GenericTypeArguments(typeof(float))]
public class FlowWorkloadBenchmarks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private FlowWorkload<T> _workload = null!;

    /// <summary>MAF-8 and NSF-8 (d = 8, MADE 2 × 64, batch 512) or MAF-64 (d = 64, MADE 2 × 512, batch 1024).</summary>
    [ParamsSource(nameof(Workloads))]
    public string Workload { get; set; } = "MAF-8";

    /// <summary>The values of <see cref="Workload"/>: every workload of PEERS.md, or those named in the environment
    /// variable FLOWS_WORKLOADS (comma-separated, such as <c>MAF-64</c>).</summary>
    public static IEnumerable<string> Workloads
        => Environment.GetEnvironmentVariable("FLOWS_WORKLOADS")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            ?? FlowWorkload.Names;

    [GlobalSetup]
    public void Setup() => _workload = new FlowWorkload<T>(Workload);

    /// <summary>One training step on the next consecutive batch.</summary>
    [Benchmark]
    public T TrainingStep() => _workload.TrainingStep();

    /// <summary>One training step on one tape over the whole batch, without the 128-row split (see
    /// <c>FlowWorkload.SinglePassTrainingStep</c>).</summary>
    [Benchmark]
    public T SinglePassTrainingStep() => _workload.SinglePassTrainingStep();

    /// <summary>log p(x) of 65,536 points, no gradients.</summary>
    [Benchmark]
    public T DensityLn() => _workload.DensityLn();

    /// <summary>Draws 4,096 samples (128 for MAF-64).</summary>
    [Benchmark]
    public T Sample() => _workload.Sample();
}
