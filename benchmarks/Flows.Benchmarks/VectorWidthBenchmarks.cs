using System.Numerics;
using BenchmarkDotNet.Attributes;
using Flows.Numerics;

namespace Flows.Benchmarks;

/// <summary>
/// The canonical workloads (MAF-8, NSF-8, MAF-64), one thread, with Flows' own width-switched kernels forced to 256 or
/// 512 bits (<see cref="VectorWidth"/>): what the 512-bit paths gain on the same machine in the same run.
/// </summary>
/// <remarks>
/// <para>The width is forced on the calling thread around each operation, so it covers Flows' kernels that switch width
/// (the GEMM micro-kernel) and not TensorPrimitives, which picks its own; for the whole runtime at 256 bits, run
/// <see cref="FlowWorkloadBenchmarks{T}"/> with <c>DOTNET_PreferredVectorBitWidth=256</c> against the default. Work that
/// another thread does for the call (parallel inference) runs at the hardware width. On a machine without AVX-512,
/// 512 bits runs in software: its timings there measure the emulation, nothing else.</para>
/// <para>Arithmetic of MAF-64 (d = 64, MADE 64 → 512 → 512 → 128, 5 layers, batch 1024), dense-equivalent:
/// 360,448 multiply-adds per row and layer, so a forward pass of a batch is 2 · 360,448 · 1024 · 5 ≈ 3.69 GFLOP and a
/// training step (forward, input and weight gradients) about three times that, ≈ 11.1 GFLOP.</para>
/// </remarks>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
[GenericTypeArguments(typeof(double))]
[GenericTypeArguments(typeof(float))]
public class VectorWidthBenchmarks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private FlowWorkload<T> _workload = null!;

    /// <summary>MAF-8, NSF-8 or MAF-64 (see <see cref="FlowWorkload"/>).</summary>
    [Params("MAF-8", "NSF-8", "MAF-64")]
    public string Workload { get; set; } = "MAF-8";

    /// <summary>The forced vector width, in bits.</summary>
    [Params(256, 512)]
    public int Bits { get; set; } = 256;

    [GlobalSetup]
    public void Setup() => _workload = new FlowWorkload<T>(Workload);

    /// <summary>One training step on the next consecutive batch.</summary>
    [Benchmark]
    public T TrainingStep()
    {
        using VectorWidth.Scope width = VectorWidth.Force(Bits);
        return _workload.TrainingStep();
    }

    /// <summary>log p(x) of 65,536 points, no gradients.</summary>
    [Benchmark]
    public T DensityLn()
    {
        using VectorWidth.Scope width = VectorWidth.Force(Bits);
        return _workload.DensityLn();
    }

    /// <summary>Draws 4,096 samples (128 for MAF-64).</summary>
    [Benchmark]
    public T Sample()
    {
        using VectorWidth.Scope width = VectorWidth.Force(Bits);
        return _workload.Sample();
    }
}

/// <summary>Flows' GEMM at 256 and 512 bits on the MADE shapes of the workloads (batch × inputs × outputs), in double and
/// float, with a GFLOP/s column: the micro-kernel's own gain, apart from the rest of a step.</summary>
[MemoryDiagnoser]
[Config(typeof(GemmConfig))]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 7)]
[GenericTypeArguments(typeof(double))]
[GenericTypeArguments(typeof(float))]
public class GemmWidthBenchmarks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _a = [];
    private T[] _b = [];
    private T[] _c = [];

    /// <summary>The product's shape, m × k × n: MAF-8's hidden layer, MAF-64's hidden and output layers.</summary>
    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; }

    /// <summary>The values of <see cref="Shape"/>.</summary>
    public static IEnumerable<GemmShape> Shapes => [new(512, 64, 64), new(1024, 512, 512), new(1024, 512, 128)];

    /// <summary>The forced vector width, in bits.</summary>
    [Params(256, 512)]
    public int Bits { get; set; } = 256;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _a = [.. Enumerable.Range(0, Shape.M * Shape.K).Select(_ => T.CreateChecked((2 * random.NextDouble()) - 1))];
        _b = [.. Enumerable.Range(0, Shape.K * Shape.N).Select(_ => T.CreateChecked((2 * random.NextDouble()) - 1))];
        _c = new T[Shape.M * Shape.N];
    }

    /// <summary>C = A·Bᵀ, the product of a layer's forward pass.</summary>
    [Benchmark]
    public void MultiplyTransposedB()
    {
        using VectorWidth.Scope width = VectorWidth.Force(Bits);
        Gemm.MultiplyTransposedB<T>(_a, _b, _c, Shape.M, Shape.K, Shape.N, accumulate: false);
    }
}
