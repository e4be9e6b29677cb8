using System.Numerics;
using BenchmarkDotNet.Attributes;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Training;

namespace Flows.Benchmarks;

/// <summary>The flows measured by <see cref="TrainingStepBenchmarks{T}"/>.</summary>
public enum FlowKind
{
    /// <summary>[LowerTriangularAffine, SinhArcsinh, Permutation.Reverse] × 4 on d = 8.</summary>
    Chain,

    /// <summary>One elementwise Affine on d = 8.</summary>
    Affine,
}

/// <summary>
/// One maximum-likelihood training step (batch 512: tape reset, constant batch, log-density, mean NLL, zeroed
/// gradients, backward, Adam step), log-density throughput without gradients and sampling throughput on 65,536 points.
/// </summary>
/// <remarks>
/// The promise is read off the Allocated column: after the first step a training step of a fixed shape
/// allocates nothing, and the span overloads of DensityLn and Sample allocate nothing per chunk.
/// Data follow PEERS.md: x = sinh(z Aᵀ + b), standardized per feature, fixed seeds.
/// </remarks>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
[GenericTypeArguments(typeof(double))]
[GenericTypeArguments(typeof(float))]
public class TrainingStepBenchmarks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Dimension = 8;
    private const int BatchSize = 512;
    private const int EvaluationRows = 65_536;

    private TransformedDistribution<T> _flow = null!;
    private Tape<T> _tape = null!;
    private DataParallelGradient<T> _gradient = null!;
    private Adam<T> _optimizer = null!;
    private T[] _batch = null!;
    private T[] _points = null!;
    private T[,] _pointsArray = null!;
    private T[] _densities = null!;
    private T[] _samples = null!;
    private Random _random = null!;

    /// <summary>The flow under test.</summary>
    [Params(FlowKind.Chain, FlowKind.Affine)]
    public FlowKind Flow { get; set; }

    /// <summary>Builds the flow and data and runs one step, so that the tape's arena is warm.</summary>
    [GlobalSetup]
    public void Setup()
    {
        IBijector<T> bijector;
        if (Flow == FlowKind.Chain)
        {
            var layers = new List<IBijector<T>>();
            for (int i = 0; i < 4; i++)
            {
                layers.Add(new LowerTriangularAffine<T>(Dimension));
                layers.Add(new SinhArcsinh<T>(Dimension));
                layers.Add(Permutation<T>.Reverse(Dimension));
            }

            bijector = new Chain<T>(layers);
        }
        else
        {
            bijector = new Affine<T>(Dimension);
        }

        _flow = new TransformedDistribution<T>(new StandardNormal<T>(Dimension), bijector);
        _tape = new Tape<T>();
        _gradient = new DataParallelGradient<T>(_flow);
        _optimizer = new Adam<T>(_flow.Parameters);
        _batch = SyntheticData(BatchSize, seed: 1);
        _points = SyntheticData(EvaluationRows, seed: 2);
        _pointsArray = new T[EvaluationRows, Dimension];
        Buffer.BlockCopy(_points, 0, _pointsArray, 0, _points.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        _densities = new T[EvaluationRows];
        _samples = new T[EvaluationRows * Dimension];
        _random = new Random(3);
        TrainingStep();
        ParallelTrainingStep();
        _flow.DensityLn(_points, _densities);
        _flow.Sample(_samples, _random);
    }

    /// <summary>One training step on a 512-row batch; returns the loss.</summary>
    [Benchmark]
    public T TrainingStep()
    {
        Tape<T> tape = _tape;
        tape.Reset();
        Node<T> x = tape.Constant(_batch, BatchSize, Dimension);
        Node<T> loss = tape.Negate(tape.Mean(_flow.DensityLn(tape, x)));
        _optimizer.ZeroGradients();
        tape.Backward(loss);
        _optimizer.Step();
        return loss.Values[0];
    }

    /// <summary>log p(x) of 65,536 points into a caller's buffer, no gradients (span overload).</summary>
    /// <summary>The step <c>Fit</c> takes: the batch in 128-row blocks on all cores, gradients reduced in block order.</summary>
    [Benchmark]
    public T ParallelTrainingStep()
    {
        T loss = _gradient.Run(_batch, null, 0, BatchSize, Numerics.Parallelism.MaxDegreeOfParallelism);
        _optimizer.Step();
        return loss;
    }

    [Benchmark]
    public T DensityLnSpan()
    {
        _flow.DensityLn(_points, _densities);
        return _densities[0];
    }

    /// <summary>log p(x) of 65,536 points as a new array (the T[,] convenience overload).</summary>
    [Benchmark]
    public T[] DensityLnArray() => _flow.DensityLn(_pointsArray);

    /// <summary>65,536 samples into a caller's buffer (span overload).</summary>
    [Benchmark]
    public T SampleSpan()
    {
        _flow.Sample(_samples, _random);
        return _samples[0];
    }

    // x = sinh(z Aᵀ + b), z ~ N(0, I), A ~ N(0, 1)/√d, b ~ 0.5 N(0, 1), standardized per feature (PEERS.md).
    private static T[] SyntheticData(int rows, int seed)
    {
        var random = new Random(seed);
        var a = new double[Dimension * Dimension];
        var b = new double[Dimension];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = Normal(random) / Math.Sqrt(Dimension);
        }

        for (int j = 0; j < Dimension; j++)
        {
            b[j] = 0.5 * Normal(random);
        }

        var x = new double[rows * Dimension];
        var z = new double[Dimension];
        for (int i = 0; i < rows; i++)
        {
            for (int k = 0; k < Dimension; k++)
            {
                z[k] = Normal(random);
            }

            for (int j = 0; j < Dimension; j++)
            {
                double s = b[j];
                for (int k = 0; k < Dimension; k++)
                {
                    s += a[(j * Dimension) + k] * z[k];
                }

                x[(i * Dimension) + j] = Math.Sinh(s);
            }
        }

        var result = new T[x.Length];
        for (int j = 0; j < Dimension; j++)
        {
            double mean = 0;
            double square = 0;
            for (int i = 0; i < rows; i++)
            {
                double v = x[(i * Dimension) + j];
                mean += v;
                square += v * v;
            }

            mean /= rows;
            double sd = Math.Sqrt(Math.Max((square / rows) - (mean * mean), 1e-12));
            for (int i = 0; i < rows; i++)
            {
                result[(i * Dimension) + j] = T.CreateTruncating((x[(i * Dimension) + j] - mean) / sd);
            }
        }

        return result;
    }

    private static double Normal(Random random)
        => Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2.0 * Math.PI * random.NextDouble());
}
