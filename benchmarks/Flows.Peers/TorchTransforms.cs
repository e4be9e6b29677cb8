using TorchSharp;
using static TorchSharp.torch;

namespace Flows.Peers;

/// <summary>An elementwise transform whose per-row parameters come from a MADE; directions as in Flows: forward is
/// base → data (sampling), inverse is data → base (density).</summary>
internal interface ITorchTransform
{
    int ParametersPerFeature { get; }

    /// <summary>Applies the transform to n × d <paramref name="input"/> with raw parameters n × (P·d), column p·d + j
    /// being parameter p of feature j. Returns the output and, when asked, the n log|det J| of the direction that ran.</summary>
    (Tensor Output, Tensor? LogDet) Apply(Tensor input, Tensor raw, bool inverse, bool logDet);
}

/// <summary>
/// x = z·exp(s) + μ with the log-scale soft-clamped, s = b·tanh(r/b) (b = 5): two parameters per feature, shift μ then
/// raw log-scale r. log|det J| = Σ s.
/// </summary>
internal sealed class TorchAffine(double logScaleBound = 5.0) : ITorchTransform
{
    public int ParametersPerFeature => 2;

    public (Tensor Output, Tensor? LogDet) Apply(Tensor input, Tensor raw, bool inverse, bool logDet)
    {
        long d = input.shape[1];
        Tensor shift = raw.narrow(1, 0, d);
        Tensor logScale = (raw.narrow(1, d, d) / logScaleBound).tanh() * logScaleBound;
        Tensor output = inverse ? (input - shift) * (-logScale).exp() : (input * logScale.exp()) + shift;
        return (output, !logDet ? null : inverse ? -logScale.sum(1) : logScale.sum(1));
    }
}

