using System.Numerics;
using Flows.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

internal static class ElementwiseOps
{
    /// <summary>
    /// One fused driver for every elementwise bijection f: forward <c>x = f(z)</c> with log|det J| = Σ log f′(z);
    /// inverse <c>z = f⁻¹(x)</c> with log|det J| = −Σ log f′(z). An inverse input outside the range of f gives a row
    /// log-determinant of −∞ (so the density there is 0), a zero output and no gradient.
    /// </summary>
    internal static (Node<T> Output, Node<T> LogDet) ElementwiseBijection<T, TMap>(this Tape<T> tape, Node<T> input, bool inverse)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TMap : IElementwiseFunction<T>
    {
        int d = input.Columns;
        Node<T> output = tape.Allocate(input.Rows, d);
        Node<T> logDet = tape.Allocate(input.Rows, 1);
        ReadOnlySpan<T> xs = input.Values;
        Span<T> ys = output.Values;
        for (int i = 0; i < input.Rows; i++)
        {
            T sum = T.Zero;
            for (int j = 0; j < d; j++)
            {
                int k = (i * d) + j;
                T v = xs[k];
                if (!inverse)
                {
                    ys[k] = TMap.Forward(v);
                    sum += TMap.LogDerivative(v);
                }
                else if (TMap.IsInRange(v))
                {
                    T z = TMap.Inverse(v);
                    ys[k] = z;
                    sum -= TMap.LogDerivative(z);
                }
                else
                {
                    ys[k] = T.Zero;
                    sum = T.NegativeInfinity;
                }
            }

            logDet.Values[i] = sum;
        }

        tape.Record(ElementwiseBijectionBackward<T, TMap>.Instance, output, input, output1: logDet, flag: inverse ? 1 : 0);
        return (output, logDet);
    }

    private static class ElementwiseBijectionBackward<T, TMap>
        where T : unmanaged, IFloatingPointIeee754<T>
        where TMap : IElementwiseFunction<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Forward: dz += g f′(z) + g_ld (log f′)′(z).
        // Inverse (z = f⁻¹(x), dz/dx = 1/f′(z)): dx += (g − g_ld (log f′)′(z)) / f′(z).
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> input = e.Input0;
            if (!input.RequiresGradient)
            {
                return;
            }

            bool inverse = e.Flag != 0;
            int d = input.Columns;
            ReadOnlySpan<T> xs = input.Values;
            ReadOnlySpan<T> ys = e.Output.Values;
            ReadOnlySpan<T> g = e.Output.Gradients;
            ReadOnlySpan<T> gLogDet = e.Output1!.Gradients;
            Span<T> gx = input.Gradients;
            for (int i = 0; i < input.Rows; i++)
            {
                for (int j = 0; j < d; j++)
                {
                    int k = (i * d) + j;
                    if (!inverse)
                    {
                        gx[k] += (g[k] * TMap.Derivative(xs[k])) + (gLogDet[i] * TMap.LogDerivativeSlope(xs[k]));
                    }
                    else if (TMap.IsInRange(xs[k]))
                    {
                        T z = ys[k];
                        gx[k] += (g[k] - (gLogDet[i] * TMap.LogDerivativeSlope(z))) / TMap.Derivative(z);
                    }
                }
            }
        }
    }
}
