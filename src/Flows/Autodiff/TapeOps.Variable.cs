using System.Numerics;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>
    /// A leaf node holding a copy of <paramref name="values"/> that, unlike <see cref="Tape{T}.Constant"/>, receives a
    /// gradient: after <see cref="Tape{T}.Backward"/> its <see cref="Node{T}.Gradients"/> hold ∂loss/∂values.
    /// </summary>
    /// <remarks>
    /// Use it to differentiate with respect to an input rather than a parameter, for example ∇ₓ log q(x) for the
    /// sticking-the-landing estimator. Parameters used on the same tape still accumulate their gradients as usual.
    /// </remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="values">rows × columns values, row-major.</param>
    /// <param name="rows">Rows.</param>
    /// <param name="columns">Columns.</param>
    /// <exception cref="ArgumentException"><paramref name="values"/> does not hold rows × columns values.</exception>
    public static Node<T> Variable<T>(this Tape<T> tape, ReadOnlySpan<T> values, int rows, int columns)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        Node<T> node = tape.Constant(values, rows, columns);
        if (tape.IsRecording)
        {
            node.RequiresGradient = true;
            node.EnsureGradientBuffer();
        }

        return node;
    }
}
