using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Training;

/// <summary>
/// The Adam optimizer with bias correction and optional decoupled weight decay, updating parameters in place.
/// </summary>
/// <remarks>
/// Per element, at step t: m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², θ ← θ − α(m/(1 − β₁ᵗ)) / (√(v/(1 − β₂ᵗ)) + ε)
/// − αλθ, except for parameters marked <see cref="Parameter{T}.ExemptFromWeightDecay"/>, which take no decay. One fused
/// pass per parameter; no allocation after construction.
/// Reference: Kingma &amp; Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, arXiv:1412.6980.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Adam<T> : IParallelWork where T : unmanaged, IFloatingPointIeee754<T>
{
    // Elements updated per item of a parallel step: large enough to amortize the hand-off, small enough that a model's
    // big weight matrices split among the threads.
    private const int ChunkLength = 1 << 15;

    private readonly Parameter<T>[] _parameters;
    private readonly T[][] _firstMoments;
    private readonly T[][] _secondMoments;
    private readonly AdamOptions _options;
    private readonly (int Parameter, int Start, int Length)[] _chunks;
    private readonly bool[] _chunkFinite;
    private AdamCoefficients<T> _coefficients;

    /// <summary>Creates an optimizer over <paramref name="parameters"/>.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="options">The settings; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range, or <see cref="AdamOptions.Epsilon"/> rounds to 0 in T.</exception>
    public Adam(IReadOnlyList<Parameter<T>> parameters, AdamOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _options = options ?? new AdamOptions();
        _options.Validate<T>();
        _parameters = [.. parameters];
        _firstMoments = [.. _parameters.Select(p => new T[p.Values.Length])];
        _secondMoments = [.. _parameters.Select(p => new T[p.Values.Length])];
        _chunks = [.. _parameters.SelectMany((p, index) => Enumerable.Range(0, (p.Values.Length + ChunkLength - 1) / ChunkLength)
            .Select(c => (index, c * ChunkLength, Math.Min(ChunkLength, p.Values.Length - (c * ChunkLength)))))];
        _chunkFinite = new bool[_chunks.Length];
    }

    /// <summary>Steps taken so far.</summary>
    public int StepCount { get; private set; }

    /// <summary>The parameters this optimizer updates.</summary>
    public IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>Whether every parameter value the last <see cref="Step()"/> wrote is finite (true before the first step; the
    /// moments are not checked). A step can overflow even from a finite gradient (a huge learning rate); the check is made
    /// as the step writes, at no extra pass.</summary>
    public bool LastStepWasFinite { get; private set; } = true;

    /// <summary>Sets every parameter's gradient to zero.</summary>
    public void ZeroGradients()
    {
        foreach (Parameter<T> parameter in _parameters)
        {
            parameter.ZeroGradients();
        }
    }

    /// <summary>Applies one update from the parameters' current gradients, on the calling thread.</summary>
    public void Step() => Step(1);

    /// <summary>Applies one update from the parameters' current gradients on up to
    /// <paramref name="maxDegreeOfParallelism"/> threads. Every element's update is independent of the others, so the
    /// result has the same bits at any degree.</summary>
    /// <param name="maxDegreeOfParallelism">Threads at most. Range: ≥ 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxDegreeOfParallelism"/> is less than 1.</exception>
    public void Step(int maxDegreeOfParallelism)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxDegreeOfParallelism);
        StepCount++;
        double beta1 = _options.Beta1;
        double beta2 = _options.Beta2;
        // Bias corrections folded into the step size and the √v̂ scale, computed once per step in double.
        double correction1 = 1 - Math.Pow(beta1, StepCount);
        double correction2 = 1 - Math.Pow(beta2, StepCount);
        var coefficients = new AdamCoefficients<T>(
            Beta1: T.CreateTruncating(beta1),
            OneMinusBeta1: T.CreateTruncating(1 - beta1),
            Beta2: T.CreateTruncating(beta2),
            OneMinusBeta2: T.CreateTruncating(1 - beta2),
            StepSize: T.CreateTruncating(_options.LearningRate / correction1),
            InverseSqrtCorrection2: T.CreateTruncating(1 / Math.Sqrt(correction2)),
            Epsilon: T.CreateTruncating(_options.Epsilon),
            Decay: T.CreateTruncating(_options.LearningRate * (_options.WeightDecay ?? 0)));
        _coefficients = coefficients;
        ParallelLoop.For(this, _chunks.Length, maxDegreeOfParallelism);
        LastStepWasFinite = Array.IndexOf(_chunkFinite, false) < 0;
    }

    void IParallelWork.Run(int index, int worker)
    {
        (int p, int start, int length) = _chunks[index];
        Parameter<T> parameter = _parameters[p];
        _chunkFinite[index] = Kernels.AdamUpdate<T>(
            parameter.Values.AsSpan(start, length),
            parameter.Gradients.AsSpan(start, length),
            _firstMoments[p].AsSpan(start, length),
            _secondMoments[p].AsSpan(start, length),
            parameter.ExemptFromWeightDecay ? _coefficients with { Decay = T.Zero } : _coefficients);
    }
}
