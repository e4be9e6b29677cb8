using System.Numerics;
using Flows.Autodiff;
using Flows.Distributions;

namespace Flows.Variational;

/// <summary>The generative model of a VAE: <c>p(x, z) = p(z) p(x | z)</c>, a prior on z and a decoder.</summary>
/// <remarks>The prior is any unconditional distribution on z: a <see cref="StandardNormal{T}"/> (the papers' choice) or
/// a flow (<see cref="TransformedDistribution{T}"/>), whose parameters then train with the decoder.</remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class LatentVariableModel<T> : ILatentVariableModel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Combines a prior and a decoder.</summary>
    /// <param name="prior">p(z): an unconditional distribution on the decoder's LatentDimension features.</param>
    /// <param name="decoder">p(x | z).</param>
    /// <exception cref="ArgumentException">The prior takes a context or has another dimension than the decoder's latent space.</exception>
    public LatentVariableModel(IDistribution<T> prior, IDecoder<T> decoder)
    {
        ArgumentNullException.ThrowIfNull(prior);
        ArgumentNullException.ThrowIfNull(decoder);
        if (prior.Dimension != decoder.LatentDimension || prior.ContextDimension != 0)
        {
            throw new ArgumentException(
                $"prior ({prior}) has Dimension {prior.Dimension} and ContextDimension {prior.ContextDimension}; the decoder needs an unconditional prior on {decoder.LatentDimension} features.",
                nameof(prior));
        }

        Prior = prior;
        Decoder = decoder;
        Parameters = [.. prior.Parameters, .. decoder.Parameters];
    }

    /// <summary>Creates the VAE's usual model: a standard-normal prior and <paramref name="decoder"/>.</summary>
    /// <param name="decoder">p(x | z).</param>
    /// <returns>The model.</returns>
    public static LatentVariableModel<T> WithStandardNormalPrior(IDecoder<T> decoder)
    {
        ArgumentNullException.ThrowIfNull(decoder);
        return new LatentVariableModel<T>(new StandardNormal<T>(decoder.LatentDimension), decoder);
    }

    /// <summary>p(z).</summary>
    public IDistribution<T> Prior { get; }

    /// <summary>p(x | z).</summary>
    public IDecoder<T> Decoder { get; }

    /// <inheritdoc/>
    public int DataDimension => Decoder.DataDimension;

    /// <inheritdoc/>
    public int LatentDimension => Decoder.LatentDimension;

    /// <summary>The prior's parameters, then the decoder's.</summary>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <inheritdoc/>
    public Node<T> JointDensityLn(Tape<T> tape, Node<T> x, Node<T> z)
    {
        (Node<T> prior, Node<T> likelihood) = Terms(tape, x, z);
        return tape.Add(prior, likelihood);
    }

    /// <summary>log p(zᵢ) and log p(xᵢ | zᵢ) per row, separately: the ELBO's KL and reconstruction terms.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="x">n × DataDimension.</param>
    /// <param name="z">n × LatentDimension.</param>
    /// <returns>Two n × 1 nodes.</returns>
    public (Node<T> PriorDensityLn, Node<T> LogLikelihood) Terms(Tape<T> tape, Node<T> x, Node<T> z)
    {
        ArgumentNullException.ThrowIfNull(tape);
        return (Prior.DensityLn(tape, z), Decoder.LogLikelihood(tape, z, x));
    }

    /// <inheritdoc/>
    public void CheckSupport(ReadOnlySpan<T> x, string name) => Decoder.CheckSupport(x, name);

    /// <summary>Draws x from the model's mean given z ~ p(z): the decoder's mean at prior samples.</summary>
    /// <param name="count">Samples. Range: &gt; 0.</param>
    /// <param name="random">The source of randomness.</param>
    /// <returns>count × DataDimension means of p(x | z) (probabilities for a Bernoulli decoder).</returns>
    public T[,] SampleMeans(int count, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentNullException.ThrowIfNull(random);
        var tape = new Tape<T>(isRecording: false);
        Node<T> z = Prior.SampleWithDensityLn(tape, count, random).X;
        Node<T> mean = Decoder.Mean(tape, z);
        var result = new T[count, DataDimension];
        mean.Values.CopyTo(Numerics.Batch.AsSpan(result));
        return result;
    }

    /// <inheritdoc/>
    public override string ToString() => $"LatentVariableModel(prior: {Prior}, decoder: {Decoder})";
}
