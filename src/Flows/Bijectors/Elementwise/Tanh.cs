using System.Numerics;
using Flows.Autodiff;
using Flows.Neural;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>Elementwise <c>x = tanh(z)</c>: maps ℝ onto (−1, 1), for correlations and other quantities in (−1, 1).</summary>
/// <remarks>log|det J| = Σ 2(log 2 − z − softplus(−2z)), stable for large |z|; the inverse is atanh(x). Not trainable. Data outside (−1, 1) get density 0 (a log-density of −∞), never NaN.</remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Tanh<T> : Bijector<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the map on <paramref name="dimension"/> features.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public Tanh(int dimension) : base(dimension)
    {
    }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => [];

    /// <inheritdoc/>
    public override string ToString() => $"Tanh(dimension: {Dimension})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => tape.ElementwiseBijection<T, ElementwiseBijections.Tanh<T>>(z, inverse: false);

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => tape.ElementwiseBijection<T, ElementwiseBijections.Tanh<T>>(x, inverse: true);
}
