using System.Numerics;
using BenchmarkDotNet.Attributes;
using Flows.Autodiff;
using Flows.Benchmarks;
using Flows.Distributions;
using Flows.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Flows.Peers;

/// <summary>
/// The PEERS.md workloads (MAF-8, NSF-8, MAF-64) in Flows and in TorchSharp (libtorch CPU), one thread, in one run:
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

    private TorchFlow? _torchFlow;
    private optim.Optimizer? _torchOptimizer;
    private Tensor? _torchData;
    private Generator? _generator;

    /// <summary>MAF-8 and NSF-8 (d = 8, MADE 2 × 64, batch 512) or MAF-64 (d = 64, MADE 2 × 512, batch 1024).</summary>
    [Params("MAF-8", "NSF-8", "MAF-64")]
    public string Workload { get; set; } = "MAF-8";

    /// <summary>Flows, or TorchSharp 0.107.0 on libtorch 2.10 (CPU).</summary>
    [Params("Flows", "TorchSharp")]
    public string Library { get; set; } = "Flows";

    /// <summary>Samples drawn per sampling invocation (MAF sampling takes d sequential passes per layer).</summary>
    public int SampleCount => Workloads.Shape(Workload).SampleCount;

    private bool Torch => Library == "TorchSharp";

    [GlobalSetup]
    public void Setup()
    {
        (_features, _, _batchSize, _) = Workloads.Shape(Workload);
        _flow = Workloads.CreateFlows<T>(Workload);
        _optimizer = new Adam<T>(_flow.Parameters);
        _tape = new Tape<T>();
        _data = PeerWorkload.Data<T>(Workloads.EvaluationPoints, _features, seed: 2);
        _densities = new T[Workloads.EvaluationPoints];
        _samples = new T[SampleCount * _features];
        _random = new Random(3);
        _batchStart = 0;
        if (Torch)
        {
            torch.set_num_threads(1);
            ScalarType dtype = typeof(T) == typeof(double) ? ScalarType.Float64 : ScalarType.Float32;
            _torchFlow = TorchFlow.From(_flow, dtype);
            _torchOptimizer = optim.Adam(_torchFlow.parameters(), lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8);
            _torchData = _data is double[] values
                ? torch.tensor(values, [Workloads.EvaluationPoints, _features], dtype)
                : torch.tensor((float[])(object)_data, [Workloads.EvaluationPoints, _features], dtype);
            _generator = new Generator(3);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _torchOptimizer?.Dispose();
        _torchFlow?.Dispose();
        _torchData?.Dispose();
        _generator?.Dispose();
    }

    /// <summary>One training step on the next consecutive batch.</summary>
    [Benchmark]
    public T TrainingStep()
    {
        if ((_batchStart + _batchSize) * _features > _data.Length)
        {
            _batchStart = 0;
        }

        int start = _batchStart;
        _batchStart += _batchSize;
        if (Torch)
        {
            using DisposeScope scope = torch.NewDisposeScope();
            Tensor torchLoss = -_torchFlow!.LogProb(_torchData!.narrow(0, start, _batchSize)).mean();
            _torchOptimizer!.zero_grad();
            torchLoss.backward();
            _torchOptimizer.step();
            return torchLoss.item<T>();
        }

        _tape.Reset();
        Node<T> x = _tape.Constant(_data.AsSpan(start * _features, _batchSize * _features), _batchSize, _features);
        Node<T> loss = _tape.Negate(_tape.Mean(_flow.DensityLn(_tape, x)));
        _optimizer.ZeroGradients();
        _tape.Backward(loss);
        _optimizer.Step();
        return loss.Values[0];
    }

    /// <summary>log p(x) of 65,536 points, no gradients, into a .NET array.</summary>
    [Benchmark]
    public T DensityLn()
    {
        if (Torch)
        {
            using IDisposable noGrad = torch.no_grad();
            for (int start = 0; start < Workloads.EvaluationPoints; start += TorchDensityChunkRows)
            {
                using DisposeScope scope = torch.NewDisposeScope();
                _torchFlow!.LogProb(_torchData!.narrow(0, start, TorchDensityChunkRows)).data<T>().CopyTo(_densities, start, 0);
            }

            return _densities[0];
        }

        _flow.DensityLn(_data, _densities);
        return _densities[0];
    }

    /// <summary>Draws <see cref="SampleCount"/> samples into a .NET array.</summary>
    [Benchmark]
    public T Sample()
    {
        if (Torch)
        {
            using IDisposable noGrad = torch.no_grad();
            using DisposeScope scope = torch.NewDisposeScope();
            _torchFlow!.Sample(SampleCount, _generator!).data<T>().CopyTo(_samples, 0, 0);
            return _samples[0];
        }

        _flow.Sample(_samples, _random);
        return _samples[0];
    }
}
