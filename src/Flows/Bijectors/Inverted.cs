using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>A view of a bijector with its directions swapped: <c>Forward</c> runs the inner inverse and vice versa.</summary>
/// <remarks>It shares the inner bijector's parameters. Inverting a bijector swaps which direction is cheap, as IAF is
/// the inverse of MAF.</remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class Inverted<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Wraps <paramref name="inner"/>.</summary>
    /// <param name="inner">The bijector to invert.</param>
    /// <exception cref="ArgumentNullException"><paramref name="inner"/> is null.</exception>
    public Inverted(IBijector<T> inner) : base(NotNull(inner).Dimension, inner.ContextDimension) => Inner = inner;

    /// <summary>The wrapped bijector.</summary>
    public IBijector<T> Inner { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => Inner.Parameters;

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "Inverted",
        typeof(Inverted<T>),
        (b, w) => w.Part("inner", ((Inverted<T>)b).Inner),
        r => new Inverted<T>(r.Part("inner")),
        IsComposite: true);

    /// <inheritdoc/>
    public override string ToString() => $"Inverted({Inner})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => Inner.Inverse(tape, z, context);

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => Inner.Forward(tape, x, context);

    private static IBijector<T> NotNull(IBijector<T> inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        return inner;
    }
}
