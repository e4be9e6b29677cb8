using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Distributions;

/// <summary>A normal with learned mean μ and per-feature standard deviation σ = exp(log σ): N(μ, diag(σ²)).</summary>
/// <remarks>All-zero parameters give the standard normal. Sampling is reparameterized: x = μ + σ ⊙ ε, ε ~ N(0, I).</remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class DiagonalNormal<T> : IBaseDistribution<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T> _mean;
    private readonly Parameter<T> _logStandardDeviation;

    /// <summary>Creates N(0, I) with trainable mean and log standard deviation.</summary>
    /// <param name="dimension">Features per sample. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public DiagonalNormal(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        Dimension = dimension;
        _mean = new Parameter<T>("mean", 1, dimension);
        _logStandardDeviation = new Parameter<T>("logStandardDeviation", 1, dimension);
        Parameters = [_mean, _logStandardDeviation];
    }

    /// <inheritdoc/>
    public int Dimension { get; }

    /// <summary>μ, 1 × Dimension.</summary>
    public Parameter<T> Mean => _mean;

    /// <summary>log σ, 1 × Dimension.</summary>
    public Parameter<T> LogStandardDeviation => _logStandardDeviation;

    /// <inheritdoc/>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <inheritdoc/>
    public Node<T> DensityLn(Tape<T> tape, Node<T> z)
    {
        ArgumentNullException.ThrowIfNull(tape);
        // log N(z; μ, σ²) = log φ((z − μ)/σ) − Σ log σ: the inverse affine map and its log-determinant.
        (Node<T> u, Node<T> logDet) = tape.AffineElementwise(z, tape.Use(_mean), tape.Use(_logStandardDeviation), inverse: true);
        return tape.Add(tape.StandardNormalLogDensity(u), logDet);
    }

    /// <inheritdoc/>
    public Node<T> Sample(Tape<T> tape, int count, Random random)
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Node<T> epsilon = tape.Allocate(count, Dimension);
        Gaussian.Fill(epsilon.Values, random);
        return tape.AffineElementwise(epsilon, tape.Use(_mean), tape.Use(_logStandardDeviation), inverse: false).Output;
    }

    /// <inheritdoc/>
    public override string ToString() => $"DiagonalNormal(dimension: {Dimension})";
}
