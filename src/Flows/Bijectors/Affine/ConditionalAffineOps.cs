using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Flows.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

internal static class ConditionalAffineOps
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
        Node<T> logScales = tape.Allocate(n, d); // s, saved: the backward pass rebuilds tanh and exp(±s) from it
        T inverseBound = T.One / logScaleBound;
        T direction = inverse ? -T.One : T.One;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            // Whole vectors of each row's columns, then the remaining columns of all rows gathered into vectors across
            // rows (all columns when rows are narrower than a vector, as in a sequential pass with d = 1).
            // At 512 bits (VectorWidth) the whole 256-bit vectors of a row go two at a time and the gathered lanes are
            // twice as many; the same elements take the vector maths, which is lane-independent, so the bits are those
            // of the 256-bit path.
            bool wide = VectorWidth.Current == 512 && Vector512<T>.IsSupported;
            int whole = d - (d % Vector256<T>.Count);
            AffineWholeVectors(input.Values, parameters.Values, n, d, whole, output.Values, logScales.Values, logScaleBound, inverseBound, direction, inverse, wide);
            AffineAcrossRows(input.Values, parameters.Values, n, d, whole, output.Values, logScales.Values, logScaleBound, inverseBound, direction, inverse, wide);
        }
        else
        {
            for (int e = 0; e < n * d; e++)
            {
                int row = e / d;
                int column = e - (row * d);
                T sValue = logScaleBound * VectorMath.Tanh(parameters.Values[(2 * row * d) + d + column] * inverseBound);
                T scale = T.Exp(direction * sValue);
                T shift = parameters.Values[(2 * row * d) + column];
                logScales.Values[e] = sValue;
                output.Values[e] = inverse ? (input.Values[e] - shift) * scale : (input.Values[e] * scale) + shift;
            }
        }

        // Σ s in column order, the order of IConditionalTransform.SumLogDerivatives' default, which MaskedAutoregressive's
        // sequential pass sums its columns with; negated for the inverse.
        Kernels.RowSumsInColumnOrder<T>(logScales.Values, d, logDet.Values);
        if (inverse)
        {
            TensorPrimitives.Negate<T>(logDet.Values, logDet.Values);
        }

        tape.Record(ConditionalAffineBackward<T>.Instance, output, input, parameters, output1: logDet, saved: logScales,
            scalar: logScaleBound, flag: inverse ? 1 : 0);
        return (output, logDet);
    }

    // Columns 0..whole − 1 of every row, a vector at a time, loaded in place.
    private static void AffineWholeVectors<T>(ReadOnlySpan<T> input, ReadOnlySpan<T> parameters, int n, int d, int whole, Span<T> output, Span<T> logScales,
        T bound, T inverseBound, T direction, bool inverse, bool wide) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < n; i++)
        {
            int j = 0;
            for (; wide && j + Vector512<T>.Count <= whole; j += Vector512<T>.Count)
            {
                int at = (i * d) + j;
                AffineChunk512(parameters[((2 * i * d) + d + j)..], input[at..], parameters[((2 * i * d) + j)..], output[at..], logScales[at..],
                    bound, inverseBound, direction, inverse);
            }

            for (; j < whole; j += Vector256<T>.Count)
            {
                int at = (i * d) + j;
                AffineChunk(parameters[((2 * i * d) + d + j)..], input[at..], parameters[((2 * i * d) + j)..], output[at..], logScales[at..],
                    bound, inverseBound, direction, inverse);
            }
        }
    }

    // Columns first..d − 1 of every row, consecutive such elements gathered with their parameters into the lanes (a
    // ragged last vector padded with zeros). The vector maths is lane-independent, so an element gets the same bits
    // whichever elements share its vector: a column computed alone matches it computed within its row.
    private static void AffineAcrossRows<T>(ReadOnlySpan<T> input, ReadOnlySpan<T> parameters, int n, int d, int first, Span<T> output, Span<T> logScales,
        T bound, T inverseBound, T direction, bool inverse, bool wide) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int width = d - first;
        int count = wide ? Vector512<T>.Count : Vector256<T>.Count;
        Span<T> lanes = stackalloc T[5 * count];
        Span<T> raw = lanes[..count];
        Span<T> x = lanes.Slice(count, count);
        Span<T> shift = lanes.Slice(2 * count, count);
        Span<T> y = lanes.Slice(3 * count, count);
        Span<T> s = lanes.Slice(4 * count, count);
        Span<int> targets = stackalloc int[count];
        for (int start = 0; start < n * width; start += count)
        {
            int filled = Math.Min(count, (n * width) - start);
            if (filled < count)
            {
                lanes.Clear();
            }

            for (int lane = 0; lane < filled; lane++)
            {
                int row = (start + lane) / width;
                int column = first + (start + lane) - (row * width);
                raw[lane] = parameters[(2 * row * d) + d + column];
                shift[lane] = parameters[(2 * row * d) + column];
                targets[lane] = (row * d) + column;
                x[lane] = input[targets[lane]];
            }

            if (wide)
            {
                AffineChunk512<T>(raw, x, shift, y, s, bound, inverseBound, direction, inverse);
            }
            else
            {
                AffineChunk<T>(raw, x, shift, y, s, bound, inverseBound, direction, inverse);
            }
            for (int lane = 0; lane < filled; lane++)
            {
                output[targets[lane]] = y[lane];
                logScales[targets[lane]] = s[lane];
            }
        }
    }

    // One vector of columns: s = b·tanh(r/b), y = z·e^s + μ or (x − μ)·e^−s.
    private static void AffineChunk<T>(ReadOnlySpan<T> raw, ReadOnlySpan<T> x, ReadOnlySpan<T> shift, Span<T> y, Span<T> s,
        T bound, T inverseBound, T direction, bool inverse) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector256<T> sv = Vector256.Create(bound) * VectorMath.Tanh(Vector256.Create(raw) * Vector256.Create(inverseBound));
        Vector256<T> scale = VectorMath.Exp(Vector256.Create(direction) * sv);
        Vector256<T> xv = Vector256.Create(x);
        Vector256<T> mu = Vector256.Create(shift);
        (inverse ? (xv - mu) * scale : (xv * scale) + mu).CopyTo(y);
        sv.CopyTo(s);
    }

    // The same with 512-bit vectors, lane for lane the same operations.
    private static void AffineChunk512<T>(ReadOnlySpan<T> raw, ReadOnlySpan<T> x, ReadOnlySpan<T> shift, Span<T> y, Span<T> s,
        T bound, T inverseBound, T direction, bool inverse) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector512<T> sv = Vector512.Create(bound) * VectorMath.Tanh(Vector512.Create(raw) * Vector512.Create(inverseBound));
        Vector512<T> scale = VectorMath.Exp(Vector512.Create(direction) * sv);
        Vector512<T> xv = Vector512.Create(x);
        Vector512<T> mu = Vector512.Create(shift);
        (inverse ? (xv - mu) * scale : (xv * scale) + mu).CopyTo(y);
        sv.CopyTo(s);
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
            T direction = inverse ? -T.One : T.One;
            T inverseBound = T.One / e.Scalar;
            int n = input.Rows;
            int d = input.Columns;
            for (int i = 0; i < n; i++)
            {
                ReadOnlySpan<T> shift = parameters.Values.Slice(2 * i * d, d);
                ReadOnlySpan<T> s = e.Saved!.Values.Slice(i * d, d);
                ReadOnlySpan<T> y = e.Output.Values.Slice(i * d, d);
                ReadOnlySpan<T> g = e.Output.Gradients.Slice(i * d, d);
                T gl = e.Output1!.Gradients[i];
                Span<T> gx = input.RequiresGradient ? input.Gradients.Slice(i * d, d) : default;
                Span<T> gShift = parameters.RequiresGradient ? parameters.Gradients.Slice(2 * i * d, d) : default;
                Span<T> gRaw = parameters.RequiresGradient ? parameters.Gradients.Slice((2 * i * d) + d, d) : default;
                int j = 0;
                // 512-bit vectors first, then 256-bit ones up to where the 256-bit path alone would stop: the same
                // elements reach the scalar loop at either width, so the bits do not depend on it.
                if (VectorWidth.Current == 512 && Vector512<T>.IsSupported)
                {
                    int count = Vector512<T>.Count;
                    for (; j <= d - count; j += count)
                    {
                        Vector512<T> sv = Vector512.Create(s[j..]);
                        Vector512<T> t = sv * Vector512.Create(inverseBound);
                        Vector512<T> slope = Vector512<T>.One - (t * t);
                        Vector512<T> scale = VectorMath.Exp(Vector512.Create(direction) * sv);
                        Vector512<T> gv = Vector512.Create(g[j..]);
                        if (!gx.IsEmpty)
                        {
                            (Vector512.Create<T>(gx[j..]) + (gv * scale)).CopyTo(gx[j..]);
                        }

                        if (!gRaw.IsEmpty)
                        {
                            Vector512<T> yv = Vector512.Create(y[j..]);
                            Vector512<T> gr = inverse
                                ? -((gv * yv) + Vector512.Create(gl)) * slope
                                : ((gv * (yv - Vector512.Create(shift[j..]))) + Vector512.Create(gl)) * slope;
                            (Vector512.Create<T>(gShift[j..]) + (inverse ? -(gv * scale) : gv)).CopyTo(gShift[j..]);
                            (Vector512.Create<T>(gRaw[j..]) + gr).CopyTo(gRaw[j..]);
                        }
                    }
                }

                if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
                {
                    int count = Vector256<T>.Count;
                    for (; j <= d - count; j += count)
                    {
                        Vector256<T> sv = Vector256.Create(s[j..]);
                        Vector256<T> t = sv * Vector256.Create(inverseBound);
                        Vector256<T> slope = Vector256<T>.One - (t * t);
                        Vector256<T> scale = VectorMath.Exp(Vector256.Create(direction) * sv);
                        Vector256<T> gv = Vector256.Create(g[j..]);
                        if (!gx.IsEmpty)
                        {
                            (Vector256.Create<T>(gx[j..]) + (gv * scale)).CopyTo(gx[j..]);
                        }

                        if (!gRaw.IsEmpty)
                        {
                            Vector256<T> yv = Vector256.Create(y[j..]);
                            Vector256<T> gr = inverse
                                ? -((gv * yv) + Vector256.Create(gl)) * slope
                                : ((gv * (yv - Vector256.Create(shift[j..]))) + Vector256.Create(gl)) * slope;
                            (Vector256.Create<T>(gShift[j..]) + (inverse ? -(gv * scale) : gv)).CopyTo(gShift[j..]);
                            (Vector256.Create<T>(gRaw[j..]) + gr).CopyTo(gRaw[j..]);
                        }
                    }
                }

                for (; j < d; j++)
                {
                    T t = s[j] * inverseBound;
                    T slope = T.One - (t * t);
                    T scale = T.Exp(direction * s[j]);
                    if (!gx.IsEmpty)
                    {
                        gx[j] += g[j] * scale;
                    }

                    if (!gRaw.IsEmpty)
                    {
                        gShift[j] += inverse ? -(g[j] * scale) : g[j];
                        gRaw[j] += inverse ? -((g[j] * y[j]) + gl) * slope : ((g[j] * (y[j] - shift[j])) + gl) * slope;
                    }
                }
            }
        }
    }
}
