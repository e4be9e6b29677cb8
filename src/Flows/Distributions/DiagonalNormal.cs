using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Distributions;

/// <summary>A normal with learned mean μ and per-feature standard deviation σ = exp(log σ): N(μ, diag(σ²)).</summary>
/// <remarks>All-zero parameters give the standard normal. Sampling is reparameterized: x = μ + σ ⊙ ε, ε ~ N(0, I).</remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class DiagonalNormal<T> : IDistribution<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T> _mean;
    private readonly Parameter<T> _logStandardDeviation;

    /// <summary>Creates N(0, I) with trainable mean and log standard deviation.</summary>
    /// <param name="dimension">Features per sample. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public DiagonalNormal(int dimension) : this(dimension, exemptFromWeightDecay: false)
    {
    }

    // A component of a GaussianMixture starts from k-means on the data, which weight decay would pull back to N(0, I).
    internal DiagonalNormal(int dimension, bool exemptFromWeightDecay)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        Dimension = dimension;
        _mean = new Parameter<T>("mean", 1, dimension) { ExemptFromWeightDecay = exemptFromWeightDecay };
        _logStandardDeviation = new Parameter<T>("logStandardDeviation", 1, dimension) { ExemptFromWeightDecay = exemptFromWeightDecay };
        Parameters = [_mean, _logStandardDeviation];
    }

    /// <inheritdoc/>
    public int Dimension { get; }

    /// <summary>μ, 1 × Dimension.</summary>
    public Parameter<T> Mean => _mean;

    /// <summary>log σ, 1 × Dimension.</summary>
    public Parameter<T> LogStandardDeviation => _logStandardDeviation;

    /// <summary>0: this normal takes no context.</summary>
    public int ContextDimension => 0;

    /// <inheritdoc/>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <inheritdoc/>
    public Node<T> DensityLn(Tape<T> tape, Node<T> x, Node<T>? context = null)
    {
        BaseDistributions.CheckBatch(tape, x, Dimension, context);
        // log N(x; μ, σ²) = log φ((x − μ)/σ) − Σ log σ: the inverse affine map and its log-determinant.
        (Node<T> u, Node<T> logDet) = tape.AffineElementwise(x, tape.Use(_mean), tape.Use(_logStandardDeviation), inverse: true);
        return tape.Add(tape.StandardNormalLogDensity(u), logDet);
    }

    /// <summary>count × Dimension draws on a tape, differentiable in the parameters (reparameterized).</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="count">Samples. Range: ≥ 0.</param>
    /// <param name="random">The source of randomness.</param>
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
    /// <remarks>The log-density is that of the drawn values, as <see cref="DensityLn(Tape{T}, Node{T}, Node{T})"/>
    /// gives it, so its gradient also flows through the samples.</remarks>
    public (Node<T> X, Node<T> DensityLn) SampleWithDensityLn(Tape<T> tape, int count, Random random, Node<T>? context = null)
    {
        BaseDistributions.CheckNoContext(context);
        Node<T> x = Sample(tape, count, random);
        return (x, DensityLn(tape, x));
    }

    /// <inheritdoc/>
    public void DensityLn(ReadOnlySpan<T> x, Span<T> destination, ReadOnlySpan<T> context = default)
        => BaseDistributions.DensityLn(this, x, destination, context);

    /// <inheritdoc/>
    public void Sample(Span<T> destination, Random random, ReadOnlySpan<T> context = default)
    {
        int rows = BaseDistributions.SampleRows(Dimension, destination, random, context);
        var tape = new Tape<T>(isRecording: false);
        Sample(tape, rows, random).Values.CopyTo(destination);
    }

    /// <inheritdoc/>
    public override string ToString() => $"DiagonalNormal(dimension: {Dimension})";
}
