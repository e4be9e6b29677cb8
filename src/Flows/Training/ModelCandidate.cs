using System.Numerics;
using Flows.Distributions;
using Flows.Distributions.Presets;

namespace Flows.Training;

/// <summary>
/// A model to compare by <see cref="ModelSelection.CrossValidate{T}"/>: a name and a function that fits a new model to
/// training rows.
/// </summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class ModelCandidate<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Func<T[,], int, CancellationToken, TransformedDistribution<T>> _fit;

    /// <summary>Creates a candidate.</summary>
    /// <param name="name">The name in reports, such as <c>"MAF"</c>.</param>
    /// <param name="fit">Builds a new model and fits it to the training rows (n × d) with the given seed; it must not
    /// keep state between calls, since it runs once per fold and once more on all the data.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    public ModelCandidate(string name, Func<T[,], int, CancellationToken, TransformedDistribution<T>> fit)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(fit);
        Name = name;
        _fit = fit;
    }

    /// <summary>The name in reports.</summary>
    public string Name { get; }

    /// <summary>Builds a new model and fits it to <paramref name="data"/>.</summary>
    /// <param name="data">n × d training rows.</param>
    /// <param name="seed">The seed of the model's initial weights and of its fit.</param>
    /// <param name="cancellationToken">Stops the fit.</param>
    public TransformedDistribution<T> Fit(T[,] data, int seed, CancellationToken cancellationToken = default) => _fit(data, seed, cancellationToken);

    /// <inheritdoc/>
    public override string ToString() => $"ModelCandidate({Name})";
}

/// <summary>The built-in candidates: the maximum-likelihood Gaussian, the MAF and NSF presets at their defaults, the
/// MAF on a Gaussian-mixture or Student-t base, and a mixture of MAFs.</summary>
public static class ModelCandidate
{
    /// <summary>The maximum-likelihood Gaussian (<see cref="MultivariateNormal.Fit{T}(T[,])"/>), named <c>"Gaussian"</c>.</summary>
    public static ModelCandidate<T> Gaussian<T>() where T : unmanaged, IFloatingPointIeee754<T>
        => new("Gaussian", (data, _, _) => MultivariateNormal.Fit(data));

    /// <summary>The <see cref="MaskedAutoregressiveFlow"/> preset at its defaults, fitted with <paramref name="options"/>
    /// (their seed replaced by the fold's), named <c>"MAF"</c>.</summary>
    /// <param name="options">The fit's settings; null for the defaults.</param>
    public static ModelCandidate<T> MaskedAutoregressiveFlow<T>(FitOptions? options = null) where T : unmanaged, IFloatingPointIeee754<T>
        => new("MAF", (data, seed, cancellationToken) =>
        {
            TransformedDistribution<T> flow = Distributions.Presets.MaskedAutoregressiveFlow.Create<T>(data.GetLength(1), seed: seed);
            flow.Fit(data, (options ?? new FitOptions()) with { Seed = seed }, cancellationToken);
            return flow;
        });

