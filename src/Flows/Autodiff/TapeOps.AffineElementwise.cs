using System.Numerics;
using System.Numerics.Tensors;
using Flows.Numerics;
using System.Runtime.Intrinsics;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>
    /// The fused elementwise affine map and its log-determinant. Forward: <c>x = z ⊙ exp(s) + μ</c>, log|det J| = Σ s;
    /// inverse: <c>z = (x − μ) ⊙ exp(−s)</c>, log|det J| = −Σ s.
    /// </summary>
    /// <param name="tape">The tape.</param>
    /// <param name="input">n × d.</param>
    /// <param name="shift">μ, 1 × d.</param>
    /// <param name="logScale">s, 1 × d.</param>
    /// <param name="inverse">Whether to run the inverse map.</param>
    /// <returns>The n × d output and the n × 1 log|det J| of the direction that ran.</returns>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static (Node<T> Output, Node<T> LogDet) AffineElementwise<T>(this Tape<T> tape, Node<T> input, Node<T> shift,
        Node<T> logScale, bool inverse) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        CheckBinaryShapes(input, shift, nameof(AffineElementwise));
        CheckBinaryShapes(input, logScale, nameof(AffineElementwise));
        if (shift.Rows != 1 || logScale.Rows != 1)
        {
            throw new ArgumentException("shift and logScale must be 1 × d rows.", nameof(shift));
        }

        int n = input.Rows;
        int d = input.Columns;
        Node<T> scale = tape.Allocate(1, d);
        if (inverse)
        {
            TensorPrimitives.Negate<T>(logScale.Values, scale.Values);
            Kernels.Map<T, Kernels.Exp<T>>(scale.Values, scale.Values);
        }
        else
        {
            Kernels.Map<T, Kernels.Exp<T>>(logScale.Values, scale.Values);
        }

        Node<T> output = tape.Allocate(n, d);
        ReadOnlySpan<T> x = input.Values;
        Span<T> y = output.Values;
        for (int offset = 0; offset < y.Length; offset += d)
        {
            Span<T> row = y.Slice(offset, d);
            if (inverse)
            {
                TensorPrimitives.Subtract(x.Slice(offset, d), shift.Values, row);
                TensorPrimitives.Multiply(row, scale.Values, row);
            }
            else
            {
                TensorPrimitives.FusedMultiplyAdd(x.Slice(offset, d), scale.Values, shift.Values, row);
            }
        }

        T logDetValue = TensorPrimitives.Sum<T>(logScale.Values);
        Node<T> logDet = tape.Allocate(n, 1);
        logDet.Values.Fill(inverse ? -logDetValue : logDetValue);
        tape.Record(AffineElementwiseBackward<T>.Instance, output, input, shift, logScale, output1: logDet, saved: scale,
            flag: inverse ? 1 : 0);
        return (output, logDet);
    }

    private static class AffineElementwiseBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Forward y = z e^s + μ:  dz = g e^s,  dμ = Σ_rows g,  ds = Σ_rows g (y − μ) + Σ_rows g_ld.
        // Inverse y = (x − μ) e^−s:  dx = g e^−s,  dμ = −Σ_rows g e^−s,  ds = −Σ_rows g y − Σ_rows g_ld.
        // Verified against central differences in TapeOpsGradientTests.
        private static void Run(in TapeEntry<T> e)
        {
            bool inverse = e.Flag != 0;
            Node<T> input = e.Input0;
            Node<T> shift = e.Input1!;
            Node<T> logScale = e.Input2!;
            ReadOnlySpan<T> scale = e.Saved!.Values;
            ReadOnlySpan<T> mu = shift.Values;
            ReadOnlySpan<T> y = e.Output.Values;
            ReadOnlySpan<T> g = e.Output.Gradients;
            ReadOnlySpan<T> gLogDet = e.Output1!.Gradients;
            Span<T> gInput = input.RequiresGradient ? input.Gradients : default;
            Span<T> gShift = shift.RequiresGradient ? shift.Gradients : default;
            Span<T> gLogScale = logScale.RequiresGradient ? logScale.Gradients : default;
            int d = input.Columns;
            for (int i = 0; i < input.Rows; i++)
            {
                int offset = i * d;
                AccumulateRow(inverse, g.Slice(offset, d), y.Slice(offset, d), scale, mu, gLogDet[i],
                    gInput.IsEmpty ? default : gInput.Slice(offset, d), gShift, gLogScale);
            }
        }

        // One row of the rules above, across the columns: whole vectors, then the remaining columns one by one. Only
        // correctly rounded operations in one order, so both paths give the same bits (rows never depend on d's
        // remainder) and each column's sums over rows accumulate in row order as before.
        private static void AccumulateRow(bool inverse, ReadOnlySpan<T> g, ReadOnlySpan<T> y, ReadOnlySpan<T> scale,
            ReadOnlySpan<T> mu, T gl, Span<T> gInput, Span<T> gShift, Span<T> gLogScale)
        {
            int d = g.Length;
            int j = 0;
            if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            {
                Vector256<T> glv = Vector256.Create(gl);
                for (; j <= d - Vector256<T>.Count; j += Vector256<T>.Count)
                {
                    Vector256<T> gj = Vector256.Create<T>(g.Slice(j));
                    Vector256<T> yj = Vector256.Create<T>(y.Slice(j));
                    Vector256<T> sj = Vector256.Create<T>(scale.Slice(j));
                    if (!gInput.IsEmpty)
                    {
                        Span<T> target = gInput.Slice(j);
                        (Vector256.Create<T>(target) + (gj * sj)).CopyTo(target);
                    }

                    if (!gShift.IsEmpty)
                    {
                        Span<T> target = gShift.Slice(j);
                        Vector256<T> step = inverse ? -(gj * sj) : gj;
                        (Vector256.Create<T>(target) + step).CopyTo(target);
                    }

                    if (!gLogScale.IsEmpty)
                    {
                        Span<T> target = gLogScale.Slice(j);
                        Vector256<T> step = inverse ? -((gj * yj) + glv) : (gj * (yj - Vector256.Create<T>(mu.Slice(j)))) + glv;
                        (Vector256.Create<T>(target) + step).CopyTo(target);
                    }
                }
            }

            for (; j < d; j++)
            {
                if (!gInput.IsEmpty)
                {
                    gInput[j] += g[j] * scale[j];
                }

                if (!gShift.IsEmpty)
                {
                    gShift[j] += inverse ? -(g[j] * scale[j]) : g[j];
                }

                if (!gLogScale.IsEmpty)
                {
                    gLogScale[j] += inverse ? -((g[j] * y[j]) + gl) : (g[j] * (y[j] - mu[j])) + gl;
                }
            }
        }
    }
}
