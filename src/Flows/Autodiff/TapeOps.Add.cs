using System.Numerics;
using System.Numerics.Tensors;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>Elementwise <c>y = a + b</c>; <paramref name="b"/> may be a 1 × d row broadcast over the rows of <paramref name="a"/>.</summary>
    /// <exception cref="ArgumentException">The shapes are neither equal nor a row broadcast.</exception>
    public static Node<T> Add<T>(this Tape<T> tape, Node<T> a, Node<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Node<T> y = Broadcasting<T, AddOperation<T>>(tape, a, b, nameof(Add));
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

    private readonly struct AddOperation<T> : IBroadcastOperation<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static void Invoke(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Add(a, b, y);
    }
}
