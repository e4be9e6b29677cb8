using System.Numerics;
using System.Numerics.Tensors;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>Per-row standard normal log-density <c>−½ Σⱼ zⱼ² − (d/2) log 2π</c>: n × d → n × 1.</summary>
    public static Node<T> StandardNormalLogDensity<T>(this Tape<T> tape, Node<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(z);
        int d = z.Columns;
        T constant = T.CreateTruncating(-0.5 * d * Math.Log(2 * Math.PI));
        T half = T.CreateTruncating(0.5);
        Node<T> y = tape.Allocate(z.Rows, 1);
        for (int i = 0; i < z.Rows; i++)
        {
            y.Values[i] = constant - (half * TensorPrimitives.SumOfSquares<T>(z.Values.Slice(i * d, d)));
        }

        tape.Record(StandardNormalLogDensityBackward<T>.Instance, y, z);
        return y;
    }

    private static class StandardNormalLogDensityBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // d/dz (−½ z²) = −z.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> z = e.Input0;
            if (!z.RequiresGradient)
            {
                return;
            }

            int d = z.Columns;
            ReadOnlySpan<T> g = e.Output.Gradients;
            for (int i = 0; i < z.Rows; i++)
            {
                Span<T> gz = z.Gradients.Slice(i * d, d);
                TensorPrimitives.MultiplyAdd(z.Values.Slice(i * d, d), -g[i], gz, gz);
            }
        }
    }
}
