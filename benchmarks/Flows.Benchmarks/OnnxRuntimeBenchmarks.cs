using System.Numerics;
using BenchmarkDotNet.Attributes;
using Flows.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace Flows.Benchmarks;

/// <summary>
/// Log-density throughput of a flow exported to ONNX (Flows.Onnx) and run in ONNX Runtime's CPU provider, beside Flows'
/// own <c>DensityLn</c> on the same flow and the same 65,536 points of the PEERS.md MAF-8 and NSF-8 workloads, both on
/// one thread (Flows' array-level <c>DensityLn</c> runs on the calling thread; ONNX Runtime is given one intra-op and
/// one inter-op thread). Points per second = 65,536 / median time. The session, input and output buffers are made once.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
[GenericTypeArguments(typeof(double))]
[GenericTypeArguments(typeof(float))]
public class OnnxRuntimeBenchmarks<T> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    private FlowWorkload<T> _workload = null!;
    private InferenceSession _session = null!;
    private SessionOptions _options = null!;
    private RunOptions _runOptions = null!;
    private OrtValue _input = null!;
    private OrtValue _logDensity = null!;
    private OrtValue _base = null!;
    private T[] _logDensityValues = null!;

    /// <summary>MAF-8 or NSF-8 (d = 8, MADE 2 × 64, 5 layers).</summary>
    [Params("MAF-8", "NSF-8")]
    public string Workload { get; set; } = "MAF-8";

    [GlobalSetup]
    public void Setup()
    {
        _workload = new FlowWorkload<T>(Workload);
        // One thread on each side: ONNX Runtime's session below, and the flow's own chunks (Flows uses every core by default).
        _workload.Flow.MaxDegreeOfParallelism = 1;
        _options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        _session = new InferenceSession(_workload.Flow.ToOnnxDensityModel(), _options);
        _runOptions = new RunOptions();
        int n = FlowWorkload.EvaluationPoints;
        _input = OrtValue.CreateTensorValueFromMemory(_workload.Data, [n, _workload.Features]);
        _logDensityValues = new T[n];
        _logDensity = OrtValue.CreateTensorValueFromMemory(_logDensityValues, [n]);
        _base = OrtValue.CreateTensorValueFromMemory(new T[n * _workload.Features], [n, _workload.Features]);

        // Both sides compute the same thing: every point's log-density agrees before anything is timed.
        OnnxRuntimeDensityLn();
        T[] expected = new T[n];
        _workload.Flow.DensityLn(_workload.Data, expected);
        double tolerance = typeof(T) == typeof(double) ? 1e-10 : 1e-4;
        for (int i = 0; i < n; i++)
        {
            double e = double.CreateTruncating(expected[i]);
            if (!(Math.Abs(double.CreateTruncating(_logDensityValues[i]) - e) <= tolerance * Math.Max(1, Math.Abs(e))))
            {
                throw new InvalidOperationException($"{Workload}: ONNX Runtime gives log p {_logDensityValues[i]} at point {i}, Flows {expected[i]}.");
            }
        }
    }

    /// <summary>Flows' <c>DensityLn</c> of 65,536 points.</summary>
    [Benchmark(Baseline = true)]
    public T FlowsDensityLn() => _workload.DensityLn();

    /// <summary>The exported log-density graph of the same flow on the same points in ONNX Runtime.</summary>
    [Benchmark]
    public T OnnxRuntimeDensityLn()
    {
        _session.Run(_runOptions, ["x"], [_input], ["log_prob", "z"], [_logDensity, _base]);
        return _logDensityValues[0];
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _input?.Dispose();
        _logDensity?.Dispose();
        _base?.Dispose();
        _runOptions?.Dispose();
        _session?.Dispose();
        _options?.Dispose();
        GC.SuppressFinalize(this);
    }
}
