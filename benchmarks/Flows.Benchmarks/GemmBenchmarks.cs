using System.Numerics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Flows.Numerics;
using MathNet.Numerics.LinearAlgebra;

namespace Flows.Benchmarks;

/// <summary>C = A·B (m × k times k × n) in double: a naive loop, MathNet's dense multiply and <see cref="Gemm"/>.</summary>
public class GemmDoubleBenchmarks : GemmBenchmarks<double>
{
}

/// <summary>C = A·B (m × k times k × n) in float: a naive loop, MathNet's dense multiply and <see cref="Gemm"/>.</summary>
public class GemmFloatBenchmarks : GemmBenchmarks<float>
{
}

/// <summary>
/// The shared body: one benchmark per implementation over the shapes of the issue, single-threaded.
/// The naive loop is skipped for 2048³ (it takes minutes); its row then reads NA.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(GemmConfig))]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 7)]
public abstract class GemmBenchmarks<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _a = [];
    private T[] _b = [];
    private T[] _c = [];
    private Matrix<T> _mathNetA = null!;
    private Matrix<T> _mathNetB = null!;
    private Matrix<T> _mathNetC = null!;

    /// <summary>The product's shape, m × k × n.</summary>
    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; }

    public static IEnumerable<GemmShape> Shapes =>
    [
        new(512, 8, 64),
        new(512, 64, 64),
        new(1024, 512, 512),
        new(128, 512, 512),
        new(2048, 2048, 2048),
    ];

    [GlobalSetup]
    public void Setup()
    {
        // Single-threaded throughout: the numbers are per core. MathNet's managed provider otherwise uses all cores.
        global::MathNet.Numerics.Control.UseSingleThread();
        global::MathNet.Numerics.Control.UseManaged();
        var (m, k, n) = (Shape.M, Shape.K, Shape.N);
        var random = new Random(42);
        _a = Fill(new T[m * k], random);
        _b = Fill(new T[k * n], random);
        _c = new T[m * n];

        // MathNet's dense storage is column-major: A·B row-major is Bᵀ·Aᵀ column-major, so the same arrays are
        // multiplied as (n × k)·(k × m) into an n × m result, which is C row-major. No copy, the same flops.
        _mathNetA = Matrix<T>.Build.Dense(n, k, _b);
        _mathNetB = Matrix<T>.Build.Dense(k, m, _a);
        _mathNetC = Matrix<T>.Build.Dense(n, m);
    }

    [Benchmark(Baseline = true)]
    public void Naive()
    {
        if (Shape.M * (long)Shape.K * Shape.N > 1L << 30)
        {
            return;
        }

        NaiveMultiply(_a, _b, _c, Shape.M, Shape.K, Shape.N);
    }

    [Benchmark]
    public void MathNet() => _mathNetA.Multiply(_mathNetB, _mathNetC);

    [Benchmark]
    public void FlowsGemm() => Gemm.Multiply<T>(_a, _b, _c, Shape.M, Shape.K, Shape.N, accumulate: false);

    /// <summary>C = A·Bᵀ, a dense layer's forward pass (B holds the weights row by row): the same flops as A·B.</summary>
    [Benchmark]
    public void FlowsGemmTransposedB() => Gemm.MultiplyTransposedB<T>(_a, _b, _c, Shape.M, Shape.K, Shape.N, accumulate: false);

    /// <summary>C = Aᵀ·B with the shape read as k × m times k × n, a weight gradient (m × n) summed over k rows of a
    /// batch: the same flops. A is the m·k values of the other products, read as a k × m matrix.</summary>
    [Benchmark]
    public void FlowsGemmTransposedA() => Gemm.MultiplyTransposedA<T>(_a, _b, _c, Shape.M, Shape.K, Shape.N, accumulate: false);

    // The textbook i-k-j loop: row-major friendly, no blocking, no explicit SIMD.
    private static void NaiveMultiply(T[] a, T[] b, T[] c, int m, int k, int n)
    {
        Array.Clear(c);
        for (int i = 0; i < m; i++)
        {
            for (int p = 0; p < k; p++)
            {
                T aip = a[(i * k) + p];
                int bRow = p * n;
                int cRow = i * n;
                for (int j = 0; j < n; j++)
                {
                    c[cRow + j] += aip * b[bRow + j];
                }
            }
        }
    }

    private static T[] Fill(T[] values, Random random)
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = T.CreateChecked((2 * random.NextDouble()) - 1);
        }

        return values;
    }
}

/// <summary>A GEMM shape, m × k × n, shown as such in the results table.</summary>
public readonly record struct GemmShape(int M, int K, int N)
{
    /// <summary>Floating-point operations of one product: 2·m·k·n.</summary>
    public double Flops => 2.0 * M * K * N;

    public override string ToString() => $"{M}x{K}x{N}";
}

/// <summary>Adds a GFLOP/s column (2·m·k·n over the median) to the GEMM benchmarks.</summary>
public sealed class GemmConfig : ManualConfig
{
    public GemmConfig() => AddColumn(new GigaflopsColumn());

    private sealed class GigaflopsColumn : IColumn
    {
        public string Id => nameof(GigaflopsColumn);

        public string ColumnName => "GFLOP/s";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "2·m·k·n / median time, in 10⁹ floating-point operations per second";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var report = summary[benchmarkCase];
            if (report?.ResultStatistics is not { } statistics
                || benchmarkCase.Parameters["Shape"] is not GemmShape shape)
            {
                return "NA";
            }

            // The naive loop returns at once for the largest shape; a time far below the real work is not a rate.
            if (benchmarkCase.Descriptor.WorkloadMethod.Name == "Naive" && shape.M * (long)shape.K * shape.N > 1L << 30)
            {
                return "skipped";
            }

            return (shape.Flops / statistics.Median).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
        }

        public bool IsAvailable(Summary summary) => true;

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    }
}
