using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// The base of every built-in bijector: the public <see cref="Forward"/> and <see cref="Inverse"/> check shapes once
/// and call <see cref="ForwardCore"/> and <see cref="InverseCore"/>.
/// </summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public abstract class Bijector<T> : IBijector<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Initializes the dimensions.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <param name="contextDimension">Context features per row. Range: ≥ 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is out of range.</exception>
    protected Bijector(int dimension, int contextDimension = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfNegative(contextDimension);
        Dimension = dimension;
        ContextDimension = contextDimension;
    }

    /// <inheritdoc/>
    public int Dimension { get; }

    /// <inheritdoc/>
    public int ContextDimension { get; }

    /// <inheritdoc/>
    public abstract IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">z or the context has the wrong shape.</exception>
    public (Node<T> Output, Node<T> LogDet) Forward(Tape<T> tape, Node<T> z, Node<T>? context = null)
    {
        ArgumentNullException.ThrowIfNull(tape);
        Shapes.CheckBatch(z, Dimension, context, ContextDimension, nameof(z));
        return ForwardCore(tape, z, context);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">x or the context has the wrong shape.</exception>
    public (Node<T> Output, Node<T> LogDet) Inverse(Tape<T> tape, Node<T> x, Node<T>? context = null)
    {
        ArgumentNullException.ThrowIfNull(tape);
        Shapes.CheckBatch(x, Dimension, context, ContextDimension, nameof(x));
        return InverseCore(tape, x, context);
    }

    /// <summary>The forward map on a batch whose shape has been checked.</summary>
    protected abstract (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context);

    /// <summary>The inverse map on a batch whose shape has been checked.</summary>
    protected abstract (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context);
}
