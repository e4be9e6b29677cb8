using System.Numerics;
using System.Numerics.Tensors;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>Elementwise <c>y = c · x</c> for a constant scalar <paramref name="factor"/>.</summary>
    public static Node<T> Scale<T>(this Tape<T> tape, Node<T> x, T factor) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        Node<T> y = tape.Allocate(x.Rows, x.Columns);
        TensorPrimitives.Multiply(x.Values, factor, y.Values);
        tape.Record(ScaleBackward<T>.Instance, y, x, scalar: factor);
        return y;
    }

    /// <summary>Elementwise <c>y = −x</c>.</summary>
    public static Node<T> Negate<T>(this Tape<T> tape, Node<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => Scale(tape, x, -T.One);

    private static class ScaleBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // d(c x) = c dx.
        private static void Run(in TapeEntry<T> e)
        {
            if (e.Input0.RequiresGradient)
            {
                TensorPrimitives.MultiplyAdd(e.Output.Gradients, e.Scalar, e.Input0.Gradients, e.Input0.Gradients);
            }
        }
    }
}
