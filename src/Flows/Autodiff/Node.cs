using System.Diagnostics;
using System.Numerics;

using Flows.Numerics;

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

    // The gradient is zero but the buffer not yet cleared: the first reader clears it, and a backward rule that writes
    // every element takes it without clearing (GradientsToOverwrite), which saves a pass over the buffer.
    private bool _gradientsPendingZero;

    // The gradient is zero outside this mask but the entries there not yet cleared (a masked linear op's backward pass on
    // a tape's own gradient leaves them, since the data-parallel reduction reads only inside the mask); the first reader
    // through Gradients clears them.
    private WeightMask<T>? _staleOutside;

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
    /// <remarks><see cref="Tape{T}.Backward"/> zeroes intermediate gradients lazily: the first read after it clears a buffer
    /// no backward rule has written, so take the span after <see cref="Tape{T}.Backward"/>, not before.</remarks>
    /// <exception cref="InvalidOperationException">The node does not take part in gradient computation.</exception>
    public Span<T> Gradients
    {
        get
        {
            if (_gradients is null || !RequiresGradient)
            {
                throw new InvalidOperationException("This node has no gradient: it was computed with recording off or from constants only.");
            }

            Span<T> gradients = _gradients.AsSpan(0, Length);
            if (_gradientsPendingZero)
            {
                gradients.Clear();
                _gradientsPendingZero = false;
            }

            ClearStaleOutside(gradients);
            return gradients;
        }
    }

    /// <summary>Whether gradients flow into this node during <see cref="Tape{T}.Backward"/>.</summary>
    public bool RequiresGradient { get; internal set; }

    /// <summary>Whether this node wraps a <see cref="Parameter{T}"/> (its gradient is owned by the parameter).</summary>
    public bool IsParameter { get; }

    // A parameter node's uses as an input in the tape pass numbered UsesPass (see Tape.UsesOf).
    internal long UsesPass { get; set; }

    internal int Uses { get; set; }

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
        _gradientsPendingZero = false;
        _staleOutside = null;
    }

    internal int Capacity => _values.Length;

    /// <summary>The array behind <see cref="Values"/>: a parameter's own, for a parameter's node.</summary>
    internal T[] Buffer => _values;

    /// <summary>Whether the gradient is zero by <see cref="ZeroGradientsLazily"/> and nothing has touched it since.</summary>
    internal bool GradientsArePendingZero => _gradientsPendingZero;

    /// <summary>Sets the gradient to zero without touching the buffer: the first access clears it, unless it is a
    /// <see cref="GradientsToOverwrite"/> that writes every element anyway. Only for buffers the tape owns (arena nodes,
    /// a tape's own parameter gradients), never a <see cref="Parameter{T}"/>'s public array.</summary>
    internal void ZeroGradientsLazily()
    {
        Debug.Assert(_gradients is not null && RequiresGradient);
        _gradientsPendingZero = true;
        _staleOutside = null;
    }

    /// <summary>Whether the gradient buffer belongs to a tape (<see cref="Tape{T}.Use"/> after
    /// <see cref="Tape{T}.KeepOwnParameterGradients"/>), read only through <see cref="Gradients"/> or the reduction.</summary>
    internal bool GradientIsTapeOwned { get; init; }

    /// <summary>Declares the gradient zero outside <paramref name="mask"/> without clearing the entries there: the next read
    /// through <see cref="Gradients"/> or <see cref="GradientsToOverwrite"/> clears them. Only for a tape's own gradient and
    /// a mask whose rows are bands.</summary>
    internal void LeaveStaleOutside(WeightMask<T> mask)
    {
        Debug.Assert(GradientIsTapeOwned && mask.RowsAreBands && !_gradientsPendingZero);
        _staleOutside = mask;
    }

    /// <summary>The raw gradient buffer for the data-parallel reduction, with the mask outside which it is stale (null:
    /// every entry is current).</summary>
    internal ReadOnlySpan<T> GradientsForReduction(out WeightMask<T>? staleOutside)
    {
        Debug.Assert(!_gradientsPendingZero);
        staleOutside = _staleOutside;
        return _gradients.AsSpan(0, Length);
    }

    private void ClearStaleOutside(Span<T> gradients)
    {
        if (_staleOutside is not null)
        {
            _staleOutside.ZeroOutside(gradients);
            _staleOutside = null;
        }
    }

    /// <summary>The gradient buffer for a backward rule that writes <i>every</i> element: with
    /// <paramref name="accumulate"/> false the gradient is zero and the rule assigns (its stale contents are never
    /// read); with true the rule adds, as every rule does through <see cref="Gradients"/>.</summary>
    internal Span<T> GradientsToOverwrite(out bool accumulate)
    {
        accumulate = !_gradientsPendingZero;
        _gradientsPendingZero = false;
        Span<T> gradients = _gradients.AsSpan(0, Length);
        ClearStaleOutside(gradients);
        return gradients;
    }

    // Arena nodes get their gradient buffer on first need and keep it across resets.
    internal void EnsureGradientBuffer()
    {
        if (_gradients is null || _gradients.Length < _values.Length)
        {
            _gradients = new T[_values.Length];
        }
    }
}
