using System.Numerics;
using System.Numerics.Tensors;

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
            TensorPrimitives.Exp<T>(scale.Values, scale.Values);
        }
        else
        {
            TensorPrimitives.Exp<T>(logScale.Values, scale.Values);
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
            ReadOnlySpan<T> y = e.Output.Values;
            ReadOnlySpan<T> g = e.Output.Gradients;
            ReadOnlySpan<T> gLogDet = e.Output1!.Gradients;
            int d = input.Columns;
            for (int i = 0; i < input.Rows; i++)
            {
                int offset = i * d;
                ReadOnlySpan<T> gRow = g.Slice(offset, d);
                ReadOnlySpan<T> yRow = y.Slice(offset, d);
                if (input.RequiresGradient)
                {
                    Span<T> gInput = input.Gradients.Slice(offset, d);
                    TensorPrimitives.MultiplyAdd(gRow, scale, gInput, gInput);
                }

                if (shift.RequiresGradient)
                {
                    Span<T> gShift = shift.Gradients;
                    for (int j = 0; j < d; j++)
                    {
                        gShift[j] += inverse ? -(gRow[j] * scale[j]) : gRow[j];
                    }
                }

                if (logScale.RequiresGradient)
                {
                    Span<T> gLogScale = logScale.Gradients;
                    ReadOnlySpan<T> mu = shift.Values;
                    T gl = gLogDet[i];
                    for (int j = 0; j < d; j++)
                    {
                        gLogScale[j] += inverse ? -((gRow[j] * yRow[j]) + gl) : (gRow[j] * (yRow[j] - mu[j])) + gl;
                    }
                }
            }
        }
    }
}
