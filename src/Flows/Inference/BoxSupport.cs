using System.Globalization;
using System.Numerics;

namespace Flows.Inference;

/// <summary>An axis-aligned box [lower₁, upper₁] × … × [lower_d, upper_d]: the support of a bounded prior.</summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class BoxSupport<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _lower;
    private readonly T[] _upper;

    /// <summary>Creates the box with the given corners.</summary>
    /// <param name="lower">The lower bound of each coordinate, finite.</param>
    /// <param name="upper">The upper bound of each coordinate, finite and greater than the lower one.</param>
    /// <exception cref="ArgumentException">The bounds are empty, differ in length, are not finite, or a lower bound is not
    /// below its upper bound.</exception>
    public BoxSupport(ReadOnlySpan<T> lower, ReadOnlySpan<T> upper)
    {
        if (lower.IsEmpty || lower.Length != upper.Length)
        {
            throw new ArgumentException($"lower has {lower.Length} values and upper {upper.Length}; a box needs the same positive number of each.", nameof(upper));
        }

        for (int j = 0; j < lower.Length; j++)
        {
            if (!T.IsFinite(lower[j]) || !T.IsFinite(upper[j]) || lower[j] >= upper[j])
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"Coordinate {j} has bounds [{lower[j]}, {upper[j]}]; a box needs finite bounds with lower < upper."),
                    nameof(upper));
            }
        }

        _lower = lower.ToArray();
        _upper = upper.ToArray();
    }

    /// <summary>Coordinates of a point in the box.</summary>
    public int Dimension => _lower.Length;

    /// <summary>The lower bounds.</summary>
    public ReadOnlySpan<T> Lower => _lower;

    /// <summary>The upper bounds.</summary>
    public ReadOnlySpan<T> Upper => _upper;

    /// <summary>Whether lowerⱼ ≤ θⱼ ≤ upperⱼ for every coordinate j.</summary>
    /// <param name="theta">One point: <see cref="Dimension"/> values.</param>
    /// <exception cref="ArgumentException"><paramref name="theta"/> does not hold Dimension values.</exception>
    public bool Contains(ReadOnlySpan<T> theta)
    {
        if (theta.Length != Dimension)
        {
            throw new ArgumentException($"theta has {theta.Length} values but the box has dimension {Dimension}.", nameof(theta));
        }

        for (int j = 0; j < theta.Length; j++)
        {
            // Written so that NaN counts as outside.
            if (!(theta[j] >= _lower[j] && theta[j] <= _upper[j]))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc/>
    public override string ToString()
        => string.Join(" × ", _lower.Select((l, j) => string.Create(CultureInfo.InvariantCulture, $"[{l}, {_upper[j]}]")));
}
