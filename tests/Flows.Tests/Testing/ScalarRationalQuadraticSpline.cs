using System.Numerics;
using Flows.Numerics;

namespace Flows.Tests.Testing;

/// <summary>
/// The rational-quadratic spline element by element in plain scalar code, as the library computed it before its
/// vectorized kernel: the reference the kernel is compared with (knots, bin search, cancellation-free inverse, all
/// partial derivatives, the chain back to the unconstrained parameters). See Flows.Numerics.RationalQuadraticSpline
/// for the maths.
/// </summary>
internal static class ScalarRationalQuadraticSpline
{
    /// <summary>The op's values, element by element: output n × d and log-det n.</summary>
    public static (T[] Output, T[] LogDet) Evaluate<T>(T[] input, T[] parameters, int rows, int features, in SplineSettings<T> settings, bool inverse)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var output = new T[rows * features];
        var logDet = new T[rows];
        var scratch = new T[ScratchLength(settings.BinCount)];
        for (int i = 0; i < rows; i++)
        {
            T sum = T.Zero;
            for (int j = 0; j < features; j++)
            {
                T v = input[(i * features) + j];
                T y = v;
                if (T.Abs(v) <= settings.Bound)
                {
                    Knots<T> knots = Knots<T>(Gather(parameters, rows, i, j, features, settings.BinCount), settings, scratch);
                    int bin = Bin<T>(inverse ? knots.Y : knots.X, v);
                    T xi = inverse ? InverseFraction(knots, bin, v) : T.Clamp((v - knots.X[bin]) / (knots.X[bin + 1] - knots.X[bin]), T.Zero, T.One);
                    var point = new SplinePoint<T>(knots, bin, xi);
                    y = inverse ? T.Clamp(knots.X[bin] + (xi * (knots.X[bin + 1] - knots.X[bin])), knots.X[bin], knots.X[bin + 1]) : point.Value;
                    sum += inverse ? -point.LogDerivative : point.LogDerivative;
                }

                output[(i * features) + j] = y;
            }

            logDet[i] = sum;
        }

