using System.Numerics;

namespace Flows.Autodiff;

/// <summary>
/// A rows × columns, row-major batch of values on a <see cref="Tape{T}"/>, with a gradient buffer of the same shape.
/// </summary>
/// <remarks>
/// Nodes are handed out by <see cref="Tape{T}.Allocate"/> and live until the tape is reset; a parameter's node wraps the
/// parameter's own arrays, so its gradient accumulates straight into <see cref="Parameter{T}.Gradients"/>.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Node<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _values;
    private T[]? _gradients;

    internal Node(T[] values, T[]? gradients, int rows, int columns, bool isParameter)
    {
        _values = values;
        _gradients = gradients;
        Rows = rows;
        Columns = columns;
        IsParameter = isParameter;
        RequiresGradient = isParameter;
    }

    /// <summary>Number of rows (samples).</summary>
    public int Rows { get; private set; }

    /// <summary>Number of columns (features).</summary>
    public int Columns { get; private set; }

    /// <summary>Rows × Columns.</summary>
    public int Length => Rows * Columns;

    /// <summary>The values, row-major.</summary>
    public Span<T> Values => _values.AsSpan(0, Length);

    /// <summary>The gradient of the tape's loss with respect to <see cref="Values"/>; valid after <see cref="Tape{T}.Backward"/>.</summary>
    /// <exception cref="InvalidOperationException">The node does not take part in gradient computation.</exception>
    public Span<T> Gradients => _gradients is null || !RequiresGradient
        ? throw new InvalidOperationException("This node has no gradient: it was computed with recording off or from constants only.")
        : _gradients.AsSpan(0, Length);

    /// <summary>Whether gradients flow into this node during <see cref="Tape{T}.Backward"/>.</summary>
    public bool RequiresGradient { get; internal set; }

    /// <summary>Whether this node wraps a <see cref="Parameter{T}"/> (its gradient is owned by the parameter).</summary>
    public bool IsParameter { get; }

    /// <summary>Gets the value at <paramref name="row"/>, <paramref name="column"/>.</summary>
    public T this[int row, int column] => _values[(row * Columns) + column];

    /// <inheritdoc/>
    public override string ToString() => $"Node({Rows} × {Columns})";

    // Reshapes an arena node for reuse; grows its buffers only when the new shape does not fit.
    internal void Reuse(int rows, int columns)
    {
        int length = rows * columns;
        if (_values.Length < length)
        {
            _values = new T[length];
            _gradients = null;
        }

        Rows = rows;
        Columns = columns;
        RequiresGradient = false;
    }

    internal int Capacity => _values.Length;

    // Arena nodes get their gradient buffer on first need and keep it across resets.
    internal void EnsureGradientBuffer()
    {
        if (_gradients is null || _gradients.Length < _values.Length)
        {
            _gradients = new T[_values.Length];
        }
    }
}
