using System.Globalization;
using System.Numerics;
using Flows.Numerics;

namespace Flows.Inference;

/// <summary>Independent normal priors θⱼ ~ N(μⱼ, σⱼ²): unbounded, so posterior draws are never rejected.</summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class NormalPrior<T> : IPrior<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _mean;
    private readonly T[] _standardDeviation;
    private readonly T _logNormalizer;

    /// <summary>Creates N(μ, diag(σ²)).</summary>
    /// <param name="mean">μ, one finite value per coordinate.</param>
    /// <param name="standardDeviation">σ, one value per coordinate. Range: &gt; 0, finite.</param>
    /// <exception cref="ArgumentException">The arrays are empty or differ in length, or a value is out of range.</exception>
    public NormalPrior(ReadOnlySpan<T> mean, ReadOnlySpan<T> standardDeviation)
    {
        if (mean.IsEmpty || mean.Length != standardDeviation.Length)
        {
            throw new ArgumentException(
                $"mean has {mean.Length} values and standardDeviation {standardDeviation.Length}; they need the same positive number.", nameof(standardDeviation));
        }

        T logNormalizer = T.Zero;
        for (int j = 0; j < mean.Length; j++)
        {
            if (!T.IsFinite(mean[j]) || !T.IsFinite(standardDeviation[j]) || standardDeviation[j] <= T.Zero)
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"Coordinate {j} has mean {mean[j]} and standard deviation {standardDeviation[j]}; both must be finite and the deviation positive."),
                    nameof(standardDeviation));
            }

            logNormalizer -= T.Log(standardDeviation[j]) + T.CreateTruncating(0.5 * Math.Log(2 * Math.PI));
        }

        _mean = mean.ToArray();
        _standardDeviation = standardDeviation.ToArray();
        _logNormalizer = logNormalizer;
    }

    /// <summary>Creates N(0, σ² I) in <paramref name="dimension"/> coordinates.</summary>
    /// <param name="dimension">Coordinates. Range: &gt; 0.</param>
    /// <param name="standardDeviation">σ. Range: &gt; 0, finite.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    /// <exception cref="ArgumentException"><paramref name="standardDeviation"/> is out of range.</exception>
    public static NormalPrior<T> Isotropic(int dimension, T standardDeviation)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        var scale = new T[dimension];
        Array.Fill(scale, standardDeviation);
        return new NormalPrior<T>(new T[dimension], scale);
    }

    /// <inheritdoc/>
    public int Dimension => _mean.Length;

    /// <summary>μ.</summary>
    public ReadOnlySpan<T> Mean => _mean;

    /// <summary>σ.</summary>
    public ReadOnlySpan<T> StandardDeviation => _standardDeviation;

    /// <summary>null: a normal has mass everywhere.</summary>
    public BoxSupport<T>? Support => null;

    /// <inheritdoc/>
    public void Sample(Span<T> destination, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        int rows = Batch.RowCount(destination.Length, Dimension, nameof(destination));
        Gaussian.Fill(destination, random);
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < Dimension; j++)
            {
                ref T value = ref destination[(i * Dimension) + j];
                value = _mean[j] + (_standardDeviation[j] * value);
            }
        }
    }

    /// <inheritdoc/>
    public void DensityLn(ReadOnlySpan<T> theta, Span<T> destination)
    {
        int rows = PriorShapes.Check(theta, destination, Dimension);
        T half = T.CreateTruncating(0.5);
        for (int i = 0; i < rows; i++)
        {
            T sum = _logNormalizer;
            for (int j = 0; j < Dimension; j++)
            {
                T z = (theta[(i * Dimension) + j] - _mean[j]) / _standardDeviation[j];
                sum -= half * z * z;
            }

            destination[i] = sum;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"NormalPrior(dimension: {Dimension})";
}
