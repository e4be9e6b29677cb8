using System.Numerics;
using System.Numerics.Tensors;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>Elementwise <c>y = a − b</c>; <paramref name="b"/> may be a 1 × d row broadcast over the rows of <paramref name="a"/>.</summary>
    /// <exception cref="ArgumentException">The shapes are neither equal nor a row broadcast.</exception>
    public static Node<T> Subtract<T>(this Tape<T> tape, Node<T> a, Node<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Node<T> y = Broadcasting<T, SubtractOperation<T>>(tape, a, b, nameof(Subtract));
        tape.Record(SubtractBackward<T>.Instance, y, a, b);
        return y;
    }

    private static class SubtractBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // d(a − b) = da − db.
        private static void Run(in TapeEntry<T> e)
        {
            Span<T> g = e.Output.Gradients;
            if (e.Input0.RequiresGradient)
            {
                TensorPrimitives.Add(e.Input0.Gradients, g, e.Input0.Gradients);
            }

            Node<T> b = e.Input1!;
            if (b.RequiresGradient)
            {
                for (int offset = 0; offset < g.Length; offset += b.Length)
                {
                    TensorPrimitives.Subtract(b.Gradients, g.Slice(offset, b.Length), b.Gradients);
                }
            }
        }
    }

    private readonly struct SubtractOperation<T> : IBroadcastOperation<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static void Invoke(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Subtract(a, b, y);
    }
}
