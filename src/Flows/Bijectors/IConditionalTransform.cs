using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// An elementwise monotone transform whose parameters come per row from a conditioner (MADE or an MLP): the part
/// that autoregressive and coupling layers share with each other and swap between affine and spline.
/// </summary>
/// <remarks>
/// Parameters are laid out by block: column p·d + j holds parameter p of feature j, as MADE emits them. All-zero
/// parameters give the identity.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public interface IConditionalTransform<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Parameters per feature.</summary>
    int ParametersPerFeature { get; }

    /// <summary>Applies the transform (or its inverse) to n × d inputs with n × (ParametersPerFeature·d) parameters.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="input">n × d.</param>
    /// <param name="parameters">n × (ParametersPerFeature·d), block layout.</param>
    /// <param name="inverse">Whether to run the inverse.</param>
    /// <returns>The n × d output and the n × 1 log|det J| of the direction that ran.</returns>
    (Node<T> Output, Node<T> LogDet) Apply(Tape<T> tape, Node<T> input, Node<T> parameters, bool inverse);
}
