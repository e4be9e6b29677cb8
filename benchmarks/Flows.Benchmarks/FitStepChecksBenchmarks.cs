using System.Numerics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using Flows.Autodiff;
using Flows.Training;

namespace Flows.Benchmarks;

/// <summary>
/// The checks <c>Fit</c> makes around each Adam step, and the step, on MAF-64's 1.8 M parameters with the gradients of
/// one batch: the global gradient norm (a non-finite one stops the fit), clipping by it, the Adam step, and the check
/// that the step left every parameter finite.
/// </summary>
/// <remarks>
/// <see cref="OnOneThreadAsBefore"/> is the loop as it was: the norm, the clipping (which computed the norm again) and,
/// after the step, a scan of the parameters, all on the calling thread. <see cref="OnTheStepsThreads"/> is the loop now:
/// the norm once and the clipping on the step's threads, one parameter per item; the finite check rides on the Adam pass
/// (<see cref="Adam{T}.LastStepWasFinite"/>), whose cost both arms carry. The gradients are restored before each
/// invocation, so the clipping scales every time, as early in a fit.
/// </remarks>
[MemoryDiagnoser]
[MedianColumn]
[Config(typeof(FitStepChecksConfig))]
[GenericTypeArguments(typeof(double))]
[GenericTypeArguments(typeof(float))]
public class FitStepChecksBenchmarks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private FlowWorkload<T> _workload = null!;
    private IReadOnlyList<Parameter<T>> _parameters = null!;
    private T[][] _gradients = null!;
    private GradientNorm<T> _norm = null!;
    private Adam<T> _optimizer = null!;
    private T _limit;

    /// <summary>Threads of the step (the parallel checks use them; the serial ones do not).</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>Builds MAF-64, takes one training step and keeps its gradients.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _workload = new FlowWorkload<T>("MAF-64", Threads);
        _workload.TrainingStep();
        _parameters = _workload.Flow.Parameters;
        _gradients = [.. _parameters.Select(p => (T[])p.Gradients.Clone())];
        _norm = new GradientNorm<T>(_parameters);
        _optimizer = new Adam<T>(_parameters);
        _limit = GradientClipping.GlobalNorm(_parameters) / T.CreateTruncating(2);
    }

    /// <summary>Puts the batch's gradients back, so every invocation clips.</summary>
    [IterationSetup]
    public void RestoreGradients()
    {
        for (int p = 0; p < _parameters.Count; p++)
        {
            _gradients[p].CopyTo(_parameters[p].Gradients, 0);
        }
    }

    /// <summary>The norm, the clipping that computes it again, the step, and the scan for non-finite parameters; the
    /// checks on one thread.</summary>
    [Benchmark(Baseline = true)]
    public T OnOneThreadAsBefore()
    {
        T norm = GradientClipping.GlobalNorm(_parameters);
        GradientClipping.ClipByGlobalNorm(_parameters, _limit);
        _optimizer.Step(Threads);
        return _workload.Flow.Layers.FirstNonFiniteParameter() is null ? norm : T.NaN;
    }

    /// <summary>The norm once, the clipping, the step and its finite flag, on the step's threads.</summary>
    [Benchmark]
    public T OnTheStepsThreads()
    {
        T norm = _norm.Compute(Threads);
        _norm.Clip(_limit, norm, Threads);
        _optimizer.Step(Threads);
        return _optimizer.LastStepWasFinite ? norm : T.NaN;
    }
}

/// <summary>One invocation an iteration (the gradients are restored before each). At a call an iteration the tiered JIT
/// is still promoting these methods after a hundred warm-up calls, so the job compiles fully optimized from the first.</summary>
internal sealed class FitStepChecksConfig : ManualConfig
{
    public FitStepChecksConfig()
        => AddJob(Job.Default.WithStrategy(RunStrategy.Monitoring).WithWarmupCount(20).WithIterationCount(60).WithInvocationCount(1)
            .WithEnvironmentVariables(new EnvironmentVariable("DOTNET_TieredCompilation", "0")));
}
