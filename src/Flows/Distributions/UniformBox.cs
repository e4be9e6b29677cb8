using System.Globalization;
using System.Numerics;
using Flows.Autodiff;

namespace Flows.Distributions;

/// <summary>The uniform distribution on the box [a, b]^d, fixed: <c>log p(x) = −d log(b − a)</c> inside, −∞ outside.</summary>
/// <remarks>
/// <para>No parameters. Sampling: x = a + (b − a) u, u uniform on [0, 1) (<see cref="Random.NextDouble"/>); the draws
/// depend on no parameter, so there is nothing to reparameterize. The log-density's gradient in x is zero (inside and
/// outside).</para>
/// <para>As the base of a flow, the bijector's inverse must map every data point into the box (end it, on the base side,
/// with a map onto the interval, such as a sigmoid for [0, 1]): a point mapped outside has density 0 and log-density
/// −∞, which <c>Fit</c> reports as divergence.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class UniformBox<T> : IDistribution<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _logDensity;

    /// <summary>Creates the uniform distribution on [<paramref name="lower"/>, <paramref name="upper"/>]^dimension.</summary>
    /// <param name="dimension">Features per sample. Range: &gt; 0.</param>
    /// <param name="lower">a, finite. Default 0.</param>
    /// <param name="upper">b, finite, &gt; a, and b − a representable in T. Default 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public UniformBox(int dimension, double lower = 0, double upper = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        if (!double.IsFinite(lower))
        {
            throw new ArgumentOutOfRangeException(nameof(lower), lower, "lower must be finite.");
        }

        T width = T.CreateTruncating(upper) - T.CreateTruncating(lower);
        if (!double.IsFinite(upper) || !(width > T.Zero) || !T.IsFinite(width))
        {
            throw new ArgumentOutOfRangeException(nameof(upper), upper,
                string.Create(CultureInfo.InvariantCulture, $"upper must be finite and above lower ({lower}) by a width finite and positive in {typeof(T).Name}."));
        }

        Dimension = dimension;
        Lower = T.CreateTruncating(lower);
        Upper = T.CreateTruncating(upper);
        _logDensity = -T.CreateTruncating(dimension) * T.Log(width);
    }

    /// <inheritdoc/>
    public int Dimension { get; }

    /// <summary>0: the distribution takes no context.</summary>
    public int ContextDimension => 0;

    /// <summary>a, the lower bound of every feature.</summary>
    public T Lower { get; }

    /// <summary>b, the upper bound of every feature.</summary>
    public T Upper { get; }

    /// <summary>None: the box is fixed.</summary>
    public IReadOnlyList<Parameter<T>> Parameters => [];

    /// <inheritdoc/>
    public Node<T> DensityLn(Tape<T> tape, Node<T> x, Node<T>? context = null)
    {
        BaseDistributions.CheckBatch(tape, x, Dimension, context);
        // Constant in x where finite, so nothing is recorded: the gradient is zero.
        Node<T> y = tape.Allocate(x.Rows, 1);
        for (int i = 0; i < x.Rows; i++)
        {
            bool inside = true;
            foreach (T value in x.Values.Slice(i * Dimension, Dimension))
            {
                inside &= value >= Lower && value <= Upper;
            }

            y.Values[i] = inside ? _logDensity : T.NegativeInfinity;
        }

        return y;
    }

    /// <inheritdoc/>
    public (Node<T> X, Node<T> DensityLn) SampleWithDensityLn(Tape<T> tape, int count, Random random, Node<T>? context = null)
    {
        BaseDistributions.CheckSample(tape, count, random, context);
        Node<T> x = tape.Allocate(count, Dimension);
        Fill(x.Values, random);
        return (x, DensityLn(tape, x));
    }

    /// <inheritdoc/>
    public void DensityLn(ReadOnlySpan<T> x, Span<T> destination, ReadOnlySpan<T> context = default)
        => BaseDistributions.DensityLn(this, x, destination, context);

    /// <inheritdoc/>
    public void Sample(Span<T> destination, Random random, ReadOnlySpan<T> context = default)
    {
        BaseDistributions.SampleRows(Dimension, destination, random, context);
        Fill(destination, random);
    }

    /// <inheritdoc/>
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"UniformBox(dimension: {Dimension}, lower: {Lower}, upper: {Upper})");

    private void Fill(Span<T> destination, Random random)
    {
        T width = Upper - Lower;
        for (int i = 0; i < destination.Length; i++)
        {
            // Rounding in T can carry a + (b − a)u past b; such a draw is put back on b.
            destination[i] = T.Min(Upper, Lower + (width * T.CreateTruncating(random.NextDouble())));
        }
    }
}
