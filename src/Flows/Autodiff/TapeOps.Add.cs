using System.Numerics;
using System.Numerics.Tensors;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>Elementwise <c>y = a + b</c>; <paramref name="b"/> may be a 1 × d row broadcast over the rows of <paramref name="a"/>.</summary>
    /// <exception cref="ArgumentException">The shapes are neither equal nor a row broadcast.</exception>
    public static Node<T> Add<T>(this Tape<T> tape, Node<T> a, Node<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        bool broadcast = CheckBinaryShapes(a, b, nameof(Add));
        Node<T> y = tape.Allocate(a.Rows, a.Columns);
        if (broadcast)
        {
            for (int offset = 0; offset < a.Length; offset += a.Columns)
            {
                TensorPrimitives.Add(a.Values.Slice(offset, a.Columns), b.Values, y.Values.Slice(offset, a.Columns));
            }
        }
        else
        {
            TensorPrimitives.Add(a.Values, b.Values, y.Values);
        }

        tape.Record(AddBackward<T>.Instance, y, a, b);
        return y;
    }

    private static class AddBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // d(a + b) = da + db: both inputs receive the output gradient (summed over rows for a broadcast row).
        private static void Run(in TapeEntry<T> e)
        {
            Span<T> g = e.Output.Gradients;
            if (e.Input0.RequiresGradient)
            {
                TensorPrimitives.Add(e.Input0.Gradients, g, e.Input0.Gradients);
            }

            if (e.Input1!.RequiresGradient)
            {
                AccumulateBroadcast<T>(g, e.Input1.Gradients);
            }
        }
    }
}
