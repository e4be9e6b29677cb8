using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

internal static class LeakyReLUOps
{
    /// <summary>
    /// The fused leaky ReLU of n × d <paramref name="input"/> with the 1 × d log-slope s: forward <c>y = u</c> for u ≥ 0,
    /// <c>y = exp(s)·u</c> below, log-det Σ_{u&lt;0} s; inverse <c>y = exp(−s)·u</c> below 0, log-det −Σ_{u&lt;0} s.
    /// </summary>
    /// <remarks>Forward and inverse are one formula with the sign of s flipped, since sign(x) = sign(z).</remarks>
    public static (Node<T> Output, Node<T> LogDet) LeakyReLU<T>(this Tape<T> tape, Node<T> input, Node<T> logSlope, bool inverse)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = input.Rows;
        int d = input.Columns;
        Node<T> output = tape.Allocate(n, d);
        Node<T> logDet = tape.Allocate(n, 1);
        ReadOnlySpan<T> u = input.Values;
        ReadOnlySpan<T> s = logSlope.Values;
        Span<T> y = output.Values;
        T sign = inverse ? -T.One : T.One;
        for (int i = 0; i < n; i++)
        {
            T sum = T.Zero;
            for (int j = 0; j < d; j++)
            {
                T value = u[(i * d) + j];
                if (value < T.Zero)
                {
                    T signedLogSlope = sign * s[j];
                    y[(i * d) + j] = T.Exp(signedLogSlope) * value;
                    sum += signedLogSlope;
                }
                else
                {
                    y[(i * d) + j] = value;
                }
            }

            logDet.Values[i] = sum;
        }

        tape.Record(LeakyReLUBackward<T>.Instance, output, input, logSlope, output1: logDet, flag: inverse ? 1 : 0);
        return (output, logDet);
    }

    private static class LeakyReLUBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // With σ = ±s (the sign of the direction) and u < 0: y = e^σ u, so du += g e^σ and ds += ±(g e^σ u + g_ld);
        // with u ≥ 0: du += g and s gets nothing. Verified against central differences by the property suite.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> input = e.Input0;
            Node<T> logSlope = e.Input1!;
            int d = input.Columns;
            T sign = e.Flag != 0 ? -T.One : T.One;
            ReadOnlySpan<T> u = input.Values;
            ReadOnlySpan<T> s = logSlope.Values;
            ReadOnlySpan<T> g = e.Output.Gradients;
            ReadOnlySpan<T> gLogDet = e.Output1!.Gradients;
            for (int i = 0; i < input.Rows; i++)
            {
                for (int j = 0; j < d; j++)
                {
                    int k = (i * d) + j;
                    if (u[k] < T.Zero)
                    {
                        T slope = T.Exp(sign * s[j]);
                        if (input.RequiresGradient)
                        {
                            input.Gradients[k] += g[k] * slope;
                        }

                        if (logSlope.RequiresGradient)
                        {
                            logSlope.Gradients[j] += sign * ((g[k] * slope * u[k]) + gLogDet[i]);
                        }
                    }
                    else if (input.RequiresGradient)
                    {
                        input.Gradients[k] += g[k];
                    }
                }
            }
        }
    }
}
