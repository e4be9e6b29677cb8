using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Distributions;

/// <summary>The standard normal N(0, I) on <see cref="Dimension"/> features: the usual base of a flow.</summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class StandardNormal<T> : IBaseDistribution<T> where T : unmanaged, IFloatingPointIeee754<T>
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

    /// <inheritdoc/>
    public IReadOnlyList<Parameter<T>> Parameters => [];

    /// <inheritdoc/>
    public Node<T> DensityLn(Tape<T> tape, Node<T> z)
    {
        ArgumentNullException.ThrowIfNull(tape);
        return tape.StandardNormalLogDensity(z);
    }

    /// <inheritdoc/>
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
    public override string ToString() => $"StandardNormal(dimension: {Dimension})";
}
