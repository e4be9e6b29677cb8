using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;

namespace CustomBijector;

/// <summary>
/// Elementwise shift and scale <c>x = μ + exp(s) ⊙ z</c>, written with public tape operations only: the first way to
/// write a bijector, for maps the existing operations can express.
/// </summary>
/// <remarks>
/// <para>log|det J| = Σⱼ sⱼ on every row; the inverse <c>z = (x − μ) ⊙ exp(−s)</c> has its negative. The tape
/// differentiates the composition of <c>Use</c>, <c>Exp</c>, <c>Multiply</c>, <c>Add</c>, <c>RowSums</c> and
/// <c>RepeatRows</c>, so no backward pass is written by hand. The log-scale is stored unconstrained and exponentiated
/// inside, and all-zero parameters give the identity, as every built-in bijector promises.</para>
/// <para>The library's <c>Affine</c> is the same map with a fused kernel; this version is the teaching one.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class ShiftScale<T> : Bijector<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T> _shift;
    private readonly Parameter<T> _logScale;

    /// <summary>Creates the identity map on <paramref name="dimension"/> features (zero shift and log-scale).</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public ShiftScale(int dimension) : base(dimension)
    {
        _shift = new Parameter<T>("shift", 1, dimension);
        _logScale = new Parameter<T>("logScale", 1, dimension);
        Parameters = [_shift, _logScale];
    }

    /// <summary>μ, 1 × Dimension.</summary>
    public Parameter<T> Shift => _shift;

    /// <summary>s = log scale, 1 × Dimension.</summary>
    public Parameter<T> LogScale => _logScale;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <inheritdoc/>
    public override string ToString() => $"ShiftScale(dimension: {Dimension})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
    {
        Node<T> logScale = tape.Use(_logScale); // 1 × d, broadcast over the rows by Multiply
        Node<T> x = tape.Add(tape.Multiply(z, tape.Exp(logScale)), tape.Use(_shift));
        return (x, tape.RepeatRows(tape.RowSums(logScale), z.Rows));
    }

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
    {
        Node<T> logScale = tape.Use(_logScale);
        // exp(−s) once per column, then a multiplication per element rather than a division.
        Node<T> z = tape.Multiply(tape.Subtract(x, tape.Use(_shift)), tape.Exp(tape.Negate(logScale)));
        return (z, tape.RepeatRows(tape.Negate(tape.RowSums(logScale)), x.Rows));
    }
}