        return (output, logDet);
    }

    /// <summary>The op's backward pass, element by element: gradients of Σ g·output + Σ gLogDet·logDet.</summary>
    public static (T[] Input, T[] Parameters) Gradients<T>(T[] input, T[] parameters, int rows, int features, in SplineSettings<T> settings,
        bool inverse, T[] g, T[] gLogDet)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int perFeature = (3 * settings.BinCount) - 1;
        var inputGradient = new T[input.Length];
        var parameterGradient = new T[parameters.Length];
        var scratch = new T[ScratchLength(settings.BinCount)];
        var gradient = new T[perFeature];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < features; j++)
            {
                int index = (i * features) + j;
                T v = input[index];
                if (T.Abs(v) > settings.Bound)
                {
                    inputGradient[index] += g[index];
                    continue;
                }

                T[] raw = Gather(parameters, rows, i, j, features, settings.BinCount);
                Knots<T> knots = Knots<T>(raw, settings, scratch);
                int bin = Bin<T>(inverse ? knots.Y : knots.X, v);
                T xi = inverse ? InverseFraction(knots, bin, v) : T.Clamp((v - knots.X[bin]) / (knots.X[bin + 1] - knots.X[bin]), T.Zero, T.One);
                var point = new SplinePoint<T>(knots, bin, xi);
                T alpha;
                T beta;
                if (inverse)
                {
                    T a = (g[index] - (gLogDet[i] * point.DlDInput)) / point.Derivative;
                    inputGradient[index] += a;
                    alpha = -a;
                    beta = -gLogDet[i];
                }
                else
                {
                    inputGradient[index] += (g[index] * point.Derivative) + (gLogDet[i] * point.DlDInput);
                    alpha = g[index];
                    beta = gLogDet[i];
                }

                Array.Clear(gradient);
                AccumulateParameterGradient(knots, bin, point, alpha, beta, raw, settings, gradient);
                int rowStart = parameters.Length == perFeature * features ? 0 : i * perFeature * features;
                for (int p = 0; p < perFeature; p++)
                {
                    parameterGradient[rowStart + (p * features) + j] += gradient[p];
                }
            }
        }

        return (inputGradient, parameterGradient);
    }

    private static T[] Gather<T>(T[] parameters, int rows, int row, int feature, int features, int binCount)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int perFeature = (3 * binCount) - 1;
        int rowStart = parameters.Length == perFeature * features ? 0 : row * perFeature * features;
        var raw = new T[perFeature];
        for (int p = 0; p < perFeature; p++)
        {
            raw[p] = parameters[rowStart + (p * features) + feature];
        }

        return raw;
    }

    /// <summary>Scratch values per feature: knots x and y, derivatives (K + 1 each), width and height probabilities (K each).</summary>
    public static int ScratchLength(int binCount) => (3 * (binCount + 1)) + (2 * binCount);

    /// <summary>The knots of one feature, from its 3K − 1 unconstrained parameters.</summary>
    public static Knots<T> Knots<T>(ReadOnlySpan<T> raw, in SplineSettings<T> settings, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = settings.BinCount;
        var knots = new Knots<T>(scratch, k);
        Cumulative(raw[..k], settings.MinimumWidth, settings.Bound, knots.WidthProbabilities, knots.X);
        Cumulative(raw.Slice(k, k), settings.MinimumHeight, settings.Bound, knots.HeightProbabilities, knots.Y);
        knots.Derivatives[0] = T.One;
        knots.Derivatives[k] = T.One;
        for (int i = 1; i < k; i++)
        {
            knots.Derivatives[i] = settings.MinimumDerivative + Scalar.Softplus(raw[(2 * k) + i - 1] + settings.DerivativeOffset);
        }

        return knots;
    }

    /// <summary>The bin holding <paramref name="value"/>: the number of interior knots ≤ value, so always in 0..K−1.</summary>
    public static int Bin<T>(ReadOnlySpan<T> knots, T value) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int bin = 0;
        for (int i = 1; i < knots.Length - 1; i++)
        {
            if (value >= knots[i])
            {
                bin = i;
            }
        }

        return bin;
    }

    /// <summary>Solves F(ξ) = y in bin k for ξ in [0, 1] without cancellation.</summary>
    public static T InverseFraction<T>(in Knots<T> knots, int bin, T y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T w = knots.X[bin + 1] - knots.X[bin];
        T h = knots.Y[bin + 1] - knots.Y[bin];
        T s = h / w;
        T d0 = knots.Derivatives[bin];
        T d1 = knots.Derivatives[bin + 1];
        T delta = y - knots.Y[bin];
        T curvature = d0 + d1 - (s + s);
        T a = (h * (s - d0)) + (delta * curvature);
        T b = (h * d0) - (delta * curvature);
        T c = -s * delta;
        T discriminant = T.Max((b * b) - (T.CreateTruncating(4) * a * c), T.Zero);
        T xi = (c + c) / (-b - T.Sqrt(discriminant));
        return T.Clamp(xi, T.Zero, T.One);
    }

    /// <summary>Accumulates, for one element, α·∂y/∂θ + β·∂L/∂θ into the unconstrained parameters' gradient.</summary>
    /// <remarks>θ = (x_k, w, y_k, h, δ_k, δ_{k+1}); widths and heights chain through the cumulative sums and softmax,
    /// interior derivatives through the softplus.</remarks>
    public static void AccumulateParameterGradient<T>(in Knots<T> knots, int bin, in SplinePoint<T> point, T alpha, T beta,
        ReadOnlySpan<T> raw, in SplineSettings<T> settings, Span<T> gradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = settings.BinCount;
        T gKnotX = (alpha * point.DyDKnotX) + (beta * point.DlDKnotX);
        T gWidth = (alpha * point.DyDWidth) + (beta * point.DlDWidth);
        T gKnotY = alpha;
        T gHeight = (alpha * point.DyDHeight) + (beta * point.DlDHeight);

        // x_k = −B + Σ_{i<k} W_i and w = W_k: dW_i gets gKnotX for i < k and gWidth for i = k.
        ChainSoftmax(knots.WidthProbabilities, bin, gKnotX, gWidth, settings.WidthScale, gradient[..k]);
        ChainSoftmax(knots.HeightProbabilities, bin, gKnotY, gHeight, settings.HeightScale, gradient.Slice(k, k));

        T gD0 = (alpha * point.DyDDerivative0) + (beta * point.DlDDerivative0);
        T gD1 = (alpha * point.DyDDerivative1) + (beta * point.DlDDerivative1);
        if (bin > 0)
        {
            gradient[(2 * k) + bin - 1] += gD0 * Scalar.Sigmoid(raw[(2 * k) + bin - 1] + settings.DerivativeOffset);
        }

        if (bin < k - 1)
        {
            gradient[(2 * k) + bin] += gD1 * Scalar.Sigmoid(raw[(2 * k) + bin] + settings.DerivativeOffset);
        }
    }

    // Softmax widths: W_i = scale·(m + (1 − K m) p_i) with scale·(1 − K m) folded into widthScale. With
    // g_W = [gKnot for i < bin, gSize for i = bin, 0 after], g_u = p ⊙ (c g_W − Σ_i p_i c g_W_i).
    private static void ChainSoftmax<T>(ReadOnlySpan<T> p, int bin, T gKnot, T gSize, T widthScale, Span<T> gradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T weighted = gSize * p[bin];
        for (int i = 0; i < bin; i++)
        {
            weighted += gKnot * p[i];
        }

        for (int i = 0; i < p.Length; i++)
        {
            T gW = i < bin ? gKnot : i == bin ? gSize : T.Zero;
            gradient[i] += widthScale * p[i] * (gW - weighted);
        }
    }

    // Knots from logits: probabilities by a stable softmax, sizes 2B(m + (1 − Km)p), knots by cumulative sum with the
    // ends pinned to −B and +B exactly (so no input exactly at B can fall outside the last bin).
    private static void Cumulative<T>(ReadOnlySpan<T> logits, T minimum, T bound, Span<T> probabilities, Span<T> knots)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T max = logits[0];
        for (int i = 1; i < logits.Length; i++)
        {
            max = T.Max(max, logits[i]);
        }

        T sum = T.Zero;
        for (int i = 0; i < logits.Length; i++)
        {
            probabilities[i] = T.Exp(logits[i] - max);
            sum += probabilities[i];
        }

        T span = bound + bound;
        T share = T.One - (T.CreateTruncating(logits.Length) * minimum);
        knots[0] = -bound;
        T position = -bound;
        for (int i = 0; i < logits.Length; i++)
        {
            probabilities[i] /= sum;
            position += span * (minimum + (share * probabilities[i]));
            knots[i + 1] = position;
        }

        knots[^1] = bound;
    }
}

