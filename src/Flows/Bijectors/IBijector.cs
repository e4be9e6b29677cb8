using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// An invertible, differentiable map between base space and data space, run on whole batches on a tape.
/// </summary>
/// <remarks>
/// Direction convention (as in TFP and Pyro): <see cref="Forward"/> maps base → data (z → x) and is what sampling
/// uses; <see cref="Inverse"/> maps data → base (x → z) and is what log-density uses. Each returns, per row,
/// log|det J| of the direction it ran; at matching points the two are exact negatives.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public interface IBijector<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Features per row, in and out.</summary>
    int Dimension { get; }

    /// <summary>Context features per row for a conditional bijector; 0 when unconditional.</summary>
    int ContextDimension { get; }

    /// <summary>The trainable parameters, unconstrained.</summary>
    IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>Base → data: <c>x = T(z)</c> and log|det J_T(z)| per row.</summary>
    /// <param name="tape">The tape to compute on.</param>
    /// <param name="z">n × <see cref="Dimension"/>.</param>
    /// <param name="context">n × <see cref="ContextDimension"/>, or null when unconditional.</param>
    /// <returns>x (n × Dimension) and log|det J| (n × 1).</returns>
    (Node<T> Output, Node<T> LogDet) Forward(Tape<T> tape, Node<T> z, Node<T>? context = null);

    /// <summary>Data → base: <c>z = T⁻¹(x)</c> and log|det J_T⁻¹(x)| per row.</summary>
    /// <param name="tape">The tape to compute on.</param>
    /// <param name="x">n × <see cref="Dimension"/>.</param>
    /// <param name="context">n × <see cref="ContextDimension"/>, or null when unconditional.</param>
    /// <returns>z (n × Dimension) and log|det J| (n × 1).</returns>
    (Node<T> Output, Node<T> LogDet) Inverse(Tape<T> tape, Node<T> x, Node<T>? context = null);
}
