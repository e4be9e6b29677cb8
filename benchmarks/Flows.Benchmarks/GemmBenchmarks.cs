using System.Numerics;
using BenchmarkDotNet.Attributes;
using Flows.Numerics;
using MathNet.Numerics.LinearAlgebra;

namespace Flows.Benchmarks;

/// <summary>
/// C = A·B for the shapes of the issue (m × k × n), one thread: the naive triple loop (baseline), MathNet.Numerics'
/// managed dense multiply, and Flows' packed FMA kernel. GFLOP/s = 2mkn / median.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 2, iterationCount: 7)]
[GenericTypeArguments(typeof(double))]
[GenericTypeArguments(typeof(float))]
public class GemmBenchmarks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _a = null!;
    private T[] _b = null!;
    private T[] _c = null!;
    private Matrix<T> _matrixA = null!;
    private Matrix<T> _matrixB = null!;
    private Matrix<T> _matrixC = null!;

    /// <summary>m × k × n.</summary>
    [Params("512x8x64", "512x64x64", "1024x512x512", "2048x2048x2048")]
    public string Shape { get; set; } = "512x8x64";

    private int M => int.Parse(Shape.Split('x')[0]);

    private int K => int.Parse(Shape.Split('x')[1]);

    private int N => int.Parse(Shape.Split('x')[2]);

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _a = [.. Enumerable.Range(0, M * K).Select(_ => T.CreateTruncating(random.NextDouble() - 0.5))];
        _b = [.. Enumerable.Range(0, K * N).Select(_ => T.CreateTruncating(random.NextDouble() - 0.5))];
        _c = new T[M * N];
        _matrixA = Matrix<T>.Build.Dense(M, K, (i, j) => _a[(i * K) + j]);
        _matrixB = Matrix<T>.Build.Dense(K, N, (i, j) => _b[(i * N) + j]);
        _matrixC = Matrix<T>.Build.Dense(M, N);
    }

    /// <summary>The i-k-j triple loop (skipped at 2048³, where it runs for minutes).</summary>
    [Benchmark(Baseline = true)]
    public T Naive()
    {
        int m = M, k = K, n = N;
        if (m * (long)k * n > 1L << 30)
        {
            return T.Zero;
        }

        Array.Clear(_c);
        for (int i = 0; i < m; i++)
        {
            for (int p = 0; p < k; p++)
            {
                T aip = _a[(i * k) + p];
                for (int j = 0; j < n; j++)
                {
                    _c[(i * n) + j] += aip * _b[(p * n) + j];
                }
            }
        }

        return _c[0];
    }

    /// <summary>MathNet.Numerics' dense multiply into a preallocated result.</summary>
    [Benchmark]
    public T MathNet()
    {
        _matrixA.Multiply(_matrixB, _matrixC);
        return _matrixC[0, 0];
    }

    /// <summary>Flows' packed kernel.</summary>
    [Benchmark]
    public T Flows()
    {
        Gemm.Multiply<T>(_a, _b, _c, M, K, N, accumulate: false);
        return _c[0];
    }
}
