using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Distributions;

/// <summary>The standard normal N(0, I) on <see cref="Dimension"/> features: the usual base of a flow.</summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class StandardNormal<T> : IDistribution<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates N(0, I).</summary>
    /// <param name="dimension">Features per sample. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public StandardNormal(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        Dimension = dimension;
    }

    /// <inheritdoc/>
    public int Dimension { get; }

    /// <summary>0: a standard normal takes no context.</summary>
    public int ContextDimension => 0;

    /// <inheritdoc/>
    public IReadOnlyList<Parameter<T>> Parameters => [];

    /// <inheritdoc/>
    public Node<T> DensityLn(Tape<T> tape, Node<T> x, Node<T>? context = null)
    {
        BaseDistributions.CheckBatch(tape, x, Dimension, context);
        return tape.StandardNormalLogDensity(x);
    }

    /// <summary>count × Dimension draws on a tape.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="count">Samples. Range: ≥ 0.</param>
    /// <param name="random">The source of randomness.</param>
    public Node<T> Sample(Tape<T> tape, int count, Random random)
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Node<T> z = tape.Allocate(count, Dimension);
        Gaussian.Fill(z.Values, random);
        return z;
    }

    /// <inheritdoc/>
    public (Node<T> X, Node<T> DensityLn) SampleWithDensityLn(Tape<T> tape, int count, Random random, Node<T>? context = null)
    {
        BaseDistributions.CheckNoContext(context);
        Node<T> z = Sample(tape, count, random);
        return (z, tape.StandardNormalLogDensity(z));
    }

    /// <inheritdoc/>
    public void DensityLn(ReadOnlySpan<T> x, Span<T> destination, ReadOnlySpan<T> context = default)
        => BaseDistributions.DensityLn(this, x, destination, context);

    /// <inheritdoc/>
    public void Sample(Span<T> destination, Random random, ReadOnlySpan<T> context = default)
    {
        BaseDistributions.SampleRows(Dimension, destination, random, context);
        Gaussian.Fill(destination, random);
    }

    /// <inheritdoc/>
    public override string ToString() => $"StandardNormal(dimension: {Dimension})";
}
