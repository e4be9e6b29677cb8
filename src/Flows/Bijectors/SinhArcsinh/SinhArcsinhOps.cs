using System.Numerics;
using Flows.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

internal static class SinhArcsinhOps
{
    /// <summary>
    /// The fused sinh-arcsinh map of Jones &amp; Pewsey (2009) and its log-determinant, with skew ε and tail weight
    /// δ = exp(logTailWeight). Forward: <c>x = sinh((asinh(z) + ε)/δ)</c>; inverse: <c>z = sinh(δ·asinh(x) − ε)</c>.
    /// </summary>
    /// <param name="tape">The tape.</param>
    /// <param name="input">n × d.</param>
    /// <param name="skew">ε, 1 × d.</param>
    /// <param name="logTailWeight">log δ, 1 × d.</param>
    /// <param name="inverse">Whether to run the inverse map.</param>
    /// <returns>The output and the n × 1 log|det J| of the direction that ran.</returns>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static (Node<T> Output, Node<T> LogDet) SinhArcsinh<T>(this Tape<T> tape, Node<T> input, Node<T> skew,
        Node<T> logTailWeight, bool inverse) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(skew);
        ArgumentNullException.ThrowIfNull(logTailWeight);
        if (skew.Rows != 1 || skew.Columns != input.Columns || logTailWeight.Rows != 1 || logTailWeight.Columns != input.Columns)
        {
            throw new ArgumentException($"skew and logTailWeight must be 1 × {input.Columns}.", nameof(skew));
        }

        int n = input.Rows;
        int d = input.Columns;
        Node<T> output = tape.Allocate(n, d);
        Node<T> logDet = tape.Allocate(n, 1);

        // Scratch, laid out as rows: [δ; log δ] per column, then for every element asinh(input), the argument u of sinh
        // (both kept for the backward pass, which then evaluates no asinh, exp or log again) and the per-element
        // log-derivative term.
        Node<T> saved = tape.Allocate(2 + (3 * n), d);
        Span<T> scratch = saved.Values;
        Span<T> tailWeight = scratch[..d];
        Span<T> logTail = scratch.Slice(d, d);
        ReadOnlySpan<T> eps = skew.Values;
        ReadOnlySpan<T> lt = logTailWeight.Values;
        for (int j = 0; j < d; j++)
        {
            // log(exp(log δ)) rather than log δ itself keeps the log-determinant what it was when computed per element.
            tailWeight[j] = T.Exp(lt[j]);
            logTail[j] = T.Log(tailWeight[j]);
        }

        Span<T> asinhs = scratch.Slice(2 * d, n * d);
        Span<T> arguments = scratch.Slice((2 + n) * d, n * d);
        Span<T> terms = scratch.Slice((2 + (2 * n)) * d, n * d);
        ReadOnlySpan<T> xs = input.Values;
        Span<T> ys = output.Values;

        // asinh and sinh stay scalar: TensorPrimitives' asinh is a scalar loop and its vector sinh loses relative
        // accuracy near 0. The log-derivative terms (exp, log, log1p) run as one vector kernel over the whole batch.
        for (int k = 0, j = 0; k < ys.Length; k++)
        {
            T a = T.Asinh(xs[k]);
            T u = inverse ? (tailWeight[j] * a) - eps[j] : (a + eps[j]) / tailWeight[j];
            asinhs[k] = a;
            arguments[k] = u;
            ys[k] = T.Sinh(u);
            if (++j == d)
            {
                j = 0;
            }
        }

        Kernels.Map<T, Kernels.SinhArcsinhLogDerivative<T>>(arguments, xs, terms);
        Span<T> ld = logDet.Values;
        for (int i = 0, k = 0; i < n; i++)
        {
            T sum = T.Zero;
            for (int j = 0; j < d; j++, k++)
            {
                sum += inverse ? terms[k] + logTail[j] : terms[k] - logTail[j];
            }

            ld[i] = sum;
        }

        tape.Record(SinhArcsinhBackward<T>.Instance, output, input, skew, logTailWeight, output1: logDet, saved: saved,
            flag: inverse ? 1 : 0);
        return (output, logDet);
    }

    /// <remarks>
    /// Forward, with a = asinh(z), u = (a + ε)/δ: x = sinh(u), ℓ = log cosh(u) − log δ − ½ log(1 + z²).
    /// ∂x/∂z = cosh(u)/(δ√(1+z²)), ∂x/∂ε = cosh(u)/δ, ∂x/∂log δ = −u cosh(u);
    /// ∂ℓ/∂z = tanh(u)/(δ√(1+z²)) − z/(1+z²), ∂ℓ/∂ε = tanh(u)/δ, ∂ℓ/∂log δ = −u tanh(u) − 1.
    /// Inverse, with b = asinh(x), v = δb − ε: z = sinh(v), ℓ = log cosh(v) + log δ − ½ log(1 + x²).
    /// ∂z/∂x = δ cosh(v)/√(1+x²), ∂z/∂ε = −cosh(v), ∂z/∂log δ = δ b cosh(v);
    /// ∂ℓ/∂x = δ tanh(v)/√(1+x²) − x/(1+x²), ∂ℓ/∂ε = −tanh(v), ∂ℓ/∂log δ = δ b tanh(v) + 1.
    /// √(1+x²) is a hypot so that no square overflows. a (or b) and u (or v) come from the forward pass's scratch.
    /// cosh and tanh stay scalar: TensorPrimitives' vector tanh (like its sinh) loses relative accuracy near 0
    /// (measured: relative error 0.3 and more for |u| ≈ 1e-16).
    /// </remarks>
    private static class SinhArcsinhBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        private static void Run(in TapeEntry<T> e)
        {
            Node<T> input = e.Input0;
            Node<T> skew = e.Input1!;
            Node<T> logTailWeight = e.Input2!;
            bool inverse = e.Flag != 0;
            int n = input.Rows;
            int d = input.Columns;
            ReadOnlySpan<T> scratch = e.Saved!.Values;
            ReadOnlySpan<T> tailWeight = scratch[..d];
            ReadOnlySpan<T> asinhs = scratch.Slice(2 * d, n * d);
            ReadOnlySpan<T> arguments = scratch.Slice((2 + n) * d, n * d);
            ReadOnlySpan<T> xs = input.Values;
            ReadOnlySpan<T> g = e.Output.Gradients;
            ReadOnlySpan<T> gLogDet = e.Output1!.Gradients;
            Span<T> gInput = input.RequiresGradient ? input.Gradients : default;
            Span<T> gSkew = skew.RequiresGradient ? skew.Gradients : default;
            Span<T> gLogTail = logTailWeight.RequiresGradient ? logTailWeight.Gradients : default;
            bool wantInput = input.RequiresGradient;
            bool wantSkew = skew.RequiresGradient;
            bool wantLogTail = logTailWeight.RequiresGradient;
            for (int i = 0, k = 0; i < n; i++)
            {
                T gl = gLogDet[i];
                for (int j = 0; j < d; j++, k++)
                {
                    T x = xs[k];
                    T delta = tailWeight[j];
                    T a = asinhs[k];
                    T u = arguments[k];
                    T cosh = T.Cosh(u);
                    T tanh = T.Tanh(u);
                    T h = T.Hypot(T.One, x);
                    T xOverOnePlusSquare = x / h / h;
                    T dInput, dSkew, dLogTail, dLogInput, dLogSkew, dLogLogTail;
                    if (inverse)
                    {
                        dInput = delta * cosh / h;
                        dSkew = -cosh;
                        dLogTail = delta * a * cosh;
                        dLogInput = (delta * tanh / h) - xOverOnePlusSquare;
                        dLogSkew = -tanh;
                        dLogLogTail = (delta * a * tanh) + T.One;
                    }
                    else
                    {
                        dInput = cosh / (delta * h);
                        dSkew = cosh / delta;
                        dLogTail = -u * cosh;
                        dLogInput = (tanh / (delta * h)) - xOverOnePlusSquare;
                        dLogSkew = tanh / delta;
                        dLogLogTail = (-u * tanh) - T.One;
                    }

                    T gk = g[k];
                    if (wantInput)
                    {
                        gInput[k] += (gk * dInput) + (gl * dLogInput);
                    }

                    if (wantSkew)
                    {
                        gSkew[j] += (gk * dSkew) + (gl * dLogSkew);
                    }

                    if (wantLogTail)
                    {
                        gLogTail[j] += (gk * dLogTail) + (gl * dLogLogTail);
                    }
                }
            }
        }
    }
}
