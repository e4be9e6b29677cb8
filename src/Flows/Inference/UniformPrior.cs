using System.Numerics;
using Flows.Numerics;

namespace Flows.Inference;

/// <summary>The uniform prior on a box: θⱼ ~ U(lowerⱼ, upperⱼ) independently, log p(θ) = −Σⱼ log(upperⱼ − lowerⱼ) inside.</summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class UniformPrior<T> : IPrior<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _logDensity;

    /// <summary>Creates U(lower₁, upper₁) × … × U(lower_d, upper_d).</summary>
    /// <param name="lower">The lower bound of each coordinate, finite.</param>
    /// <param name="upper">The upper bound of each coordinate, finite and greater than the lower one.</param>
    /// <exception cref="ArgumentException">The bounds do not make a box (see <see cref="BoxSupport{T}"/>).</exception>
    public UniformPrior(ReadOnlySpan<T> lower, ReadOnlySpan<T> upper)
    {
        Support = new BoxSupport<T>(lower, upper);
        T logVolume = T.Zero;
        for (int j = 0; j < lower.Length; j++)
        {
            logVolume += T.Log(upper[j] - lower[j]);
        }

        _logDensity = -logVolume;
    }

    /// <inheritdoc/>
    public int Dimension => Support.Dimension;

    /// <summary>The box.</summary>
    public BoxSupport<T> Support { get; }

    BoxSupport<T>? IPrior<T>.Support => Support;

    /// <inheritdoc/>
    public void Sample(Span<T> destination, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        int rows = Batch.RowCount(destination.Length, Dimension, nameof(destination));
        ReadOnlySpan<T> lower = Support.Lower;
        ReadOnlySpan<T> upper = Support.Upper;
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < Dimension; j++)
            {
                destination[(i * Dimension) + j] = lower[j] + ((upper[j] - lower[j]) * T.CreateTruncating(random.NextDouble()));
            }
        }
    }

    /// <inheritdoc/>
    public void DensityLn(ReadOnlySpan<T> theta, Span<T> destination)
    {
        int rows = PriorShapes.Check(theta, destination, Dimension);
        for (int i = 0; i < rows; i++)
        {
            destination[i] = Support.Contains(theta.Slice(i * Dimension, Dimension)) ? _logDensity : T.NegativeInfinity;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"UniformPrior({Support})";
}
