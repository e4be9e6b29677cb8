using System.Numerics;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>
    /// The fused elementwise affine map with per-row parameters, as autoregressive and coupling layers use it.
    /// <paramref name="parameters"/> is n × 2d: shifts μ in columns 0..d−1, raw log-scales r in columns d..2d−1. The
    /// log-scale is soft-clamped, s = b·tanh(r/b), so no raw exponential of a network output can overflow.
    /// Forward: <c>x = z ⊙ exp(s) + μ</c>, log|det J| = Σ s; inverse: <c>z = (x − μ) ⊙ exp(−s)</c>, log|det J| = −Σ s.
    /// </summary>
    /// <param name="tape">The tape.</param>
    /// <param name="input">n × d.</param>
    /// <param name="parameters">n × 2d, [μ | r].</param>
    /// <param name="logScaleBound">b: |s| &lt; b. Range: &gt; 0.</param>
    /// <param name="inverse">Whether to run the inverse map.</param>
    /// <returns>The n × d output and the n × 1 log|det J| of the direction that ran.</returns>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static (Node<T> Output, Node<T> LogDet) ConditionalAffine<T>(this Tape<T> tape, Node<T> input, Node<T> parameters,
        T logScaleBound, bool inverse) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Rows != input.Rows || parameters.Columns != 2 * input.Columns)
        {
            throw new ArgumentException(
                $"parameters is {parameters.Rows} × {parameters.Columns} but input {input.Rows} × {input.Columns} needs {input.Rows} × {2 * input.Columns}.",
                nameof(parameters));
        }

        int n = input.Rows;
        int d = input.Columns;
        Node<T> output = tape.Allocate(n, d);
        Node<T> logDet = tape.Allocate(n, 1);
        ReadOnlySpan<T> xs = input.Values;
        ReadOnlySpan<T> ps = parameters.Values;
        Span<T> ys = output.Values;
        Span<T> ls = logDet.Values;
        T inverseBound = T.One / logScaleBound;
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<T> x = xs.Slice(i * d, d);
            ReadOnlySpan<T> shift = ps.Slice(2 * i * d, d);
            ReadOnlySpan<T> raw = ps.Slice((2 * i * d) + d, d);
            Span<T> y = ys.Slice(i * d, d);
            T sum = T.Zero;
            for (int j = 0; j < d; j++)
            {
                T s = logScaleBound * T.Tanh(raw[j] * inverseBound);
                sum += s;
                y[j] = inverse ? (x[j] - shift[j]) * T.Exp(-s) : (x[j] * T.Exp(s)) + shift[j];
            }

            ls[i] = inverse ? -sum : sum;
        }

        tape.Record(ConditionalAffineBackward<T>.Instance, output, input, parameters, output1: logDet, scalar: logScaleBound,
            flag: inverse ? 1 : 0);
        return (output, logDet);
    }

    private static class ConditionalAffineBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // With t = tanh(r/b), s = b t, ds/dr = 1 − t².
        // Forward y = z e^s + μ:  dz = g e^s,  dμ = g,  dr = (g (y − μ) + g_ld)(1 − t²).
        // Inverse y = (x − μ) e^−s:  dx = g e^−s,  dμ = −g e^−s,  dr = (−g y − g_ld)(1 − t²).
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> input = e.Input0;
            Node<T> parameters = e.Input1!;
            bool inverse = e.Flag != 0;
            T bound = e.Scalar;
            T inverseBound = T.One / bound;
            int n = input.Rows;
            int d = input.Columns;
            ReadOnlySpan<T> ps = parameters.Values;
            ReadOnlySpan<T> ys = e.Output.Values;
            ReadOnlySpan<T> g = e.Output.Gradients;
            ReadOnlySpan<T> gl = e.Output1!.Gradients;
            for (int i = 0; i < n; i++)
            {
                ReadOnlySpan<T> shift = ps.Slice(2 * i * d, d);
                ReadOnlySpan<T> raw = ps.Slice((2 * i * d) + d, d);
                ReadOnlySpan<T> y = ys.Slice(i * d, d);
                ReadOnlySpan<T> gRow = g.Slice(i * d, d);
                for (int j = 0; j < d; j++)
                {
                    T t = T.Tanh(raw[j] * inverseBound);
                    T s = bound * t;
                    T slope = T.One - (t * t);
                    T scale = inverse ? T.Exp(-s) : T.Exp(s);
                    if (input.RequiresGradient)
                    {
                        input.Gradients[(i * d) + j] += gRow[j] * scale;
                    }

                    if (parameters.RequiresGradient)
                    {
                        Span<T> gp = parameters.Gradients.Slice(2 * i * d, 2 * d);
                        if (inverse)
                        {
                            gp[j] -= gRow[j] * scale;
                            gp[d + j] -= ((gRow[j] * y[j]) + gl[i]) * slope;
                        }
                        else
                        {
                            gp[j] += gRow[j];
                            gp[d + j] += ((gRow[j] * (y[j] - shift[j])) + gl[i]) * slope;
                        }
                    }
                }
            }
        }
    }
}
