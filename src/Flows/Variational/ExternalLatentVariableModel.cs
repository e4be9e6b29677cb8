using System.Numerics;
using Flows.Autodiff;

namespace Flows.Variational;

/// <summary>
/// log p(x, z) and its gradient in z for a batch of pairs, computed by your own code: a model the tape cannot see.
/// </summary>
/// <remarks>Write every element of both destinations. Return −∞ for a z outside the support.</remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
/// <param name="x">n × DataDimension observations, row-major.</param>
/// <param name="z">n × LatentDimension latent points, row-major; row i goes with row i of x.</param>
/// <param name="logDensity">Receives log p(xᵢ, zᵢ) for the n rows.</param>
/// <param name="gradient">Receives ∇_z log p(xᵢ, zᵢ): n × LatentDimension, row-major.</param>
public delegate void JointLogDensityWithGradient<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> z, Span<T> logDensity, Span<T> gradient)
    where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// A fixed generative model given as a function log p(x, z) with its gradient in z: fitting a
/// <see cref="VariationalAutoencoder{T}"/> on it trains the amortized posterior alone (amortized variational inference
/// for a scientist's model).
/// </summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class ExternalLatentVariableModel<T> : ILatentVariableModel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly JointLogDensityWithGradient<T> _function;
    private T[] _values = [];
    private T[] _gradients = [];

    /// <summary>Wraps <paramref name="function"/>.</summary>
    /// <param name="dataDimension">Features of x. Range: &gt; 0.</param>
    /// <param name="latentDimension">Features of z. Range: &gt; 0.</param>
    /// <param name="function">log p(x, z) and ∇_z log p(x, z).</param>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is not positive.</exception>
    public ExternalLatentVariableModel(int dataDimension, int latentDimension, JointLogDensityWithGradient<T> function)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dataDimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(latentDimension);
        ArgumentNullException.ThrowIfNull(function);
        DataDimension = dataDimension;
        LatentDimension = latentDimension;
        _function = function;
    }

    /// <inheritdoc/>
    public int DataDimension { get; }

    /// <inheritdoc/>
    public int LatentDimension { get; }

    /// <summary>None: the model is fixed.</summary>
    public IReadOnlyList<Parameter<T>> Parameters => [];

    /// <inheritdoc/>
    /// <remarks>Not thread-safe: the function's outputs go through buffers of this object, as a tape's do.</remarks>
    /// <exception cref="InvalidOperationException">The function returned NaN or +∞ for some row.</exception>
    public Node<T> JointDensityLn(Tape<T> tape, Node<T> x, Node<T> z)
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(z);
        if (x.Columns != DataDimension || z.Columns != LatentDimension || x.Rows != z.Rows)
        {
            throw new ArgumentException(
                $"x is {x.Rows} × {x.Columns} and z {z.Rows} × {z.Columns}; the model needs n × {DataDimension} and n × {LatentDimension}.", nameof(z));
        }

        if (_values.Length < z.Rows)
        {
            _values = new T[z.Rows];
        }

        if (_gradients.Length < z.Length)
        {
            _gradients = new T[z.Length];
        }

        Span<T> values = _values.AsSpan(0, z.Rows);
        Span<T> gradients = _gradients.AsSpan(0, z.Length);
        _function(x.Values, z.Values, values, gradients);
        for (int i = 0; i < values.Length; i++)
        {
            if (T.IsNaN(values[i]) || T.IsPositiveInfinity(values[i]))
            {
                throw new InvalidOperationException($"The joint log-density returned {values[i]} for row {i}; it must be finite or −∞.");
            }
        }

        return tape.ExternalRowFunction(z, values, gradients);
    }

    /// <summary>Every finite value is accepted; the function itself answers for its support.</summary>
    /// <param name="x">The data.</param>
    /// <param name="name">The argument's name.</param>
    public void CheckSupport(ReadOnlySpan<T> x, string name)
    {
    }

    /// <inheritdoc/>
    public override string ToString() => $"ExternalLatentVariableModel(dataDimension: {DataDimension}, latentDimension: {LatentDimension})";
}
