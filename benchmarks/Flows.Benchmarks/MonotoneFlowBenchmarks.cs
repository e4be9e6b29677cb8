using BenchmarkDotNet.Attributes;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Training;

namespace Flows.Benchmarks;

/// <summary>The presets measured by <see cref="MonotoneFlowBenchmarks"/> (issue 19's families, and the MAF to compare).</summary>
public enum MonotoneFlowKind
{
    /// <summary>MaskedAutoregressiveFlow, the reference.</summary>
    Maf,

    /// <summary>SumOfSquaresPolynomialFlow (K = 2, r = 3).</summary>
    SumOfSquares,

    /// <summary>BernsteinPolynomialFlow (M = 16).</summary>
    Bernstein,

    /// <summary>UnconstrainedNeuralAutoregressiveFlow (H = 8, 33 Clenshaw–Curtis nodes).</summary>
    Unconstrained,

    /// <summary>NeuralAutoregressiveFlow (deep sigmoidal, H = 8).</summary>
    DeepSigmoidal,

    /// <summary>Five MAF layers with a Householder layer (k = d) between each pair in place of the order reversal.</summary>
    MafHouseholder,

    /// <summary>BlockNeuralAutoregressiveFlow (3 layers, hidden factors [16, 16]): data → base is one masked network per
    /// layer, sampling d scalar solves per layer.</summary>
    Bnaf,

    /// <summary>CircularSplineFlow on two angles (4 circular coupling layers and rotations, 8 bins): the batch's values lie
    /// on the circle already.</summary>
    CircularSpline,
}

/// <summary>
/// One maximum-likelihood training step (batch 256 on d = 2, the two-moons protocol's shape) of each preset of issue 19,
/// and sampling 4,096 points (the numerical inverse: d solves per element and layer). Defaults of each preset, no
/// Gaussian start, so every step runs the same layers.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
public class MonotoneFlowBenchmarks
{
    private const int Dimension = 2;
    private const int BatchSize = 256;
    private const int SampleRows = 4096;

    private TransformedDistribution<double> _flow = null!;
    private Tape<double> _tape = null!;
    private Adam<double> _optimizer = null!;
    private double[] _batch = null!;
    private double[] _samples = null!;
    private Random _random = null!;

    /// <summary>The preset under test.</summary>
    [Params(MonotoneFlowKind.Maf, MonotoneFlowKind.SumOfSquares, MonotoneFlowKind.Bernstein, MonotoneFlowKind.Unconstrained,
        MonotoneFlowKind.DeepSigmoidal, MonotoneFlowKind.MafHouseholder, MonotoneFlowKind.Bnaf, MonotoneFlowKind.CircularSpline)]
    public MonotoneFlowKind Flow { get; set; }

    /// <summary>Builds the flow and a batch of two-moons-like rows, and runs one step so that the tape's arena is warm.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _flow = Flow switch
        {
            MonotoneFlowKind.Maf => MaskedAutoregressiveFlow.Create<double>(Dimension, gaussianStart: GaussianStart.None),
            MonotoneFlowKind.SumOfSquares => SumOfSquaresPolynomialFlow.Create<double>(Dimension, gaussianStart: GaussianStart.None),
            MonotoneFlowKind.Bernstein => BernsteinPolynomialFlow.Create<double>(Dimension, gaussianStart: GaussianStart.None),
            MonotoneFlowKind.Unconstrained => UnconstrainedNeuralAutoregressiveFlow.Create<double>(Dimension, gaussianStart: GaussianStart.None),
            MonotoneFlowKind.DeepSigmoidal => NeuralAutoregressiveFlow.Create<double>(Dimension, gaussianStart: GaussianStart.None),
            MonotoneFlowKind.MafHouseholder => MaskedAutoregressiveFlow.Create<double>(Dimension, gaussianStart: GaussianStart.None, householderReflections: Dimension),
            MonotoneFlowKind.Bnaf => BlockNeuralAutoregressiveFlow.Create<double>(Dimension, gaussianStart: GaussianStart.None),
            _ => CircularSplineFlow.Create<double>([Support.Angle(), Support.Angle()]),
        };
        _tape = new Tape<double>();
        _optimizer = new Adam<double>(_flow.Parameters);
        var random = new Random(1);
        _batch = new double[BatchSize * Dimension];
        for (int i = 0; i < BatchSize; i++)
        {
            // A noisy half circle, standardized roughly: the shape of one moon.
            double angle = Math.PI * random.NextDouble();
            _batch[2 * i] = Math.Cos(angle) + (0.1 * (random.NextDouble() - 0.5));
            _batch[(2 * i) + 1] = Math.Sin(angle) - 0.5 + (0.1 * (random.NextDouble() - 0.5));
        }

        _samples = new double[SampleRows * Dimension];
        _random = new Random(3);
        TrainingStep();
    }

    /// <summary>One training step on a 256-row batch; returns the loss.</summary>
    [Benchmark]
    public double TrainingStep()
    {
        Tape<double> tape = _tape;
        tape.Reset();
        Node<double> x = tape.Constant(_batch, BatchSize, Dimension);
        Node<double> loss = tape.Negate(tape.Mean(_flow.DensityLn(tape, x)));
        _optimizer.ZeroGradients();
        tape.Backward(loss);
        _optimizer.Step();
        return loss.Values[0];
    }

    /// <summary>4,096 samples into a caller's buffer.</summary>
    [Benchmark]
    public double Sample()
    {
        _flow.Sample(_samples, _random);
        return _samples[0];
    }
}
