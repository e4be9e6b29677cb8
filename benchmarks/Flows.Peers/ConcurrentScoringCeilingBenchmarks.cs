using System.Numerics;
using BenchmarkDotNet.Attributes;

namespace Flows.Peers;

/// <summary>
/// The host's own ceiling for <see cref="ConcurrentScoringBenchmarks{T}"/>, in the same run: k threads each run work that
/// shares nothing (multiply-adds in registers, or passes over a 256 KiB array of their own that stays in L2), for k = 1
/// and k = every core. On a machine whose cores are its own the time stays constant as k grows; on a VM it shows what
/// the host gives two busy vCPUs, the bound for any concurrent-scoring ratio measured beside it.
/// </summary>
[MedianColumn]
[Config(typeof(PeerJobConfig))]
public class ConcurrentScoringCeilingBenchmarks
{
    // About 10 ms a thread on a 3.7 GHz core: 8 chains of 256-bit multiply-adds, 2 a cycle.
    private const int Iterations = 10_000_000;
    private const int ArrayLength = 32_768;
    private const int Passes = 3_200;

    private double[][] _arrays = null!;

    /// <summary>Calling threads k: 1 and the core count.</summary>
    [ParamsSource(nameof(CallerCounts))]
    public int Callers { get; set; } = 1;

    /// <summary>The values of <see cref="Callers"/>.</summary>
    public static IEnumerable<int> CallerCounts => PeerWorkloadBenchmarks<double>.ThreadCounts;

    [GlobalSetup]
    public void Setup()
        => _arrays = [.. Enumerable.Range(0, Callers).Select(_ => Enumerable.Range(0, ArrayLength).Select(i => i * 1e-3).ToArray())];

    /// <summary>k threads, each multiply-adding in registers.</summary>
    [Benchmark]
    public double RegisterWork()
    {
        double total = 0;
        Parallel.For(0, Callers, new ParallelOptions { MaxDegreeOfParallelism = Callers }, _ =>
        {
            double sum = MultiplyAdds();
            lock (_arrays)
            {
                total += sum;
            }
        });
        return total;
    }

    /// <summary>k threads, each passing over its own L2-resident array.</summary>
    [Benchmark]
    public double CacheWork()
    {
        Parallel.For(0, Callers, new ParallelOptions { MaxDegreeOfParallelism = Callers }, k => Pass(_arrays[k]));
        return _arrays[0][0];
    }

    private static double MultiplyAdds()
    {
        var a = new Vector<double>(0.999999);
        var b = new Vector<double>(1e-6);
        Vector<double> c0 = Vector<double>.One, c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        for (int i = 0; i < Iterations; i++)
        {
            c0 = Vector.FusedMultiplyAdd(c0, a, b);
            c1 = Vector.FusedMultiplyAdd(c1, a, b);
            c2 = Vector.FusedMultiplyAdd(c2, a, b);
            c3 = Vector.FusedMultiplyAdd(c3, a, b);
            c4 = Vector.FusedMultiplyAdd(c4, a, b);
            c5 = Vector.FusedMultiplyAdd(c5, a, b);
            c6 = Vector.FusedMultiplyAdd(c6, a, b);
            c7 = Vector.FusedMultiplyAdd(c7, a, b);
        }

        return Vector.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7);
    }

    // x ← 0.999999 x + 1e-6, a read and a write per element: L2 bandwidth, not the cores' shared L3 or memory.
    private static void Pass(double[] x)
    {
        var a = new Vector<double>(0.999999);
        var b = new Vector<double>(1e-6);
        Span<Vector<double>> vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<double, Vector<double>>(x.AsSpan());
        for (int pass = 0; pass < Passes; pass++)
        {
            for (int i = 0; i < vectors.Length; i++)
            {
                vectors[i] = Vector.FusedMultiplyAdd(vectors[i], a, b);
            }
        }
    }
}
