using System.Numerics;
using Flows.Autodiff;
using Flows.Neural;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>Elementwise <c>x = exp(z)</c>: maps ℝ onto (0, ∞), for positive quantities.</summary>
/// <remarks>log|det J| = Σ z; the inverse is log x. Not trainable. Data outside (0, ∞) get density 0 (a log-density of −∞), never NaN.</remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Exp<T> : Bijector<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the map on <paramref name="dimension"/> features.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public Exp(int dimension) : base(dimension)
    {
    }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => [];

    /// <inheritdoc/>
    public override string ToString() => $"Exp(dimension: {Dimension})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => tape.ElementwiseBijection<T, ElementwiseBijections.Exp<T>>(z, inverse: false);

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => tape.ElementwiseBijection<T, ElementwiseBijections.Exp<T>>(x, inverse: true);
}
