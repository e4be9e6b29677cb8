using System.Numerics;
using Flows.Autodiff;
using Flows.Neural;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>Elementwise <c>x = 1/(1 + exp(−z))</c>: maps ℝ onto (0, 1), for probabilities and proportions.</summary>
/// <remarks>log|det J| = Σ [log σ(z) + log σ(−z)]; the inverse is logit(x) = log x − log1p(−x). Not trainable. Data outside (0, 1) get density 0 (a log-density of −∞), never NaN.</remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Sigmoid<T> : Bijector<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the map on <paramref name="dimension"/> features.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public Sigmoid(int dimension) : base(dimension)
    {
    }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => [];

    /// <inheritdoc/>
    public override string ToString() => $"Sigmoid(dimension: {Dimension})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => tape.ElementwiseBijection<T, ElementwiseBijections.Sigmoid<T>>(z, inverse: false);

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => tape.ElementwiseBijection<T, ElementwiseBijections.Sigmoid<T>>(x, inverse: true);
}
