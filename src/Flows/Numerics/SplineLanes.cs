using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

/// <summary>
/// The rational-quadratic spline of <see cref="RationalQuadraticSpline"/> in the lanes of a <see cref="Vector256{T}"/>:
/// W = <see cref="Vector256{T}.Count"/> elements, each with its own 3K − 1 unconstrained parameters, whose knots, bins,
/// values, log-derivatives and gradients are computed together.
/// </summary>
/// <remarks>
/// <para>Parameter p of lane l is read at <c>raw[p·stride + l]</c>, so W consecutive features of one row of an
/// n × (3K − 1)·d parameter node are loaded with one vector load per parameter (stride d), and a padded scratch copy
/// serves any other layout (stride W).</para>
/// <para>Bins are found without branching: the knots are built by the cumulative sums of the scalar formulas, and each
/// interior knot the input reaches selects its own bin's knots, heights and derivative pre-activations into every lane
/// at once. Only the two derivatives that bound a lane's bin go through softplus, and log F′ is one logarithm of
/// s²p/(s + ct)² (the sum of three logarithms agrees to rounding).</para>
/// <para>Lanes outside [−B, B] (and NaN lanes) are evaluated at 0 and replaced by the identity afterwards, with zero
/// log-derivative and zero parameter gradient, so nothing of the untaken branch can reach a result.</para>
/// </remarks>
internal readonly ref struct SplineLanes<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Span<Vector256<T>> _probabilities;
    private readonly Vector256<T> _inRange;
    private readonly Vector256<T> _bin;
    private readonly Vector256<T> _xi;
    private readonly Vector256<T> _width;
    private readonly Vector256<T> _height;
    private readonly Vector256<T> _derivative0;
    private readonly Vector256<T> _derivative1;
    private readonly Vector256<T> _lowerArgument;
    private readonly Vector256<T> _upperArgument;
    private readonly Vector256<T> _derivative;

    // The vectors Save writes after the probabilities: the fields above from _inRange on.
    private const int FieldCount = 10;

    /// <summary>Locates and evaluates W elements.</summary>
    /// <param name="raw">Parameter 0 of lane 0; parameter p of lane l lies at <c>p·stride + l</c>.</param>
    /// <param name="stride">Distance between consecutive parameters of one lane. Range: ≥ W.</param>
    /// <param name="input">The inputs, x (forward) or y (inverse).</param>
    /// <param name="settings">The spline settings.</param>
    /// <param name="inverse">Whether to run the inverse.</param>
    /// <param name="probabilities">Scratch of 2K vectors; it holds the softmax widths and heights for
    /// <see cref="Backpropagate"/> and must outlive this value.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public SplineLanes(ref T raw, nuint stride, Vector256<T> input, in SplineSettings<T> settings, bool inverse, Span<Vector256<T>> probabilities)
    {
        int k = settings.BinCount;
        Debug.Assert(probabilities.Length == 2 * k && stride >= (nuint)Vector256<T>.Count);
        _probabilities = probabilities;
        Span<Vector256<T>> widthProbabilities = _probabilities[..k];
        Span<Vector256<T>> heightProbabilities = _probabilities[k..];
        Softmax(ref raw, stride, widthProbabilities);
        Softmax(ref Unsafe.Add(ref raw, (nint)((nuint)k * stride)), stride, heightProbabilities);

        Vector256<T> bound = Vector256.Create(settings.Bound);
        _inRange = Vector256.LessThanOrEqual(Vector256.Abs(input), bound);
        Vector256<T> v = input & _inRange;

        // Knot i + 1 = knot i + 2B(m + (1 − Km)p_i), the last pinned to B exactly (so no input at B can leave the last bin).
        Vector256<T> span = Vector256.Create(settings.Bound + settings.Bound);
        Vector256<T> minimumWidth = Vector256.Create(settings.MinimumWidth);
        Vector256<T> minimumHeight = Vector256.Create(settings.MinimumHeight);
        Vector256<T> widthShare = Vector256.Create(T.One - (T.CreateTruncating(k) * settings.MinimumWidth));
        Vector256<T> heightShare = Vector256.Create(T.One - (T.CreateTruncating(k) * settings.MinimumHeight));
        Vector256<T> x = -bound;
        Vector256<T> y = -bound;
        Vector256<T> xNext = k == 1 ? bound : x + (span * (minimumWidth + (widthShare * widthProbabilities[0])));
        Vector256<T> yNext = k == 1 ? bound : y + (span * (minimumHeight + (heightShare * heightProbabilities[0])));
        Vector256<T> xLow = x;
        Vector256<T> xHigh = xNext;
        Vector256<T> yLow = y;
        Vector256<T> yHigh = yNext;
        Vector256<T> bin = Vector256<T>.Zero;
        nuint derivatives = 2 * (nuint)k * stride;
        Vector256<T> lower = Vector256<T>.Zero;
        Vector256<T> upper = k == 1 ? Vector256<T>.Zero : Vector256.LoadUnsafe(ref raw, derivatives);
        for (int i = 1; i < k; i++)
        {
            x = xNext;
            y = yNext;
            xNext = i + 1 == k ? bound : x + (span * (minimumWidth + (widthShare * widthProbabilities[i])));
            yNext = i + 1 == k ? bound : y + (span * (minimumHeight + (heightShare * heightProbabilities[i])));

            // Knots never decrease, so the last interior knot reached is the bin's lower knot (bin 0 when none is).
            Vector256<T> reached = Vector256.GreaterThanOrEqual(v, inverse ? y : x);
            xLow = Vector256.ConditionalSelect(reached, x, xLow);
            xHigh = Vector256.ConditionalSelect(reached, xNext, xHigh);
            yLow = Vector256.ConditionalSelect(reached, y, yLow);
            yHigh = Vector256.ConditionalSelect(reached, yNext, yHigh);
            bin = Vector256.ConditionalSelect(reached, Vector256.Create(T.CreateTruncating(i)), bin);
            lower = Vector256.ConditionalSelect(reached, Vector256.LoadUnsafe(ref raw, derivatives + ((nuint)(i - 1) * stride)), lower);
            if (i + 1 < k)
            {
                upper = Vector256.ConditionalSelect(reached, Vector256.LoadUnsafe(ref raw, derivatives + ((nuint)i * stride)), upper);
            }
        }

        // The boundary derivatives are 1; interior ones m_δ + softplus(u + c).
        Vector256<T> offset = Vector256.Create(settings.DerivativeOffset);
        Vector256<T> minimumDerivative = Vector256.Create(settings.MinimumDerivative);
        _lowerArgument = lower + offset;
        _upperArgument = upper + offset;
        _derivative0 = Vector256.ConditionalSelect(Vector256.GreaterThan(bin, Vector256<T>.Zero),
            minimumDerivative + Kernels.Softplus<T>.Invoke(_lowerArgument), Vector256<T>.One);
        _derivative1 = Vector256.ConditionalSelect(Vector256.LessThan(bin, Vector256.Create(T.CreateTruncating(k - 1))),
            minimumDerivative + Kernels.Softplus<T>.Invoke(_upperArgument), Vector256<T>.One);
        _bin = bin;
        _width = xHigh - xLow;
        _height = yHigh - yLow;

        Vector256<T> s = _height / _width;
        if (inverse)
        {
            _xi = InverseFraction(_height, s, _derivative0, _derivative1, v - yLow);
        }
        else
        {
            _xi = Clamp((v - xLow) / _width, Vector256<T>.Zero, Vector256<T>.One);
        }

        // Eq. 4 and 5 of Durkan et al. (see RationalQuadraticSpline), the value clamped into its bin.
        Vector256<T> two = Vector256.Create(T.CreateTruncating(2));
        Vector256<T> xi = _xi;
        Vector256<T> oneMinusXi = Vector256<T>.One - xi;
        Vector256<T> t = xi * oneMinusXi;
        Vector256<T> denominator = s + ((_derivative0 + _derivative1 - (two * s)) * t);
        Vector256<T> p = (_derivative1 * xi * xi) + (two * s * t) + (_derivative0 * oneMinusXi * oneMinusXi);
        _derivative = s * s * p / (denominator * denominator);
        Vector256<T> logDerivative = VectorMath.Log(_derivative);
        Vector256<T> output;
        if (inverse)
        {
            output = Clamp(xLow + (xi * _width), xLow, xHigh);
            logDerivative = -logDerivative;
        }
        else
        {
            Vector256<T> ratio = _height * ((s * xi * xi) + (_derivative0 * t)) / denominator;
            output = Clamp(yLow + ratio, yLow, yHigh);
        }

        Output = Vector256.ConditionalSelect(_inRange, output, input);
        LogDerivative = logDerivative & _inRange;
    }

    /// <summary>The outputs: y = F(x) (forward) or x = F⁻¹(y) (inverse); the input itself in the tails.</summary>
    public Vector256<T> Output { get; }

    /// <summary>log F′(x) (forward) or −log F′(x) (inverse); 0 in the tails.</summary>
    public Vector256<T> LogDerivative { get; }

    /// <summary>
    /// Restores the lanes that <see cref="Save"/> wrote to <paramref name="saved"/>, for <see cref="Backpropagate"/>;
    /// <see cref="Output"/> and <see cref="LogDerivative"/> are not restored.
    /// </summary>
    /// <param name="saved"><see cref="SavedLength"/>(K) vectors, whose first 2K are the probabilities.</param>
    /// <param name="binCount">K.</param>
    public SplineLanes(Span<Vector256<T>> saved, int binCount)
    {
        Debug.Assert(saved.Length == SavedLength(binCount));
        _probabilities = saved[..(2 * binCount)];
        ReadOnlySpan<Vector256<T>> fields = saved[(2 * binCount)..];
        _inRange = fields[0];
        _bin = fields[1];
        _xi = fields[2];
        _width = fields[3];
        _height = fields[4];
        _derivative0 = fields[5];
        _derivative1 = fields[6];
        _lowerArgument = fields[7];
        _upperArgument = fields[8];
        _derivative = fields[9];
    }

    /// <summary>Vectors that <see cref="Save"/> writes: the 2K probabilities and the bin, point and derivatives.</summary>
    public static int SavedLength(int binCount) => (2 * binCount) + FieldCount;

    /// <summary>
    /// Writes what <see cref="Backpropagate"/> needs to <paramref name="saved"/>, whose first 2K vectors must be the
    /// probabilities scratch these lanes were built with (so the softmax is kept where it was computed, not copied).
    /// </summary>
    public void Save(Span<Vector256<T>> saved)
    {
        Debug.Assert(saved.Length == SavedLength(_probabilities.Length / 2) && Unsafe.AreSame(ref saved[0], ref _probabilities[0]));
        Span<Vector256<T>> fields = saved[_probabilities.Length..];
        fields[0] = _inRange;
        fields[1] = _bin;
        fields[2] = _xi;
        fields[3] = _width;
        fields[4] = _height;
        fields[5] = _derivative0;
        fields[6] = _derivative1;
        fields[7] = _lowerArgument;
        fields[8] = _upperArgument;
        fields[9] = _derivative;
    }

    /// <summary>
    /// Given g = ∂loss/∂output and g_ld = ∂loss/∂log-derivative, returns ∂loss/∂input and, when
    /// <paramref name="parameterGradients"/> is true, accumulates ∂loss/∂raw at <paramref name="gradient"/> laid out as
    /// the parameters were.
    /// </summary>
    /// <remarks>
    /// Forward: dx = g F′ + g_ld L_x; dθ = g ∂F/∂θ + g_ld ∂L/∂θ. Inverse (x = F⁻¹(y), log-derivative −L(x)): with
    /// a = (g − g_ld L_x)/F′, dy = a and dθ = −a ∂F/∂θ − g_ld ∂L/∂θ. Tails: dx = g, dθ = 0. The partials in
    /// θ = (x_k, w, y_k, h, δ_k, δ_{k+1}) chain through the cumulative sums and softmax for widths and heights and
    /// through the softplus for the two interior derivatives. Verified against central differences and the scalar
    /// reference in tests.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<T> Backpropagate(Vector256<T> g, Vector256<T> gLogDerivative, bool inverse, bool parameterGradients,
        ref T gradient, nuint stride, in SplineSettings<T> settings)
    {
        Vector256<T> two = Vector256.Create(T.CreateTruncating(2));
        Vector256<T> w = _width;
        Vector256<T> h = _height;
        Vector256<T> s = h / w;
        Vector256<T> d0 = _derivative0;
        Vector256<T> d1 = _derivative1;
        Vector256<T> xi = _xi;
        Vector256<T> oneMinusXi = Vector256<T>.One - xi;
        Vector256<T> t = xi * oneMinusXi;
        Vector256<T> tSlope = Vector256<T>.One - (two * xi);
        Vector256<T> curvature = d0 + d1 - (two * s);
        Vector256<T> p = (d1 * xi * xi) + (two * s * t) + (d0 * oneMinusXi * oneMinusXi);

        // Three reciprocals serve the dozen quotients below (each then rounds once more, far inside 1e-12).
        Vector256<T> overDenominator = Vector256<T>.One / (s + (curvature * t));
        Vector256<T> overP = Vector256<T>.One / p;
        Vector256<T> overW = Vector256<T>.One / w;
        Vector256<T> ratio = h * ((s * xi * xi) + (d0 * t)) * overDenominator;

        // Partials of L = log F′ in (ξ, s, δ₀, δ₁), then chained through ξ = (x − x_k)/w.
        Vector256<T> dDenominatorDXi = curvature * tSlope;
        Vector256<T> dDenominatorDS = Vector256<T>.One - (two * t);
        Vector256<T> lXi = (((two * d1 * xi) + (two * s * tSlope) - (two * d0 * oneMinusXi)) * overP) - (two * dDenominatorDXi * overDenominator);
        Vector256<T> dlDInput = lXi * overW;

        Vector256<T> inputGradient;
        Vector256<T> alpha;
        Vector256<T> beta;
        if (inverse)
        {
            Vector256<T> a = (g - (gLogDerivative * dlDInput)) / _derivative;
            inputGradient = a;
            alpha = -a;
            beta = -gLogDerivative;
        }
        else
        {
            inputGradient = (g * _derivative) + (gLogDerivative * dlDInput);
            alpha = g;
            beta = gLogDerivative;
        }

        inputGradient = Vector256.ConditionalSelect(_inRange, inputGradient, g);
        if (!parameterGradients)
        {
            return inputGradient;
        }

        // Tail lanes contribute nothing: every term below is masked with _inRange after it is computed, so not even
        // NaN or infinite parameters of a tail element (which its lane still evaluates) can reach a gradient.

        // Partials of R = y − y_k and L in (ξ, s, h, δ₀, δ₁), chained through
        // ξ = (x − x_k)/w and s = h/w.
        Vector256<T> rXi = ((h * ((two * s * xi) + (d0 * tSlope))) - (ratio * dDenominatorDXi)) * overDenominator;
        Vector256<T> rS = ((h * xi * xi) - (ratio * dDenominatorDS)) * overDenominator;
        Vector256<T> rH = ((s * xi * xi) + (d0 * t)) * overDenominator;
        Vector256<T> rD0 = ((h * t) - (ratio * t)) * overDenominator;
        Vector256<T> rD1 = -(ratio * t) * overDenominator;
        Vector256<T> twoT = two * t;
        Vector256<T> lS = (two * w / h) + (twoT * overP) - (two * dDenominatorDS * overDenominator);
        Vector256<T> lD0 = (oneMinusXi * oneMinusXi * overP) - (twoT * overDenominator);
        Vector256<T> lD1 = (xi * xi * overP) - (twoT * overDenominator);

        Vector256<T> gKnotX = -((alpha * rXi) + (beta * lXi)) * overW;
        Vector256<T> gWidth = -((alpha * ((rXi * xi) + (rS * s))) + (beta * ((lXi * xi) + (lS * s)))) * overW;
        Vector256<T> gHeight = (alpha * rH) + (((alpha * rS) + (beta * lS)) * overW);
        Vector256<T> gDerivative0 = (alpha * rD0) + (beta * lD0);
        Vector256<T> gDerivative1 = (alpha * rD1) + (beta * lD1);

        int k = settings.BinCount;
        ChainSoftmax(_probabilities[..k], _bin, _inRange, gKnotX, gWidth, settings.WidthScale, ref gradient, stride);
        ChainSoftmax(_probabilities[k..], _bin, _inRange, alpha, gHeight, settings.HeightScale, ref Unsafe.Add(ref gradient, (nint)((nuint)k * stride)), stride);

        // Interior derivative i (raw parameter 2K + i − 1) is δ_k of bin i and δ_{k+1} of bin i − 1; dsoftplus = sigmoid.
        Vector256<T> lowerTerm = (gDerivative0 * Kernels.Sigmoid<T>.Invoke(_lowerArgument)) & _inRange;
        Vector256<T> upperTerm = (gDerivative1 * Kernels.Sigmoid<T>.Invoke(_upperArgument)) & _inRange;
        nuint derivatives = 2 * (nuint)k * stride;
        for (int i = 1; i < k; i++)
        {
            Vector256<T> index = Vector256.Create(T.CreateTruncating(i));
            Vector256<T> term = (Vector256.Equals(_bin, index) & lowerTerm) + (Vector256.Equals(_bin + Vector256<T>.One, index) & upperTerm);
            nuint at = derivatives + ((nuint)(i - 1) * stride);
            (Vector256.LoadUnsafe(ref gradient, at) + term).StoreUnsafe(ref gradient, at);
        }

        return inputGradient;
    }

    // Stable softmax of K logits per lane: exp(l − max), then times the reciprocal of the sum (one division, not K).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Softmax(ref T logits, nuint stride, Span<Vector256<T>> probabilities)
    {
        Vector256<T> max = Vector256.LoadUnsafe(ref logits);
        for (int i = 1; i < probabilities.Length; i++)
        {
            max = Vector256.Max(max, Vector256.LoadUnsafe(ref logits, (nuint)i * stride));
        }

        Vector256<T> sum = Vector256<T>.Zero;
        for (int i = 0; i < probabilities.Length; i++)
        {
            Vector256<T> e = VectorMath.Exp(Vector256.LoadUnsafe(ref logits, (nuint)i * stride) - max);
            probabilities[i] = e;
            sum += e;
        }

        Vector256<T> reciprocal = Vector256<T>.One / sum;
        for (int i = 0; i < probabilities.Length; i++)
        {
            probabilities[i] *= reciprocal;
        }
    }

    // Sizes W_i = 2B(m + (1 − Km)p_i) with scale = 2B(1 − Km). With g_W = [gKnot for i < bin, gSize for i = bin, 0 after]:
    // g_u = scale·p ⊙ (g_W − Σ_i p_i g_W_i).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ChainSoftmax(ReadOnlySpan<Vector256<T>> p, Vector256<T> bin, Vector256<T> inRange, Vector256<T> gKnot, Vector256<T> gSize, T scale,
        ref T gradient, nuint stride)
    {
        Vector256<T> weighted = Vector256<T>.Zero;
        for (int i = 0; i < p.Length; i++)
        {
            weighted += p[i] * SizeGradient(bin, i, gKnot, gSize);
        }

        Vector256<T> scaleVector = Vector256.Create(scale);
        for (int i = 0; i < p.Length; i++)
        {
            nuint at = (nuint)i * stride;
            Vector256<T> term = (scaleVector * p[i] * (SizeGradient(bin, i, gKnot, gSize) - weighted)) & inRange;
            (Vector256.LoadUnsafe(ref gradient, at) + term).StoreUnsafe(ref gradient, at);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> SizeGradient(Vector256<T> bin, int i, Vector256<T> gKnot, Vector256<T> gSize)
    {
        Vector256<T> index = Vector256.Create(T.CreateTruncating(i));
        return (Vector256.GreaterThan(bin, index) & gKnot) | (Vector256.Equals(bin, index) & gSize);
    }

    // Solves F(ξ) = y in the bin for ξ in [0, 1] without cancellation: aξ² + bξ + c = 0 with a = h(s − δ₀) + Δκ,
    // b = hδ₀ − Δκ, c = −sΔ (κ = δ₀ + δ₁ − 2s, Δ = y − y_k), ξ = 2c/(−b − √(b² − 4ac)), the discriminant clamped at 0.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> InverseFraction(Vector256<T> h, Vector256<T> s, Vector256<T> d0, Vector256<T> d1, Vector256<T> delta)
    {
        Vector256<T> curvature = d0 + d1 - (s + s);
        Vector256<T> a = (h * (s - d0)) + (delta * curvature);
        Vector256<T> b = (h * d0) - (delta * curvature);
        Vector256<T> c = -s * delta;
        Vector256<T> discriminant = Vector256.Max((b * b) - (Vector256.Create(T.CreateTruncating(4)) * a * c), Vector256<T>.Zero);
        Vector256<T> xi = (c + c) / (-b - Vector256.Sqrt(discriminant));
        return Clamp(xi, Vector256<T>.Zero, Vector256<T>.One);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Clamp(Vector256<T> value, Vector256<T> min, Vector256<T> max)
        => Vector256.Min(Vector256.Max(value, min), max);
}
