using System.Numerics;
using BenchmarkDotNet.Attributes;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Numerics;
using Flows.Training;

namespace Flows.Benchmarks;

/// <summary>
/// Issue 20: the continuous flow (the ContinuousNormalizingFlow preset, d = 2, its default field or last session's
/// [64, 64] tanh field of t alone, <see cref="Field"/>) on standardized two-moons
/// points: one flow-matching training step (batch 256, no ODE solve), one maximum-likelihood step with adjoint gradients
/// (batch 64: a forward solve with the exact trace and an adjoint solve per row), and log-density throughput
/// (4,096 points, the exact trace), with the adaptive Dormand–Prince solver (tolerances 1e-5) or RK4 with 20 steps.
/// </summary>
/// <remarks>The field starts from a flow fitted for 300 flow-matching steps, so that the solver meets a non-trivial
/// field; each step is the one <c>Fit</c> takes (blocks of 128 rows on all cores, then Adam).</remarks>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 2, iterationCount: 8)]
[GenericTypeArguments(typeof(double))]
[GenericTypeArguments(typeof(float))]
public class ContinuousFlowBenchmarks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int FlowMatchingBatch = 256;
    private const int LikelihoodBatch = 64;
    private const int EvaluationRows = 4096;

    private TransformedDistribution<T> _flow = null!;
    private DataParallelGradient<T> _flowMatchingGradient = null!;
    private DataParallelGradient<T> _likelihoodGradient = null!;
    private FlowMatching<T> _flowMatching = null!;
    private Adam<T> _optimizer = null!;
    private T[] _points = null!;
    private T[] _densities = null!;

    /// <summary>The solver of both directions and the adjoint.</summary>
    [Params(OdeMethod.DormandPrince54, OdeMethod.RungeKutta4)]
    public OdeMethod Solver { get; set; }

    /// <summary>The vector field: the preset's default ([128, 128, 128], Swish, 4 time frequencies) or "64x2-tanh", the
    /// default before them ([64, 64], tanh, t alone), to compare with measurements of earlier commits.</summary>
    [Params("default", "64x2-tanh")]
    public string Field { get; set; } = "default";

    /// <summary>Builds the flow, fits it briefly by flow matching and warms every path.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _points = Moons(EvaluationRows, seed: 1);
        var data = new T[EvaluationRows, 2];
        Buffer.BlockCopy(_points, 0, data, 0, _points.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        var options = new ContinuousFlowOptions { Solver = new OdeOptions { Method = Solver } };
        if (Field == "64x2-tanh")
        {
            options = options with { HiddenFeatures = [64, 64], TimeFrequencies = 0, Activation = VectorFieldActivation.Tanh };
        }

        _flow = ContinuousNormalizingFlow.Create<T>(2, options: options, seed: 2);
        _flow.Fit(data, new FitOptions { Objective = FitObjective.FlowMatching, Epochs = 25, BatchSize = 256, Seed = 3 });
        _flowMatching = new FlowMatching<T>(_flow, seed: 4);
        _flowMatchingGradient = new DataParallelGradient<T>(_flow, _flowMatching);
        _likelihoodGradient = new DataParallelGradient<T>(_flow);
        _optimizer = new Adam<T>(_flow.Parameters, new AdamOptions { LearningRate = 1e-5 });
        _densities = new T[EvaluationRows];
        FlowMatchingStep();
        MaximumLikelihoodStep();
    }

    /// <summary>One flow-matching step on 256 rows: draws, f on the tape, backward, Adam.</summary>
    [Benchmark]
    public T FlowMatchingStep()
    {
        _flowMatching.Draw(FlowMatchingBatch, default);
        T loss = _flowMatchingGradient.Run(_points, null, 0, FlowMatchingBatch, Parallelism.MaxDegreeOfParallelism);
        _optimizer.Step();
        return loss;
    }

    /// <summary>One maximum-likelihood step on 64 rows: forward solves with the exact trace, adjoint solves, Adam.</summary>
    [Benchmark]
    public T MaximumLikelihoodStep()
    {
        T loss = _likelihoodGradient.Run(_points, null, 0, LikelihoodBatch, Parallelism.MaxDegreeOfParallelism);
        _optimizer.Step();
        return loss;
    }

    /// <summary>log p(x) of 4,096 points (exact trace), no gradients.</summary>
    [Benchmark]
    public T DensityLn()
    {
        _flow.DensityLn(_points, _densities);
        return _densities[0];
    }

    // Two interleaved half circles with N(0, 0.1²) noise, standardized per feature.
    private static T[] Moons(int rows, int seed)
    {
        var random = new Random(seed);
        var x = new double[rows * 2];
        for (int i = 0; i < rows; i++)
        {
            double angle = Math.PI * random.NextDouble();
            bool upper = i % 2 == 0;
            x[2 * i] = (upper ? Math.Cos(angle) : 1 - Math.Cos(angle)) + (0.1 * Normal(random));
            x[(2 * i) + 1] = (upper ? Math.Sin(angle) : 0.5 - Math.Sin(angle)) + (0.1 * Normal(random));
        }

        var result = new T[x.Length];
        for (int j = 0; j < 2; j++)
        {
            double mean = 0;
            double square = 0;
            for (int i = 0; i < rows; i++)
            {
                mean += x[(2 * i) + j];
                square += x[(2 * i) + j] * x[(2 * i) + j];
            }

            mean /= rows;
            double sd = Math.Sqrt((square / rows) - (mean * mean));
            for (int i = 0; i < rows; i++)
            {
                result[(2 * i) + j] = T.CreateTruncating((x[(2 * i) + j] - mean) / sd);
            }
        }

        return result;
    }

    private static double Normal(Random random)
        => Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2.0 * Math.PI * random.NextDouble());
}
