using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Flows.Numerics;

/// <summary>
/// The rational-quadratic spline of <see cref="RationalQuadraticSpline"/> in the lanes of one vector <typeparamref name="TV"/>
/// (256 or 512 bits): W = TV.Count elements, each with its own 3K − 1 unconstrained parameters (3K when circular), whose knots, bins,
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
/// <para>Every lane runs the same operations at either width, so a lane's values do not depend on the width.</para>
/// </remarks>
/// <typeparam name="T">The element type.</typeparam>
/// <typeparam name="TV">The vector of lanes: <see cref="Lanes256{T}"/> or <see cref="Lanes512{T}"/>.</typeparam>
internal readonly ref struct SplineLanes<T, TV>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TV : unmanaged, ISimdLanes<TV, T>
{
    private readonly Span<TV> _probabilities;
    private readonly TV _inRange;
    private readonly TV _bin;
    private readonly TV _xi;
    private readonly TV _width;
    private readonly TV _height;
    private readonly TV _derivative0;
    private readonly TV _derivative1;
    private readonly TV _lowerArgument;
    private readonly TV _upperArgument;
    private readonly TV _derivative;

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
    public SplineLanes(ref T raw, nuint stride, TV input, in SplineSettings<T> settings, bool inverse, Span<TV> probabilities)
    {
        int k = settings.BinCount;
        Debug.Assert(probabilities.Length == 2 * k && stride >= (nuint)TV.Count);
        _probabilities = probabilities;
        Span<TV> widthProbabilities = _probabilities[..k];
        Span<TV> heightProbabilities = _probabilities[k..];
        Softmax(ref raw, stride, widthProbabilities);
        Softmax(ref Unsafe.Add(ref raw, (nint)((nuint)k * stride)), stride, heightProbabilities);

        TV bound = TV.Create(settings.Bound);
        _inRange = TV.LessThanOrEqual(TV.Abs(input), bound);
        TV v = input & _inRange;

        // Knot i + 1 = knot i + 2B(m + (1 − Km)p_i), the last pinned to B exactly (so no input at B can leave the last bin).
        TV span = TV.Create(settings.Bound + settings.Bound);
        TV minimumWidth = TV.Create(settings.MinimumWidth);
        TV minimumHeight = TV.Create(settings.MinimumHeight);
        TV widthShare = TV.Create(T.One - (T.CreateTruncating(k) * settings.MinimumWidth));
        TV heightShare = TV.Create(T.One - (T.CreateTruncating(k) * settings.MinimumHeight));
        TV x = -bound;
        TV y = -bound;
        TV xNext = k == 1 ? bound : x + (span * (minimumWidth + (widthShare * widthProbabilities[0])));
        TV yNext = k == 1 ? bound : y + (span * (minimumHeight + (heightShare * heightProbabilities[0])));
        TV xLow = x;
        TV xHigh = xNext;
        TV yLow = y;
        TV yHigh = yNext;
        TV bin = TV.Zero;
        nuint derivatives = 2 * (nuint)k * stride;
        bool circular = settings.Circular;

        // Circular: derivative pre-activation K − 1 is the boundary one, the lower derivative of bin 0 and the upper of bin K − 1.
        TV boundary = circular ? TV.Load(ref raw, derivatives + ((nuint)(k - 1) * stride)) : TV.Zero;
        TV lower = boundary;
        TV upper = k == 1 ? boundary : TV.Load(ref raw, derivatives);
        for (int i = 1; i < k; i++)
        {
            x = xNext;
            y = yNext;
            xNext = i + 1 == k ? bound : x + (span * (minimumWidth + (widthShare * widthProbabilities[i])));
            yNext = i + 1 == k ? bound : y + (span * (minimumHeight + (heightShare * heightProbabilities[i])));

            // Knots never decrease, so the last interior knot reached is the bin's lower knot (bin 0 when none is).
            TV reached = TV.GreaterThanOrEqual(v, inverse ? y : x);
            xLow = TV.Select(reached, x, xLow);
            xHigh = TV.Select(reached, xNext, xHigh);
            yLow = TV.Select(reached, y, yLow);
            yHigh = TV.Select(reached, yNext, yHigh);
            bin = TV.Select(reached, TV.Create(T.CreateTruncating(i)), bin);
            lower = TV.Select(reached, TV.Load(ref raw, derivatives + ((nuint)(i - 1) * stride)), lower);
            if (i + 1 < k || circular)
            {
                upper = TV.Select(reached, TV.Load(ref raw, derivatives + ((nuint)i * stride)), upper);
            }
        }

        // The boundary derivatives are 1 (or, circular, the learned boundary one); interior ones m_δ + softplus(u + c).
        TV offset = TV.Create(settings.DerivativeOffset);
        TV minimumDerivative = TV.Create(settings.MinimumDerivative);
        _lowerArgument = lower + offset;
        _upperArgument = upper + offset;
        if (circular)
        {
            _derivative0 = minimumDerivative + TV.Softplus(_lowerArgument);
            _derivative1 = minimumDerivative + TV.Softplus(_upperArgument);
        }
        else
        {
            _derivative0 = TV.Select(TV.GreaterThan(bin, TV.Zero),
                minimumDerivative + TV.Softplus(_lowerArgument), TV.One);
            _derivative1 = TV.Select(TV.LessThan(bin, TV.Create(T.CreateTruncating(k - 1))),
                minimumDerivative + TV.Softplus(_upperArgument), TV.One);
        }
        _bin = bin;
        _width = xHigh - xLow;
        _height = yHigh - yLow;

        TV s = _height / _width;
        if (inverse)
        {
            _xi = InverseFraction(_height, s, _derivative0, _derivative1, v - yLow);
        }
        else
        {
            _xi = Clamp((v - xLow) / _width, TV.Zero, TV.One);
        }

        // Eq. 4 and 5 of Durkan et al. (see RationalQuadraticSpline), the value clamped into its bin.
        TV two = TV.Create(T.CreateTruncating(2));
        TV xi = _xi;
        TV oneMinusXi = TV.One - xi;
        TV t = xi * oneMinusXi;
        TV denominator = s + ((_derivative0 + _derivative1 - (two * s)) * t);
        TV p = (_derivative1 * xi * xi) + (two * s * t) + (_derivative0 * oneMinusXi * oneMinusXi);
        _derivative = s * s * p / (denominator * denominator);
        TV logDerivative = TV.Log(_derivative);
        TV output;
        if (inverse)
        {
            output = Clamp(xLow + (xi * _width), xLow, xHigh);
            logDerivative = -logDerivative;
        }
        else
        {
            TV ratio = _height * ((s * xi * xi) + (_derivative0 * t)) / denominator;
            output = Clamp(yLow + ratio, yLow, yHigh);
        }

        Output = TV.Select(_inRange, output, input);
        LogDerivative = logDerivative & _inRange;
    }

    /// <summary>The outputs: y = F(x) (forward) or x = F⁻¹(y) (inverse); the input itself in the tails.</summary>
    public TV Output { get; }

    /// <summary>log F′(x) (forward) or −log F′(x) (inverse); 0 in the tails.</summary>
    public TV LogDerivative { get; }

    /// <summary>
    /// Restores the lanes that <see cref="Save"/> wrote to <paramref name="saved"/>, for <see cref="Backpropagate"/>;
    /// <see cref="Output"/> and <see cref="LogDerivative"/> are not restored.
    /// </summary>
    /// <param name="saved"><see cref="SavedLength"/>(K) vectors, whose first 2K are the probabilities.</param>
    /// <param name="binCount">K.</param>
    public SplineLanes(Span<TV> saved, int binCount)
    {
        Debug.Assert(saved.Length == SavedLength(binCount));
        _probabilities = saved[..(2 * binCount)];
        ReadOnlySpan<TV> fields = saved[(2 * binCount)..];
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
    public void Save(Span<TV> saved)
    {
        Debug.Assert(saved.Length == SavedLength(_probabilities.Length / 2) && Unsafe.AreSame(ref saved[0], ref _probabilities[0]));
        Span<TV> fields = saved[_probabilities.Length..];
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
    public TV Backpropagate(TV g, TV gLogDerivative, bool inverse, bool parameterGradients,
        ref T gradient, nuint stride, in SplineSettings<T> settings)
    {
        TV two = TV.Create(T.CreateTruncating(2));
        TV w = _width;
        TV h = _height;
        TV s = h / w;
        TV d0 = _derivative0;
        TV d1 = _derivative1;
        TV xi = _xi;
        TV oneMinusXi = TV.One - xi;
        TV t = xi * oneMinusXi;
        TV tSlope = TV.One - (two * xi);
        TV curvature = d0 + d1 - (two * s);
        TV p = (d1 * xi * xi) + (two * s * t) + (d0 * oneMinusXi * oneMinusXi);

        // Three reciprocals serve the dozen quotients below (each then rounds once more, far inside 1e-12).
        TV overDenominator = TV.One / (s + (curvature * t));
        TV overP = TV.One / p;
        TV overW = TV.One / w;
        TV ratio = h * ((s * xi * xi) + (d0 * t)) * overDenominator;

        // Partials of L = log F′ in (ξ, s, δ₀, δ₁), then chained through ξ = (x − x_k)/w.
        TV dDenominatorDXi = curvature * tSlope;
        TV dDenominatorDS = TV.One - (two * t);
        TV lXi = (((two * d1 * xi) + (two * s * tSlope) - (two * d0 * oneMinusXi)) * overP) - (two * dDenominatorDXi * overDenominator);
        TV dlDInput = lXi * overW;

        TV inputGradient;
        TV alpha;
        TV beta;
        if (inverse)
        {
            TV a = (g - (gLogDerivative * dlDInput)) / _derivative;
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

        inputGradient = TV.Select(_inRange, inputGradient, g);
        if (!parameterGradients)
        {
            return inputGradient;
        }

        // Tail lanes contribute nothing: every term below is masked with _inRange after it is computed, so not even
        // NaN or infinite parameters of a tail element (which its lane still evaluates) can reach a gradient.

        // Partials of R = y − y_k and L in (ξ, s, h, δ₀, δ₁), chained through
        // ξ = (x − x_k)/w and s = h/w.
        TV rXi = ((h * ((two * s * xi) + (d0 * tSlope))) - (ratio * dDenominatorDXi)) * overDenominator;
        TV rS = ((h * xi * xi) - (ratio * dDenominatorDS)) * overDenominator;
        TV rH = ((s * xi * xi) + (d0 * t)) * overDenominator;
        TV rD0 = ((h * t) - (ratio * t)) * overDenominator;
        TV rD1 = -(ratio * t) * overDenominator;
        TV twoT = two * t;
        TV lS = (two * w / h) + (twoT * overP) - (two * dDenominatorDS * overDenominator);
        TV lD0 = (oneMinusXi * oneMinusXi * overP) - (twoT * overDenominator);
        TV lD1 = (xi * xi * overP) - (twoT * overDenominator);

        TV gKnotX = -((alpha * rXi) + (beta * lXi)) * overW;
        TV gWidth = -((alpha * ((rXi * xi) + (rS * s))) + (beta * ((lXi * xi) + (lS * s)))) * overW;
        TV gHeight = (alpha * rH) + (((alpha * rS) + (beta * lS)) * overW);
        TV gDerivative0 = (alpha * rD0) + (beta * lD0);
        TV gDerivative1 = (alpha * rD1) + (beta * lD1);

        int k = settings.BinCount;
        ChainSoftmax(_probabilities[..k], _bin, _inRange, gKnotX, gWidth, settings.WidthScale, ref gradient, stride);
        ChainSoftmax(_probabilities[k..], _bin, _inRange, alpha, gHeight, settings.HeightScale, ref Unsafe.Add(ref gradient, (nint)((nuint)k * stride)), stride);

        // Interior derivative i (raw parameter 2K + i − 1) is δ_k of bin i and δ_{k+1} of bin i − 1; dsoftplus = sigmoid.
        TV lowerTerm = (gDerivative0 * TV.Sigmoid(_lowerArgument)) & _inRange;
        TV upperTerm = (gDerivative1 * TV.Sigmoid(_upperArgument)) & _inRange;
        nuint derivatives = 2 * (nuint)k * stride;
        for (int i = 1; i < k; i++)
        {
            TV index = TV.Create(T.CreateTruncating(i));
            TV term = (TV.EqualTo(_bin, index) & lowerTerm) + (TV.EqualTo(_bin + TV.One, index) & upperTerm);
            nuint at = derivatives + ((nuint)(i - 1) * stride);
            (TV.Load(ref gradient, at) + term).Store(ref gradient, at);
        }

        if (settings.Circular)
        {
            // The boundary derivative (raw parameter 3K − 1) is δ_k of bin 0 and δ_{k+1} of bin K − 1 (both when K = 1).
            TV term = (TV.EqualTo(_bin, TV.Zero) & lowerTerm) + (TV.EqualTo(_bin, TV.Create(T.CreateTruncating(k - 1))) & upperTerm);
            nuint at = derivatives + ((nuint)(k - 1) * stride);
            (TV.Load(ref gradient, at) + term).Store(ref gradient, at);
        }

        return inputGradient;
    }

    // Stable softmax of K logits per lane: exp(l − max), then times the reciprocal of the sum (one division, not K).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Softmax(ref T logits, nuint stride, Span<TV> probabilities)
    {
        TV max = TV.Load(ref logits, 0);
        for (int i = 1; i < probabilities.Length; i++)
        {
            max = TV.Max(max, TV.Load(ref logits, (nuint)i * stride));
        }

        TV sum = TV.Zero;
        for (int i = 0; i < probabilities.Length; i++)
        {
            TV e = TV.Exp(TV.Load(ref logits, (nuint)i * stride) - max);
            probabilities[i] = e;
            sum += e;
        }

        TV reciprocal = TV.One / sum;
        for (int i = 0; i < probabilities.Length; i++)
        {
            probabilities[i] *= reciprocal;
        }
    }

    // Sizes W_i = 2B(m + (1 − Km)p_i) with scale = 2B(1 − Km). With g_W = [gKnot for i < bin, gSize for i = bin, 0 after]:
    // g_u = scale·p ⊙ (g_W − Σ_i p_i g_W_i).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ChainSoftmax(ReadOnlySpan<TV> p, TV bin, TV inRange, TV gKnot, TV gSize, T scale,
        ref T gradient, nuint stride)
    {
        TV weighted = TV.Zero;
        for (int i = 0; i < p.Length; i++)
        {
            weighted += p[i] * SizeGradient(bin, i, gKnot, gSize);
        }

        TV scaleVector = TV.Create(scale);
        for (int i = 0; i < p.Length; i++)
        {
            nuint at = (nuint)i * stride;
            TV term = (scaleVector * p[i] * (SizeGradient(bin, i, gKnot, gSize) - weighted)) & inRange;
            (TV.Load(ref gradient, at) + term).Store(ref gradient, at);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV SizeGradient(TV bin, int i, TV gKnot, TV gSize)
    {
        TV index = TV.Create(T.CreateTruncating(i));
        return (TV.GreaterThan(bin, index) & gKnot) | (TV.EqualTo(bin, index) & gSize);
    }

    // Solves F(ξ) = y in the bin for ξ in [0, 1] without cancellation: aξ² + bξ + c = 0 with a = h(s − δ₀) + Δκ,
    // b = hδ₀ − Δκ, c = −sΔ (κ = δ₀ + δ₁ − 2s, Δ = y − y_k), ξ = 2c/(−b − √(b² − 4ac)), the discriminant clamped at 0.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV InverseFraction(TV h, TV s, TV d0, TV d1, TV delta)
    {
        TV curvature = d0 + d1 - (s + s);
        TV a = (h * (s - d0)) + (delta * curvature);
        TV b = (h * d0) - (delta * curvature);
        TV c = -s * delta;
        TV discriminant = TV.Max((b * b) - (TV.Create(T.CreateTruncating(4)) * a * c), TV.Zero);
        TV xi = (c + c) / (-b - TV.Sqrt(discriminant));
        return Clamp(xi, TV.Zero, TV.One);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Clamp(TV value, TV min, TV max)
        => TV.Min(TV.Max(value, min), max);
}