/// <summary>Views of one feature's knots in a scratch buffer.</summary>
internal readonly ref struct Knots<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Knots(Span<T> scratch, int binCount)
    {
        X = scratch[..(binCount + 1)];
        Y = scratch.Slice(binCount + 1, binCount + 1);
        Derivatives = scratch.Slice(2 * (binCount + 1), binCount + 1);
        WidthProbabilities = scratch.Slice(3 * (binCount + 1), binCount);
        HeightProbabilities = scratch.Slice((3 * (binCount + 1)) + binCount, binCount);
    }

    public Span<T> X { get; }

    public Span<T> Y { get; }

    public Span<T> Derivatives { get; }

    public Span<T> WidthProbabilities { get; }

    public Span<T> HeightProbabilities { get; }
}

/// <summary>
/// The forward spline at one point of one bin: the value y, the log-derivative L = log dy/dx, and their partial
/// derivatives with respect to the input and θ = (x_k, w, y_k, h, δ_k, δ_{k+1}) (∂y/∂y_k = 1, ∂L/∂y_k = 0).
/// </summary>
internal readonly struct SplinePoint<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public SplinePoint(in Knots<T> knots, int bin, T xi)
    {
        T two = T.CreateTruncating(2);
        T w = knots.X[bin + 1] - knots.X[bin];
        T h = knots.Y[bin + 1] - knots.Y[bin];
        T s = h / w;
        T d0 = knots.Derivatives[bin];
        T d1 = knots.Derivatives[bin + 1];
        T oneMinusXi = T.One - xi;
        T t = xi * oneMinusXi;
        T tSlope = T.One - (two * xi);
        T curvature = d0 + d1 - (two * s);

        T numerator = h * ((s * xi * xi) + (d0 * t));
        T denominator = s + (curvature * t);
        T ratio = numerator / denominator;
        T p = (d1 * xi * xi) + (two * s * t) + (d0 * oneMinusXi * oneMinusXi);

        // Clamped into the bin so that rounding can never leave it (and so never leave [−B, B]).
        Value = T.Clamp(knots.Y[bin] + ratio, knots.Y[bin], knots.Y[bin + 1]);
        LogDerivative = (two * T.Log(s)) + T.Log(p) - (two * T.Log(denominator));
        Derivative = s * s * p / (denominator * denominator);

        // Partials of R = numerator/denominator and of L in (ξ, s, h, δ₀, δ₁).
        T dDenDXi = curvature * tSlope;
        T dDenDS = T.One - (two * t);
        T rXi = ((h * ((two * s * xi) + (d0 * tSlope))) - (ratio * dDenDXi)) / denominator;
        T rS = ((h * xi * xi) - (ratio * dDenDS)) / denominator;
        T rH = ((s * xi * xi) + (d0 * t)) / denominator;
        T rD0 = ((h * t) - (ratio * t)) / denominator;
        T rD1 = -(ratio * t) / denominator;
        T lXi = (((two * d1 * xi) + (two * s * tSlope) - (two * d0 * oneMinusXi)) / p) - (two * dDenDXi / denominator);
        T lS = (two / s) + (two * t / p) - (two * dDenDS / denominator);
        T lD0 = (oneMinusXi * oneMinusXi / p) - (two * t / denominator);
        T lD1 = (xi * xi / p) - (two * t / denominator);

        // Chain through ξ = (x − x_k)/w and s = h/w.
        DlDInput = lXi / w;
        DyDKnotX = -rXi / w;
        DlDKnotX = -lXi / w;
        DyDWidth = -((rXi * xi) + (rS * s)) / w;
        DlDWidth = -((lXi * xi) + (lS * s)) / w;
        DyDHeight = rH + (rS / w);
        DlDHeight = lS / w;
        DyDDerivative0 = rD0;
        DyDDerivative1 = rD1;
        DlDDerivative0 = lD0;
        DlDDerivative1 = lD1;
    }

    public T Value { get; }

    public T LogDerivative { get; }

    /// <summary>dy/dx = exp(L), computed directly.</summary>
    public T Derivative { get; }

    public T DlDInput { get; }

    public T DyDKnotX { get; }

    public T DlDKnotX { get; }

    public T DyDWidth { get; }

    public T DlDWidth { get; }

    public T DyDHeight { get; }

    public T DlDHeight { get; }

    public T DyDDerivative0 { get; }

    public T DyDDerivative1 { get; }

    public T DlDDerivative0 { get; }

    public T DlDDerivative1 { get; }
}