/// <summary>
/// The monotone rational-quadratic spline of neural spline flows (Durkan, Bekasov, Murray &amp; Papamakarios 2019,
/// arXiv:1906.04032) on [−B, B] with identity tails, written in batched tensor ops as nflows and zuko users write it:
/// softmax, cumulative sum, a comparison count for the bin, gather.
/// </summary>
/// <remarks>
/// Per feature, 3K − 1 raw parameters: K width logits, K height logits, K − 1 interior derivative pre-activations.
/// Widths and heights are 2B·(m + (1 − Km)·softmax); interior derivatives m_δ + softplus(u + c) with
/// c = log(expm1(1 − m_δ)), so zero parameters give slope 1; boundary derivatives are 1. In bin k with ξ = (x − x_k)/w,
/// s = h/w, t = ξ(1 − ξ): y = y_k + h(sξ² + δ_k t)/(s + (δ_k + δ_{k+1} − 2s)t) (Eq. 4), and the derivative of Eq. 5. The
/// inverse takes the root of the quadratic in ξ in its cancellation-free form 2c/(−b − √(b² − 4ac)) (Eq. 6–8). Inputs
/// outside [−B, B] are evaluated at 0 and replaced by the identity.
/// </remarks>
internal sealed class TorchSpline(int binCount = 8, double bound = 5.0, double minimumWidth = 1e-3, double minimumHeight = 1e-3,
    double minimumDerivative = 1e-3) : ITorchTransform
{
    private readonly double _derivativeOffset = Math.Log(Math.Exp(1 - minimumDerivative) - 1);

    public int ParametersPerFeature => (3 * binCount) - 1;

    public (Tensor Output, Tensor? LogDet) Apply(Tensor input, Tensor raw, bool inverse, bool logDet)
    {
        int k = binCount;
        long n = input.shape[0];
        long d = input.shape[1];
        Tensor p = raw.view(n, ParametersPerFeature, d).transpose(1, 2); // n × d × (3K − 1)
        Tensor inside = input.abs() <= bound;
        Tensor v = input.masked_fill(inside.logical_not(), 0).unsqueeze(-1);

        Tensor xKnots = Knots(p.narrow(2, 0, k), minimumWidth);
        Tensor yKnots = Knots(p.narrow(2, k, k), minimumHeight);
        Tensor derivatives = nn.functional.pad(
            nn.functional.softplus(p.narrow(2, 2 * k, k - 1) + _derivativeOffset) + minimumDerivative, [1, 1], value: 1.0);

        // The bin is the number of interior knots at or below the input.
        Tensor bin = (v >= (inverse ? yKnots : xKnots).narrow(2, 1, k - 1)).sum(2, keepdim: true, type: ScalarType.Int64);
        Tensor next = bin + 1;
        Tensor x0 = xKnots.gather(2, bin);
        Tensor w = xKnots.gather(2, next) - x0;
        Tensor y0 = yKnots.gather(2, bin);
        Tensor h = yKnots.gather(2, next) - y0;
        Tensor d0 = derivatives.gather(2, bin);
        Tensor d1 = derivatives.gather(2, next);
        Tensor s = h / w;
        Tensor curvature = d0 + d1 - (2 * s);

        Tensor xi;
        Tensor output;
        if (inverse)
        {
            Tensor delta = v - y0;
            Tensor a = (h * (s - d0)) + (delta * curvature);
            Tensor b = (h * d0) - (delta * curvature);
            Tensor c = -s * delta;
            Tensor discriminant = ((b * b) - (4 * a * c)).clamp_min(0);
            xi = ((2 * c) / (-b - discriminant.sqrt())).clamp(0, 1);
            output = x0 + (xi * w);
        }
        else
        {
            xi = ((v - x0) / w).clamp(0, 1);
            Tensor t = xi * (1 - xi);
            output = y0 + (h * ((s * xi * xi) + (d0 * t)) / (s + (curvature * t)));
        }

        output = torch.where(inside, output.squeeze(-1), input);
        if (!logDet)
        {
            return (output, null);
        }

        Tensor oneMinusXi = 1 - xi;
        Tensor tt = xi * oneMinusXi;
        Tensor denominator = s + (curvature * tt);
        Tensor logDerivative = ((s * s * ((d1 * xi * xi) + (2 * s * tt) + (d0 * oneMinusXi * oneMinusXi))) / (denominator * denominator)).log();
        logDerivative = logDerivative.squeeze(-1).masked_fill(inside.logical_not(), 0);
        return (output, (inverse ? -logDerivative : logDerivative).sum(1));
    }

    // K + 1 knots from −B to B: −B + cumulative sums of 2B·(m + (1 − Km)·softmax), the last pinned to B.
    private Tensor Knots(Tensor logits, double minimum)
    {
        Tensor sizes = ((logits.softmax(2) * (1 - (binCount * minimum))) + minimum) * (2 * bound);
        Tensor knots = nn.functional.pad(sizes.cumsum(2), [1, 0], value: 0.0) - bound;
        knots.select(2, binCount).fill_(bound);
        return knots;
    }
}

/// <summary>
/// The sum-of-squares polynomial transform (Jaini, Selby &amp; Yu 2019, arXiv:1905.02325) on [−B, B] with linear tails,
/// in batched tensor ops: f(x) = b + m·x + ((1 − m)/K)·Σᵢ ∫₀ˣ qᵢ(t)² dt with qᵢ(t) = (1 + aᵢ₀) + Σⱼ₌₁ʳ aᵢⱼ tʲ, beyond ±B
/// the tangent at ±B.
/// </summary>
/// <remarks>
/// Per feature K(r + 1) + 1 raw parameters, b then each polynomial's r + 1 coefficients, so zero parameters give the
/// identity. Each qᵢ² is expanded by an outer product of the coefficients summed along its anti-diagonals (one matmul
/// with a fixed 0/1 matrix), the squares summed over i, then integrated term by term: f(x) = b + m·x + s·Σₖ eₖ x^(k+1)/(k+1)
/// and f′(x) = m + s·Σₖ eₖ xᵏ. With e = clamp(x, −B, B), F(x) = f(e) + f′(e)(x − e) covers the tails. Data → base (density)
/// is F; base → data (sampling) inverts it in closed form on the tails and by bisection inside, as zuko inverts its
/// monotone transforms (64 halvings of [−B, B], past the spacing of doubles there).
/// </remarks>
internal sealed class TorchSumOfSquares : ITorchTransform
{
    private const int Bisections = 64;

