using System.Numerics;
using BenchmarkDotNet.Attributes;
using Flows.Autodiff;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Training;

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
    private const int EvaluationPoints = 65_536;
    private TransformedDistribution<T> _flow = null!;
    private Adam<T> _optimizer = null!;
    private Tape<T> _tape = null!;
    private T[] _data = null!;
    private T[] _densities = null!;
    private T[] _samples = null!;
    private int _batchSize;
    private int _features;
    private int _batchStart;
    private Random _random = null!;

    /// <summary>MAF-8 and NSF-8 (d = 8, MADE 2 × 64, batch 512) or MAF-64 (d = 64, MADE 2 × 512, batch 1024).</summary>
    [Params("MAF-8", "NSF-8", "MAF-64")]
    public string Workload { get; set; } = "MAF-8";

    /// <summary>Samples drawn per sampling invocation (MAF sampling takes d sequential passes per layer).</summary>
    public int SampleCount => Workload == "MAF-64" ? 128 : 4096;

    [GlobalSetup]
    public void Setup()
    {
        bool small = Workload != "MAF-64";
        _features = small ? 8 : 64;
        int hidden = small ? 64 : 512;
        _batchSize = small ? 512 : 1024;
        _flow = Workload == "NSF-8"
            ? NeuralSplineFlow.Create<T>(_features, transforms: 5, binCount: 8, hiddenFeatures: [hidden, hidden], tailBound: 5, seed: 1)
            : MaskedAutoregressiveFlow.Create<T>(_features, transforms: 5, hiddenFeatures: [hidden, hidden], seed: 1);
        _optimizer = new Adam<T>(_flow.Parameters);
        _tape = new Tape<T>();
        _data = PeerWorkload.Data<T>(EvaluationPoints, _features, seed: 2);
        _densities = new T[EvaluationPoints];
        _samples = new T[SampleCount * _features];
        _random = new Random(3);
    }

    /// <summary>One training step on the next consecutive batch.</summary>
    [Benchmark]
    public T TrainingStep()
    {
        if ((_batchStart + _batchSize) * _features > _data.Length)
        {
            _batchStart = 0;
        }

        _tape.Reset();
        Node<T> x = _tape.Constant(_data.AsSpan(_batchStart * _features, _batchSize * _features), _batchSize, _features);
        _batchStart += _batchSize;
        Node<T> loss = _tape.Negate(_tape.Mean(_flow.DensityLn(_tape, x)));
        _optimizer.ZeroGradients();
        _tape.Backward(loss);
        _optimizer.Step();
        return loss.Values[0];
    }

    /// <summary>log p(x) of 65,536 points, no gradients.</summary>
    [Benchmark]
    public T DensityLn()
    {
        _flow.DensityLn(_data, _densities);
        return _densities[0];
    }

    /// <summary>Draws <see cref="SampleCount"/> samples.</summary>
    [Benchmark]
    public T Sample()
    {
        _flow.Sample(_samples, _random);
        return _samples[0];
    }
}
