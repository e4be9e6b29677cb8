using System.Numerics;
using BenchmarkDotNet.Attributes;
using Flows.Benchmarks;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Numerics;
using Flows.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Flows.Peers;

/// <summary>
/// Issue 20's continuous flow (d = 2) in Flows and in TorchSharp (libtorch CPU) in one run, at one thread and at all
/// cores (<see cref="Threads"/>): one flow-matching step (batch 256: draws z ~ N(0, I) and t ~ U(0, 1), the straight-path
/// loss, backward, Adam), one maximum-likelihood step (batch 64, RK4 with <see cref="Steps"/> steps and the exact trace;
/// Flows by its adjoint solves, torch by back-propagation through the RK4 steps, see <see cref="TorchContinuousFlow"/>),
/// and log p(x) of 4,096 points by the same RK4 solve (no gradients). The field is the preset's default or last
/// session's [64, 64] tanh field (<see cref="Workload"/>); the torch model starts from the Flows model's weights, after
/// a short flow-matching fit, and in double the setup checks that both compute the same numbers
/// (<see cref="ContinuousFlowCheck.ThrowIfDifferent"/>) before anything is timed.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[Config(typeof(PeerJobConfig))]
[GenericTypeArguments(typeof(double))]
[GenericTypeArguments(typeof(float))]
public class ContinuousFlowPeerBenchmarks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>RK4 steps of every solve (Flows' default for <see cref="OdeMethod.RungeKutta4"/>).</summary>
    public const int Steps = 20;

    private const int FlowMatchingBatch = 256;
    private const int LikelihoodBatch = 64;
    private const int Rows = 4096;

    private TransformedDistribution<T> _flow = null!;
    private FlowMatching<T> _flowMatching = null!;
    private DataParallelGradient<T> _flowMatchingGradient = null!;
    private DataParallelGradient<T> _likelihoodGradient = null!;
    private Adam<T> _adam = null!;
    private T[] _data = null!;
    private T[] _densities = null!;
    private int _nextFlowMatching;
    private int _nextLikelihood;

    private TorchContinuousFlow? _torch;
    private optim.Optimizer? _torchOptimizer;
    private Tensor? _torchData;
    private Generator? _generator;

    /// <summary>CNF-2: the ContinuousNormalizingFlow preset's field ([128, 128, 128] Swish fed t and 4 time frequencies);
    /// CNF-2-64x2: [64, 64] tanh of t alone (the field of the first maximum-likelihood figure).</summary>
    [ParamsSource(nameof(Workloads))]
    public string Workload { get; set; } = "CNF-2";

    /// <summary>The values of <see cref="Workload"/>: both, or the CNF names among those in the environment variable
    /// FLOWS_PEER_WORKLOADS (as for <see cref="PeerWorkloadBenchmarks{T}"/>; a list without CNF names keeps both).</summary>
    public static IEnumerable<string> Workloads
    {
        get
        {
            string[] all = ["CNF-2", "CNF-2-64x2"];
            string[] chosen = [.. (Environment.GetEnvironmentVariable("FLOWS_PEER_WORKLOADS") ?? "")
                .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Where(all.Contains)];
            return chosen.Length > 0 ? chosen : all;
        }
    }

    /// <summary>Flows, or TorchSharp 0.107.0 on libtorch 2.10 (CPU).</summary>
    [Params("Flows", "TorchSharp")]
    public string Library { get; set; } = "Flows";

    /// <summary>Threads each library may use: 1 and every core. Flows gets it as the flow's MaxDegreeOfParallelism and
    /// the training steps' degree, torch as <c>torch.set_num_threads</c>.</summary>
    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; } = 1;

    /// <summary>The values of <see cref="Threads"/>: 1 and the core count (just 1 on a one-core machine).</summary>
    public static IEnumerable<int> ThreadCounts => Environment.ProcessorCount > 1 ? [1, Environment.ProcessorCount] : [1];

    private bool Torch => Library == "TorchSharp";

    /// <summary>The workload's flow: the preset with its field, solved by RK4 with <paramref name="steps"/> steps.</summary>
    internal static TransformedDistribution<TElement> CreateFlow<TElement>(string workload, int steps) where TElement : unmanaged, IFloatingPointIeee754<TElement>
    {
        var options = new ContinuousFlowOptions { Solver = new OdeOptions { Method = OdeMethod.RungeKutta4, Steps = steps } };
        options = workload switch
        {
            "CNF-2" => options,
            "CNF-2-64x2" => options with { HiddenFeatures = [64, 64], TimeFrequencies = 0, Activation = VectorFieldActivation.Tanh },
            _ => throw new ArgumentException($"Unknown continuous-flow workload {workload}.", nameof(workload)),
        };
        return ContinuousNormalizingFlow.Create<TElement>(2, options: options, seed: 2);
    }

    [GlobalSetup]
    public void Setup()
    {
        _data = PeerWorkload.Data<T>(Rows, 2, seed: 4);
        _flow = CreateFlow<T>(Workload, Steps);
        // A short flow-matching fit, so that the solves meet a field that is not the identity.
        var data = new T[Rows, 2];
        Buffer.BlockCopy(_data, 0, data, 0, _data.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        _flow.Fit(data, new FitOptions { Objective = FitObjective.FlowMatching, Epochs = 10, BatchSize = 256, Seed = 3 });
        _flow.MaxDegreeOfParallelism = Threads;
        _flowMatching = new FlowMatching<T>(_flow, seed: 4);
        _flowMatchingGradient = new DataParallelGradient<T>(_flow, _flowMatching);
        _likelihoodGradient = new DataParallelGradient<T>(_flow);
        // A small rate: the steps should leave the field about where the check saw it.
        _adam = new Adam<T>(_flow.Parameters, new AdamOptions { LearningRate = 1e-5 });
        _densities = new T[Rows];
        if (Torch)
        {
            if (_flow is TransformedDistribution<double> flow)
            {
                ContinuousFlowCheck.ThrowIfDifferent(flow, (double[])(object)_data);
            }

            torch.set_num_threads(Threads);
            ScalarType dtype = typeof(T) == typeof(double) ? ScalarType.Float64 : ScalarType.Float32;
            _torch = TorchContinuousFlow.From((ContinuousFlow<T>)_flow.Bijector, dtype, Steps);
            _torchOptimizer = optim.Adam(_torch.Parameters, lr: 1e-5, beta1: 0.9, beta2: 0.999, eps: 1e-8);
            _torchData = _data is double[] doubles
                ? torch.tensor(doubles, [Rows, 2], dtype)
                : torch.tensor((float[])(object)_data, [Rows, 2], dtype);
            _generator = new Generator(5);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _torchOptimizer?.Dispose();
        _torch?.Dispose();
        _torchData?.Dispose();
        _generator?.Dispose();
    }

    /// <summary>One flow-matching step on the next 256 rows: draws, the loss, backward, Adam.</summary>
    [Benchmark]
    public T FlowMatchingStep()
    {
        int start = _nextFlowMatching;
        _nextFlowMatching = (_nextFlowMatching + FlowMatchingBatch) % Rows;
        if (_torch is not null)
        {
            using DisposeScope scope = torch.NewDisposeScope();
            ScalarType dtype = _torchData!.dtype;
            Tensor z = torch.randn([FlowMatchingBatch, 2], dtype, generator: _generator);
            Tensor t = torch.rand([FlowMatchingBatch, 1], dtype, generator: _generator);
            Tensor loss = _torch.FlowMatchingLoss(_torchData.narrow(0, start, FlowMatchingBatch), z, t);
            _torchOptimizer!.zero_grad();
            loss.backward();
            _torchOptimizer.step();
            return loss.item<T>();
        }

        _flowMatching.Draw(FlowMatchingBatch, default);
        T flowsLoss = _flowMatchingGradient.Run(_data, null, start, FlowMatchingBatch, Threads);
        _adam.Step();
        return flowsLoss;
    }

    /// <summary>One maximum-likelihood step on the next 64 rows: RK4 solves with the exact trace, gradients, Adam.</summary>
    [Benchmark]
    public T MaximumLikelihoodStep()
    {
        int start = _nextLikelihood;
        _nextLikelihood = (_nextLikelihood + LikelihoodBatch) % Rows;
        if (_torch is not null)
        {
            using DisposeScope scope = torch.NewDisposeScope();
            Tensor loss = -_torch.LogProb(_torchData!.narrow(0, start, LikelihoodBatch), createGraph: true).mean();
            _torchOptimizer!.zero_grad();
            loss.backward();
            _torchOptimizer.step();
            return loss.item<T>();
        }

        T flowsLoss = _likelihoodGradient.Run(_data, null, start, LikelihoodBatch, Threads);
        _adam.Step();
        return flowsLoss;
    }

    /// <summary>log p(x) of 4,096 points by RK4 with the exact trace, no gradients, into a .NET array.</summary>
    [Benchmark]
    public T DensityLn()
    {
        if (_torch is not null)
        {
            using IDisposable noGrad = torch.no_grad();
            using DisposeScope scope = torch.NewDisposeScope();
            _torch.LogProb(_torchData!, createGraph: false).data<T>().CopyTo(_densities, 0, 0);
            return _densities[0];
        }

        _flow.DensityLn(_data, _densities);
        return _densities[0];
    }
}