    private readonly int _polynomialCount;
    private readonly int _degree;
    private readonly double _bound;
    private readonly double _minimumSlope;
    private readonly double _share;
    private readonly double[] _antiDiagonals; // (r + 1)² × (2r + 1): entry (j(r + 1) + l, j + l) is 1

    public TorchSumOfSquares(int polynomialCount, int degree, double bound, double minimumSlope)
    {
        _polynomialCount = polynomialCount;
        _degree = degree;
        _bound = bound;
        _minimumSlope = minimumSlope;
        _share = (1 - minimumSlope) / polynomialCount;
        int width = degree + 1;
        _antiDiagonals = new double[width * width * ((2 * degree) + 1)];
        for (int j = 0; j < width; j++)
        {
            for (int l = 0; l < width; l++)
            {
                _antiDiagonals[(((j * width) + l) * ((2 * degree) + 1)) + j + l] = 1;
            }
        }
    }

    public int ParametersPerFeature => (_polynomialCount * (_degree + 1)) + 1;

    public (Tensor Output, Tensor? LogDet) Apply(Tensor input, Tensor raw, bool inverse, bool logDet)
    {
        long n = input.shape[0];
        long d = input.shape[1];
        Tensor p = raw.view(n, ParametersPerFeature, d).transpose(1, 2); // n × d × P
        Tensor shift = p.select(2, 0);
        int width = _degree + 1;
        Tensor c = p.narrow(2, 1, ParametersPerFeature - 1).reshape(n, d, _polynomialCount, width);
        c = c + nn.functional.pad(torch.ones(1, dtype: c.dtype), [0, _degree]); // c₀ = 1 + a₀
        Tensor outer = (c.unsqueeze(-1) * c.unsqueeze(-2)).reshape(n, d, _polynomialCount, width * width);
        Tensor squares = outer.matmul(torch.tensor(_antiDiagonals, [width * width, (2 * _degree) + 1], c.dtype)).sum(2); // n × d × (2r + 1)
        Tensor exponents = torch.arange(0, (2 * _degree) + 1, dtype: c.dtype);
        Tensor integrated = squares / (exponents + 1);

        // F and F′ at x: f and f′ at e = clamp(x, −B, B), continued along the tangent.
        (Tensor Value, Tensor Slope) Evaluate(Tensor x)
        {
            Tensor e = x.clamp(-_bound, _bound);
            Tensor powers = e.unsqueeze(-1).pow(exponents); // n × d × (2r + 1)
            Tensor slope = _minimumSlope + (_share * (squares * powers).sum(2));
            Tensor value = shift + (_minimumSlope * e) + (_share * (integrated * powers * e.unsqueeze(-1)).sum(2));
            return (value + (slope * (x - e)), slope);
        }

        if (inverse)
        {
            (Tensor z, Tensor slope) = Evaluate(input);
            return (z, logDet ? slope.log().sum(1) : null);
        }

        // Base → data: the tails in closed form, the inside by bisection on [−B, B] (f is increasing).
        Tensor lo = torch.full_like(input, -_bound);
        Tensor hi = torch.full_like(input, _bound);
        (Tensor low, Tensor lowSlope) = Evaluate(lo);
        (Tensor high, Tensor highSlope) = Evaluate(hi);
        for (int i = 0; i < Bisections; i++)
        {
            // Each step's temporaries are freed at its end (only the new bracket moves out): held to the end of a
            // sampling call, they took over 24 GB for SOSPF-8 and the process was killed.
            using DisposeScope step = torch.NewDisposeScope();
            Tensor mid = (0.5 * lo) + (0.5 * hi);
            Tensor below = Evaluate(mid).Value < input;
            Tensor nextLow = torch.where(below, mid, lo).MoveToOuterDisposeScope();
            hi = torch.where(below, hi, mid).MoveToOuterDisposeScope();
            lo = nextLow;
        }

        Tensor x = torch.where(input > high, _bound + ((input - high) / highSlope),
            torch.where(input < low, -_bound + ((input - low) / lowSlope), (0.5 * lo) + (0.5 * hi)));
        return (x, logDet ? -Evaluate(x).Slope.log().sum(1) : null);
    }
}
