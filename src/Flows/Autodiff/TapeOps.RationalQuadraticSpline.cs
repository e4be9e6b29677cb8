using System.Numerics;
using Flows.Numerics;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>
    /// The fused monotone rational-quadratic spline with identity tails (Durkan et al. 2019), forward or inverse, and
    /// its log-determinant, with a hand-derived backward pass for the input and every spline parameter.
    /// </summary>
    /// <param name="tape">The tape.</param>
    /// <param name="input">n × d.</param>
    /// <param name="parameters">n × ((3K − 1)·d), or a 1 × ((3K − 1)·d) row shared by all rows; column p·d + j is
    /// unconstrained parameter p of feature j (K width logits, K height logits, K − 1 derivative pre-activations).</param>
    /// <param name="binCount">K. Range: &gt; 0.</param>
    /// <param name="bound">B: the spline acts on [−B, B], the identity outside. Range: &gt; 0.</param>
    /// <param name="minimumWidth">Smallest bin width as a share of 2B. Range: [0, 1/K).</param>
    /// <param name="minimumHeight">Smallest bin height as a share of 2B. Range: [0, 1/K).</param>
    /// <param name="minimumDerivative">Smallest interior derivative. Range: (0, 1).</param>
    /// <param name="inverse">Whether to run the inverse.</param>
    /// <returns>The n × d output and the n × 1 log|det J| of the direction that ran.</returns>
    /// <remarks>Each element takes either the tail (identity, log-derivative 0, no parameter gradient) or the spline
    /// branch, never both, so no NaN or infinity of an untaken branch can reach a value or a gradient.</remarks>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static (Node<T> Output, Node<T> LogDet) RationalQuadraticSpline<T>(this Tape<T> tape, Node<T> input, Node<T> parameters,
        int binCount, double bound, double minimumWidth, double minimumHeight, double minimumDerivative, bool inverse)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(parameters);
        int d = input.Columns;
        int perFeature = (3 * binCount) - 1;
        if (parameters.Columns != perFeature * d || (parameters.Rows != input.Rows && parameters.Rows != 1))
        {
            throw new ArgumentException(
                $"parameters is {parameters.Rows} × {parameters.Columns}; {binCount} bins on {d} features need {input.Rows} (or 1) × {perFeature * d}.",
                nameof(parameters));
        }

        var settings = new SplineSettings<T>(binCount, bound, minimumWidth, minimumHeight, minimumDerivative);
        Node<T> output = tape.Allocate(input.Rows, d);
        Node<T> logDet = tape.Allocate(input.Rows, 1);
        Span<T> raw = perFeature <= 256 ? stackalloc T[perFeature] : new T[perFeature];
        int scratchLength = Numerics.RationalQuadraticSpline.ScratchLength(binCount);
        Span<T> scratch = scratchLength <= 512 ? stackalloc T[scratchLength] : new T[scratchLength];
        for (int i = 0; i < input.Rows; i++)
        {
            T sum = T.Zero;
            for (int j = 0; j < d; j++)
            {
                T v = input[i, j];
                T y = v;
                if (T.Abs(v) <= settings.Bound)
                {
                    GatherParameters(parameters, i, j, d, raw);
                    Knots<T> knots = Numerics.RationalQuadraticSpline.Knots<T>(raw, settings, scratch);
                    (y, T logDerivative) = Evaluate(knots, v, inverse);
                    sum += logDerivative;
                }

                output.Values[(i * d) + j] = y;
            }

            logDet.Values[i] = sum;
        }

        // K and the direction travel in the flag, the settings in a small saved node: recording allocates nothing.
        Node<T> saved = tape.Allocate(1, SplineSettings<T>.Length);
        settings.CopyTo(saved.Values);
        tape.Record(RationalQuadraticSplineBackward<T>.Instance, output, input, parameters, output1: logDet, saved: saved,
            flag: (2 * binCount) + (inverse ? 1 : 0));
        return (output, logDet);
    }

    // Forward: y = F(x) and L = log F′(x). Inverse: x = F⁻¹(y) and −L at that x.
    private static (T Value, T LogDerivative) Evaluate<T>(in Knots<T> knots, T v, bool inverse) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!inverse)
        {
            int bin = Numerics.RationalQuadraticSpline.Bin<T>(knots.X, v);
            T xi = T.Clamp((v - knots.X[bin]) / (knots.X[bin + 1] - knots.X[bin]), T.Zero, T.One);
            var point = new SplinePoint<T>(knots, bin, xi);
            return (point.Value, point.LogDerivative);
        }
        else
        {
            int bin = Numerics.RationalQuadraticSpline.Bin<T>(knots.Y, v);
            T xi = Numerics.RationalQuadraticSpline.InverseFraction(knots, bin, v);
            T x = T.Clamp(knots.X[bin] + (xi * (knots.X[bin + 1] - knots.X[bin])), knots.X[bin], knots.X[bin + 1]);
            var point = new SplinePoint<T>(knots, bin, xi);
            return (x, -point.LogDerivative);
        }
    }

    private static void GatherParameters<T>(Node<T> parameters, int row, int feature, int features, Span<T> raw)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ReadOnlySpan<T> values = parameters.Values.Slice((parameters.Rows == 1 ? 0 : row) * parameters.Columns, parameters.Columns);
        for (int p = 0; p < raw.Length; p++)
        {
            raw[p] = values[(p * features) + feature];
        }
    }

    private static class RationalQuadraticSplineBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Forward, per element in range: dx += g F′ + g_ld L_x; dθ += g ∂F/∂θ + g_ld ∂L/∂θ.
        // Inverse (x = F⁻¹(y), log-det −L(x)): with a = (g − g_ld L_x)/F′, dy += a and dθ += −a ∂F/∂θ − g_ld ∂L/∂θ.
        // Out of range (identity tail): dx += g, no parameter gradient. Verified against central differences in tests.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> input = e.Input0;
            Node<T> parameters = e.Input1!;
            bool inverse = (e.Flag & 1) != 0;
            int binCount = e.Flag >> 1;
            var settings = new SplineSettings<T>(binCount, e.Saved!.Values);
            int d = input.Columns;
            int perFeature = (3 * binCount) - 1;
            Span<T> raw = perFeature <= 256 ? stackalloc T[perFeature] : new T[perFeature];
            Span<T> gradient = perFeature <= 256 ? stackalloc T[perFeature] : new T[perFeature];
            int scratchLength = Numerics.RationalQuadraticSpline.ScratchLength(binCount);
            Span<T> scratch = scratchLength <= 512 ? stackalloc T[scratchLength] : new T[scratchLength];
            ReadOnlySpan<T> g = e.Output.Gradients;
            ReadOnlySpan<T> gl = e.Output1!.Gradients;
            for (int i = 0; i < input.Rows; i++)
            {
                for (int j = 0; j < d; j++)
                {
                    int index = (i * d) + j;
                    T v = input.Values[index];
                    if (T.Abs(v) > settings.Bound)
                    {
                        if (input.RequiresGradient)
                        {
                            input.Gradients[index] += g[index];
                        }

                        continue;
                    }

                    GatherParameters(parameters, i, j, d, raw);
                    Knots<T> knots = Numerics.RationalQuadraticSpline.Knots<T>(raw, settings, scratch);
                    int bin;
                    T xi;
                    if (inverse)
                    {
                        bin = Numerics.RationalQuadraticSpline.Bin<T>(knots.Y, v);
                        xi = Numerics.RationalQuadraticSpline.InverseFraction(knots, bin, v);
                    }
                    else
                    {
                        bin = Numerics.RationalQuadraticSpline.Bin<T>(knots.X, v);
                        xi = T.Clamp((v - knots.X[bin]) / (knots.X[bin + 1] - knots.X[bin]), T.Zero, T.One);
                    }

                    var point = new SplinePoint<T>(knots, bin, xi);
                    T alpha;
                    T beta;
                    if (inverse)
                    {
                        T a = (g[index] - (gl[i] * point.DlDInput)) / point.Derivative;
                        if (input.RequiresGradient)
                        {
                            input.Gradients[index] += a;
                        }

                        alpha = -a;
                        beta = -gl[i];
                    }
                    else
                    {
                        if (input.RequiresGradient)
                        {
                            input.Gradients[index] += (g[index] * point.Derivative) + (gl[i] * point.DlDInput);
                        }

                        alpha = g[index];
                        beta = gl[i];
                    }

                    if (parameters.RequiresGradient)
                    {
                        gradient.Clear();
                        Numerics.RationalQuadraticSpline.AccumulateParameterGradient(knots, bin, point, alpha, beta, raw, settings, gradient);
                        Span<T> target = parameters.Gradients.Slice((parameters.Rows == 1 ? 0 : i) * parameters.Columns, parameters.Columns);
                        for (int p = 0; p < perFeature; p++)
                        {
                            target[(p * d) + j] += gradient[p];
                        }
                    }
                }
            }
        }
    }
}
