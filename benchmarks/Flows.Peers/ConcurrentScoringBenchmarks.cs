using System.Numerics;
using BenchmarkDotNet.Attributes;
using Flows.Benchmarks;

namespace Flows.Peers;

/// <summary>
/// Concurrent scoring of one shared flow, as a web service does on its request threads: k threads each score
/// <see cref="BatchesPerThread"/> batches of 4,096 rows with the array-level <c>DensityLn</c>, for k = 1 and k = every
/// core, with the flow's degree of parallelism at 1 (each call on its caller's thread: k = 1 is the one-thread throughput,
/// and k callers scale only if no lock serializes them) and at the library default (all cores: one caller already uses
/// every core, k callers share them). Throughput in points/s = k × BatchesPerThread × 4,096 / median time; perfect
/// scaling keeps the time constant as k grows at degree 1.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[Config(typeof(PeerJobConfig))]
[GenericTypeArguments(typeof(double))]
[GenericTypeArguments(typeof(float))]
public class ConcurrentScoringBenchmarks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Rows per scoring call.</summary>
    public const int BatchRows = 4_096;

    /// <summary>Calls per thread per invocation.</summary>
    public const int BatchesPerThread = 4;

    private FlowWorkload<T> _workload = null!;
    private T[][] _densities = null!;

    /// <summary>MAF-8, NSF-8, MAF-64 or CNSF-8 (see <see cref="PeerWorkloadBenchmarks{T}"/>); FLOWS_PEER_WORKLOADS
    /// narrows them as there.</summary>
    [ParamsSource(nameof(Workloads))]
    public string Workload { get; set; } = "MAF-8";

    /// <summary>The values of <see cref="Workload"/>.</summary>
    public static IEnumerable<string> Workloads => PeerWorkloadBenchmarks<T>.Workloads;

    /// <summary>Calling threads k: 1 and the core count.</summary>
    [ParamsSource(nameof(CallerCounts))]
    public int Callers { get; set; } = 1;

    /// <summary>The values of <see cref="Callers"/>.</summary>
    public static IEnumerable<int> CallerCounts => PeerWorkloadBenchmarks<T>.ThreadCounts;

    /// <summary>The flow's MaxDegreeOfParallelism: 1, or 0 for the library default (null: all cores).</summary>
    [Params(1, 0)]
    public int Degree { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _workload = new FlowWorkload<T>(Workload, threads: Environment.ProcessorCount);
        _workload.Flow.MaxDegreeOfParallelism = Degree == 0 ? null : Degree;
        _densities = [.. Enumerable.Range(0, Callers).Select(_ => new T[BatchRows])];
    }

    /// <summary>k threads, each scoring its batches of the shared flow.</summary>
    [Benchmark]
    public T ScoreConcurrently()
    {
        int batches = FlowWorkload.EvaluationPoints / BatchRows;
        int d = _workload.Features;
        int c = _workload.ContextFeatures;
        Parallel.For(0, Callers, new ParallelOptions { MaxDegreeOfParallelism = Callers }, k =>
        {
            for (int b = 0; b < BatchesPerThread; b++)
            {
                int start = ((k * BatchesPerThread) + b) % batches * BatchRows;
                _workload.Flow.DensityLn(
                    _workload.Data.AsSpan(start * d, BatchRows * d), _densities[k], _workload.Context.AsSpan(start * c, BatchRows * c));
            }
        });
        return _densities[0][0];
    }
}
