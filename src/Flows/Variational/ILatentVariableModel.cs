using System.Numerics;
using Flows.Autodiff;

namespace Flows.Variational;

/// <summary>
/// A generative model p(x, z) of observations x and latent variables z, evaluated on a tape: what an amortized posterior
/// q(z | x) is fitted to, by the ELBO <c>E_q[log p(x, z) − log q(z | x)]</c>.
/// </summary>
/// <remarks>
/// <see cref="LatentVariableModel{T}"/> is a prior and a decoder, trained with q (the VAE);
/// <see cref="ExternalLatentVariableModel{T}"/> wraps a log p(x, z) computed elsewhere, with its gradient in z
/// (a scientist's model), with no parameters of its own: only q is trained.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public interface ILatentVariableModel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Features of x.</summary>
    int DataDimension { get; }

    /// <summary>Features of z.</summary>
    int LatentDimension { get; }

    /// <summary>The trainable parameters (empty for a fixed model).</summary>
    IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>log p(xᵢ, zᵢ) per row, differentiably in the parameters and in z.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="x">n × DataDimension.</param>
    /// <param name="z">n × LatentDimension.</param>
    /// <returns>n × 1.</returns>
    Node<T> JointDensityLn(Tape<T> tape, Node<T> x, Node<T> z);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first value of <paramref name="x"/> the model
    /// cannot take; finiteness is checked before this is called.</summary>
    /// <param name="x">n × DataDimension, row-major.</param>
    /// <param name="name">The argument's name, for the message.</param>
    void CheckSupport(ReadOnlySpan<T> x, string name);
}
