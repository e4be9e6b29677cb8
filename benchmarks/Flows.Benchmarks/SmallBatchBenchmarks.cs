using System.Numerics;
using BenchmarkDotNet.Attributes;

namespace Flows.Benchmarks;

/// <summary>
/// MAF-64 on fewer rows than threads can share out by blocks: a training step on a batch of 128 rows (one data-parallel
/// block) and the log-density of 512 rows (one evaluation chunk), at 1 and 2 threads. With threads to spare, the block's
/// or chunk's large matrix products split their rows among them (KernelParallelism); at one thread they do not.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 5, iterationCount: 20)]
[GenericTypeArguments(typeof(double))]
[GenericTypeArguments(typeof(float))]
public class SmallBatchBenchmarks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int BatchRows = 128;
    private const int DensityRows = 512;

    private FlowWorkload<T> _workload = null!;
    private T[] _densities = null!;

    /// <summary>Threads per call.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _workload = new FlowWorkload<T>("MAF-64", Threads, BatchRows);
        _densities = new T[DensityRows];
    }

    /// <summary>Log-density, mean NLL, backward and Adam on the next 128 rows.</summary>
    [Benchmark]
    public T TrainingStep128() => _workload.TrainingStep();

    /// <summary>log p(x) of 512 rows, no gradients.</summary>
    [Benchmark]
    public T DensityLn512()
    {
        _workload.Flow.DensityLn(_workload.Data.AsSpan(0, DensityRows * _workload.Features), _densities);
        return _densities[0];
    }
}