    /// <summary>
    /// The <see cref="MaskedAutoregressiveFlow"/> preset's layers on a <see cref="GaussianMixture{T}"/> base of
    /// <paramref name="componentCount"/> components (initialized by k-means on the training data mapped to base space),
    /// named <c>"MAF+GMM{componentCount}"</c>: for multimodal data.
    /// </summary>
    /// <param name="componentCount">Mixture components. Default 4. Range: &gt; 0.</param>
    /// <param name="transforms">Autoregressive layers. Default 5. Range: &gt; 0.</param>
    /// <param name="options">The fit's settings; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="componentCount"/> or <paramref name="transforms"/> is not positive.</exception>
    public static ModelCandidate<T> GaussianMixtureFlow<T>(int componentCount = 4, int transforms = 5, FitOptions? options = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(componentCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(transforms);
        return OnBase($"MAF+GMM{componentCount}", transforms, options, (d, seed) => new GaussianMixture<T>(d, componentCount, seed));
    }

    /// <summary>
    /// The <see cref="MaskedAutoregressiveFlow"/> preset's layers on a <see cref="StudentT{T}"/> base with learned degrees
    /// of freedom, named <c>"MAF+t"</c>: for heavy-tailed data.
    /// </summary>
    /// <param name="transforms">Autoregressive layers. Default 5. Range: &gt; 0.</param>
    /// <param name="options">The fit's settings; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="transforms"/> is not positive.</exception>
    public static ModelCandidate<T> StudentTFlow<T>(int transforms = 5, FitOptions? options = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(transforms);
        return OnBase("MAF+t", transforms, options, (d, _) => new StudentT<T>(d));
    }

    /// <summary>
    /// A <see cref="Mixture{T}"/> of <paramref name="componentCount"/> <see cref="MaskedAutoregressiveFlow"/> presets
    /// (each with its own seed drawn from the fold's), fitted jointly by maximum likelihood, named
    /// <c>"MAF×{componentCount}"</c>. The model it returns is the flow whose base is the mixture and whose bijector is the
    /// identity permutation (the flow <c>mixture.Fit</c> trains). Unlike the single-flow candidates it has no defensive share
    /// (a mixture's fit does not fit its components' Gaussians), so on a small table a collapsed held-out row can cost it.
    /// </summary>
    /// <param name="componentCount">Component flows. Default 2. Range: &gt; 0.</param>
    /// <param name="transforms">Autoregressive layers per component. Default 5. Range: &gt; 0.</param>
    /// <param name="options">The fit's settings; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="componentCount"/> or <paramref name="transforms"/> is not positive.</exception>
    public static ModelCandidate<T> MixtureOfFlows<T>(int componentCount = 2, int transforms = 5, FitOptions? options = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(componentCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(transforms);
        return new($"MAF×{componentCount}", (data, seed, cancellationToken) =>
        {
            var random = new Random(seed);
            var mixture = new Mixture<T>([.. Enumerable.Range(0, componentCount).Select(_ =>
                (IDistribution<T>)Distributions.Presets.MaskedAutoregressiveFlow.Create<T>(data.GetLength(1), transforms, seed: random.Next(),
                    defensiveShare: DefensiveShare.None))]);
            mixture.Fit(data, (options ?? new FitOptions()) with { Seed = seed }, cancellationToken);
            return mixture.AsFlow;
        });
    }

    // The MAF preset's bijector on another base, fitted with the options (their seed replaced by the fold's).
    private static ModelCandidate<T> OnBase<T>(string name, int transforms, FitOptions? options, Func<int, int, IDistribution<T>> createBase)
        where T : unmanaged, IFloatingPointIeee754<T>
        => new(name, (data, seed, cancellationToken) =>
        {
            int d = data.GetLength(1);
            var flow = new TransformedDistribution<T>(createBase(d, seed),
                Distributions.Presets.MaskedAutoregressiveFlow.Create<T>(d, transforms, seed: seed).Bijector, DefensiveShare.Automatic);
            flow.Fit(data, (options ?? new FitOptions()) with { Seed = seed }, cancellationToken);
            return flow;
        });

    /// <summary>The <see cref="NeuralSplineFlow"/> preset at its defaults, fitted with <paramref name="options"/> (their
    /// seed replaced by the fold's), named <c>"NSF"</c>.</summary>
    /// <param name="options">The fit's settings; null for the defaults.</param>
    public static ModelCandidate<T> NeuralSplineFlow<T>(FitOptions? options = null) where T : unmanaged, IFloatingPointIeee754<T>
        => new("NSF", (data, seed, cancellationToken) =>
        {
            TransformedDistribution<T> flow = Distributions.Presets.NeuralSplineFlow.Create<T>(data.GetLength(1), seed: seed);
            flow.Fit(data, (options ?? new FitOptions()) with { Seed = seed }, cancellationToken);
            return flow;
        });
}
