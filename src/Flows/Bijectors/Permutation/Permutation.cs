using System.Numerics;
using Flows.Autodiff;
using Flows.Neural;

namespace Flows.Bijectors;

/// <summary>A fixed reordering of features: <c>x[:, j] = z[:, order[j]]</c>.</summary>
/// <remarks>log|det J| = 0 exactly. Not trainable. Used between autoregressive or coupling layers so that every
/// feature gets to condition every other.</remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class Permutation<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int[] _order;
    private readonly int[] _inverseOrder;

    /// <summary>Creates the permutation <c>x[:, j] = z[:, order[j]]</c>.</summary>
    /// <param name="order">A permutation of 0..d−1; copied.</param>
    /// <exception cref="ArgumentException"><paramref name="order"/> is empty or not a permutation.</exception>
    public Permutation(IReadOnlyList<int> order) : base(CheckedLength(order))
    {
        Orders.Check(order, order.Count, nameof(order));
        _order = [.. order];
        _inverseOrder = new int[_order.Length];
        for (int j = 0; j < _order.Length; j++)
        {
            _inverseOrder[_order[j]] = j;
        }
    }

    /// <summary>The order, <c>x[:, j] = z[:, Order[j]]</c>.</summary>
    public IReadOnlyList<int> Order => _order;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => [];

    /// <summary>The reversal d−1, …, 1, 0.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public static Permutation<T> Reverse(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        return new(Orders.Reversed(dimension));
    }

    /// <summary>A uniformly random permutation drawn from a generator seeded by <paramref name="seed"/>.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <param name="seed">Seed of the permutation.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public static Permutation<T> Random(int dimension, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        return new(Orders.Random(dimension, seed));
    }

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "Permutation",
        typeof(Permutation<T>),
        (b, w) => w.Int32Array("order", ((Permutation<T>)b).Order),
        r => new Permutation<T>(r.Int32Array("order")));

    /// <inheritdoc/>
    public override string ToString() => $"Permutation(order: [{string.Join(", ", _order)}])";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => (tape.PermuteColumns(z, _order), ZeroLogDet(tape, z.Rows));

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => (tape.PermuteColumns(x, _inverseOrder), ZeroLogDet(tape, x.Rows));

    private static Node<T> ZeroLogDet(Tape<T> tape, int rows)
    {
        Node<T> logDet = tape.Allocate(rows, 1);
        logDet.Values.Clear();
        return logDet;
    }

    private static int CheckedLength(IReadOnlyList<int> order)
    {
        ArgumentNullException.ThrowIfNull(order);
        if (order.Count == 0)
        {
            throw new ArgumentException("order is empty; a permutation needs at least one feature.", nameof(order));
        }

        return order.Count;
    }
}
