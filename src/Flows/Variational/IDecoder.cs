using System.Numerics;
using Flows.Autodiff;

namespace Flows.Variational;

/// <summary>
/// The likelihood p(x | z) of a latent-variable model: a network from z to the parameters of a distribution over x,
/// evaluated on a tape so that the ELBO differentiates through it.
/// </summary>
/// <remarks>
/// <see cref="BernoulliDecoder{T}"/> and <see cref="GaussianDecoder{T}"/> are built in; an implementation of your own
/// (another likelihood, another network) trains with <see cref="VariationalAutoencoder{T}"/> in the same way, but
/// <c>VariationalAutoencoderSerializer</c> saves only the built-in ones.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public interface IDecoder<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Features of z.</summary>
    int LatentDimension { get; }

    /// <summary>Features of x.</summary>
    int DataDimension { get; }

    /// <summary>The trainable parameters.</summary>
    IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>log p(xᵢ | zᵢ) per row, differentiably in the parameters and in z.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="z">n × LatentDimension.</param>
    /// <param name="x">n × DataDimension.</param>
    /// <returns>n × 1.</returns>
    Node<T> LogLikelihood(Tape<T> tape, Node<T> z, Node<T> x);

    /// <summary>The mean of p(x | zᵢ) per row: Bernoulli probabilities, Gaussian means (what reconstructions show).</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="z">n × LatentDimension.</param>
    /// <returns>n × DataDimension.</returns>
    Node<T> Mean(Tape<T> tape, Node<T> z);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first value of <paramref name="x"/> outside the
    /// likelihood's support (a Bernoulli's [0, 1]); finiteness is checked before this is called.</summary>
    /// <param name="x">n × DataDimension, row-major.</param>
    /// <param name="name">The argument's name, for the message.</param>
    void CheckSupport(ReadOnlySpan<T> x, string name);
}
