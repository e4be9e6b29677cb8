using System.Numerics;
using System.Numerics.Tensors;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>Elementwise <c>y = a ⊙ b</c>; <paramref name="b"/> may be a 1 × d row broadcast over the rows of <paramref name="a"/>.</summary>
    /// <exception cref="ArgumentException">The shapes are neither equal nor a row broadcast.</exception>
    public static Node<T> Multiply<T>(this Tape<T> tape, Node<T> a, Node<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Node<T> y = Broadcasting<T, MultiplyOperation<T>>(tape, a, b, nameof(Multiply));
        tape.Record(MultiplyBackward<T>.Instance, y, a, b);
        return y;
    }

    private static class MultiplyBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // d(a ⊙ b) = b ⊙ da + a ⊙ db; a broadcast row sums its share over rows.
        private static void Run(in TapeEntry<T> e)
        {
            Span<T> g = e.Output.Gradients;
            Node<T> a = e.Input0;
            Node<T> b = e.Input1!;
            int width = b.Length;
            for (int offset = 0; offset < g.Length; offset += width)
            {
                Span<T> gRow = g.Slice(offset, width);
                if (a.RequiresGradient)
                {
                    Span<T> ga = a.Gradients.Slice(offset, width);
                    TensorPrimitives.MultiplyAdd(gRow, b.Values, ga, ga);
                }

                if (b.RequiresGradient)
                {
                    TensorPrimitives.MultiplyAdd(gRow, a.Values.Slice(offset, width), b.Gradients, b.Gradients);
                }
            }
        }
    }

    private readonly struct MultiplyOperation<T> : IBroadcastOperation<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static void Invoke(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Multiply(a, b, y);
    }
}
