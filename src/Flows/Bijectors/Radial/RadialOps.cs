using System.Numerics;
using Flows.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

internal static class RadialOps
{
    /// <summary>
    /// The constraint of a radial layer: from the center z₀ (1 × d) and unconstrained α̂, β̂ (1 × 1 each) to the packed
    /// 1 × (d + 2) row <c>[z₀ | α | γ]</c> with α = max(softplus(α̂), 1e-30) &gt; 0 and γ = α + β =
    /// max(softplus(β̂), 1e-6·α) &gt; 0, that is β = −α + γ &gt; −α.
    /// </summary>
    /// <remarks>
    /// The layer is carried as γ = α + β rather than β so that 1 + βh = (r + γ)/(α + r) is computed without the
    /// cancellation of −α + α; the floors keep that factor ≥ 1e-6 where softplus underflows. Where a floor is active its
    /// derivative is that of the floor (0 for β̂, 1e-6·α′ for α̂).
    /// </remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="center">z₀, 1 × d; or m × d, one set per row of a batch.</param>
    /// <param name="alpha">α̂, 1 × 1; or m × 1.</param>
    /// <param name="beta">β̂, 1 × 1; or m × 1.</param>
    /// <returns>A 1 × (d + 2) node; or m × (d + 2).</returns>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static Node<T> RadialParameters<T>(this Tape<T> tape, Node<T> center, Node<T> alpha, Node<T> beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(center);
        ArgumentNullException.ThrowIfNull(alpha);
        ArgumentNullException.ThrowIfNull(beta);
        int m = center.Rows;
        if (alpha.Rows != m || alpha.Columns != 1 || beta.Rows != m || beta.Columns != 1)
        {
            throw new ArgumentException(
                $"center must be m × d and alpha, beta m × 1; got {center.Rows} × {center.Columns}, {alpha.Rows} × {alpha.Columns}, {beta.Rows} × {beta.Columns}.",
                nameof(center));
        }

        // One row for a layer's own parameters, or one per row of a batch (amortized radial flows).
        int d = center.Columns;
        Node<T> packed = tape.Allocate(m, d + 2);
        for (int row = 0; row < m; row++)
        {
            Span<T> values = packed.Values.Slice(row * (d + 2), d + 2);
            center.Values.Slice(row * d, d).CopyTo(values);
            RadialConstraint<T> c = new(alpha.Values[row], beta.Values[row]);
            values[d] = c.Alpha;
            values[d + 1] = c.Gamma;
        }

        tape.Record(RadialParametersBackward<T>.Instance, packed, center, alpha, beta);
        return packed;
    }

    /// <summary>
    /// The fused radial map of Rezende &amp; Mohamed (2015) and its log-determinant, from packed <c>[z₀ | α | γ]</c>
    /// (β = γ − α; see <see cref="RadialParameters{T}"/>). Forward, with r = ‖z − z₀‖:
    /// <c>x = z + β/(α + r)·(z − z₀)</c>, log|det J| = (d − 1) log(1 + βh) + log(1 + βh + βh′r), h = 1/(α + r).
    /// Inverse: ρ = ‖x − z₀‖ = r(r + γ)/(α + r) is a quadratic in r with one positive root, then
    /// <c>z = z₀ + (x − z₀)(α + r)/(r + γ)</c>.
    /// </summary>
    /// <remarks>
    /// <para>Cancellation-free forms: 1 + βh = (r + γ)/(α + r) and 1 + βh + βh′r = (r(2α + r) + γα)/(α + r)², both &gt; 0
    /// and finite at r = 0 and for large r. The root r = ((ρ − γ) + √Δ)/2, Δ = (ρ − γ)² + 4ρα, is evaluated as
    /// 2ρα/(√Δ − (ρ − γ)) when ρ &lt; γ, and √Δ as a hypot, so no branch cancels or overflows: the inverse is exact to
    /// rounding, with no iteration. At x = z₀ the inverse returns z₀ (r = 0) without dividing by ρ.</para>
    /// <para>The backward pass of the inverse differentiates the root implicitly:
    /// dr = ((α + r) dρ + ρ dα − r dγ)/√Δ, with √Δ = 2r + γ − ρ &gt; 0.</para>
    /// </remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="input">n × d.</param>
    /// <param name="parameters">1 × (d + 2), <c>[z₀ | α | γ]</c> with α, γ &gt; 0, shared by every row; or n × (d + 2),
    /// row i's own map.</param>
    /// <param name="inverse">Whether to run the inverse map.</param>
    /// <returns>The n × d output and the n × 1 log|det J| of the direction that ran.</returns>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static (Node<T> Output, Node<T> LogDet) Radial<T>(this Tape<T> tape, Node<T> input, Node<T> parameters, bool inverse)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(parameters);
        int d = input.Columns;
        int n = input.Rows;
        if ((parameters.Rows != 1 && parameters.Rows != n) || parameters.Columns != d + 2)
        {
            throw new ArgumentException($"parameters is {parameters.Rows} × {parameters.Columns}, expected 1 × {d + 2} or {n} × {d + 2} for {n} rows of {d} features.", nameof(parameters));
        }

        // One parameter row for every input row, or row i's own (amortized flows, whose encoder gives each row a map).
        int stride = parameters.Rows == 1 ? 0 : d + 2;
        Node<T> output = tape.Allocate(n, d);
        Node<T> logDet = tape.Allocate(n, 1);
        Node<T> saved = tape.Allocate(n, 1); // r per row
        ReadOnlySpan<T> xs = input.Values;
        Span<T> ys = output.Values;
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<T> row = xs.Slice(i * d, d);
            Span<T> y = ys.Slice(i * d, d);
            ReadOnlySpan<T> center = parameters.Values.Slice(i * stride, d);
            T alpha = parameters.Values[(i * stride) + d];
            T gamma = parameters.Values[(i * stride) + d + 1];
            T norm = RadialPoint<T>.Distance(row, center);
            T r = inverse ? RadialPoint<T>.RadiusFromImage(norm, alpha, gamma) : norm;
            var p = new RadialPoint<T>(r, alpha, gamma, d);

            // Forward x = z + (q − 1)(z − z₀) with q − 1 = βh = β/(α + r); the inverse z = x + (1/q − 1)(x − z₀) with
            // 1/q − 1 = −β/(r + γ). Near the identity the increment form is exact (β = 0 gives y = input bit for bit);
            // for strong contractions, where 1 + βh is small, z₀ + q(z − z₀) keeps the relative accuracy of the result.
            T beta = gamma - alpha;
            T increment = inverse ? -beta / (r + gamma) : beta / (alpha + r);
            T scale = inverse ? (alpha + r) / (r + gamma) : (r + gamma) / (alpha + r);
            bool small = T.Abs(increment) <= T.CreateTruncating(0.5);
            for (int j = 0; j < d; j++)
            {
                T v = row[j] - center[j];
                y[j] = small ? row[j] + (increment * v) : center[j] + (scale * v);
            }

            saved.Values[i] = r;
            logDet.Values[i] = inverse ? -p.LogDet : p.LogDet;
        }

        tape.Record(RadialBackward<T>.Instance, output, input, parameters, output1: logDet, saved: saved, flag: inverse ? 1 : 0);
        return (output, logDet);
    }

    private static class RadialParametersBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // α = softplus(α̂) (α′ = σ(α̂)), γ = softplus(β̂) (γ′ = σ(β̂)) or, where floored, γ = 1e-6·α.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> center = e.Input0;
            Node<T> alpha = e.Input1!;
            Node<T> beta = e.Input2!;
            int d = center.Columns;
            for (int row = 0; row < center.Rows; row++)
            {
                ReadOnlySpan<T> g = e.Output.Gradients.Slice(row * (d + 2), d + 2);
                if (center.RequiresGradient)
                {
                    Span<T> gc = center.Gradients.Slice(row * d, d);
                    for (int j = 0; j < d; j++)
                    {
                        gc[j] += g[j];
                    }
                }

                RadialConstraint<T> c = new(alpha.Values[row], beta.Values[row]);
                T gAlpha = g[d];
                T gGamma = g[d + 1];
                if (alpha.RequiresGradient)
                {
                    T dGammaDAlpha = c.GammaFloored ? RadialConstraint<T>.RelativeFloor : T.Zero;
                    alpha.Gradients[row] += (gAlpha + (gGamma * dGammaDAlpha)) * c.AlphaSlope;
                }

                if (beta.RequiresGradient && !c.GammaFloored)
                {
                    beta.Gradients[row] += gGamma * Scalar.Sigmoid(beta.Values[row]);
                }
            }
        }
    }

    private static class RadialBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Forward (v = z − z₀, e = v/r, x = z₀ + q v, ℓ(r, α, γ)): with s = gxᵀv and c = s q_r + gl ℓ_r,
        //   gz = q gx + c e,  gz₀ = gx − gz,  gα = s q_α + gl ℓ_α,  gγ = s q_γ + gl ℓ_γ.
        // Inverse (u = x − z₀, ê = u/ρ, z = z₀ + p u with p = 1/q, ℓ_inv = −ℓ, r(ρ, α, γ) implicit):
        //   s = gzᵀu, c = s p_r − gl ℓ_r;  gx = p gz + c(α + r)/√Δ · ê,  gz₀ = gz − gx,
        //   gα = s p_α − gl ℓ_α + c ρ/√Δ,  gγ = s p_γ − gl ℓ_γ − c r/√Δ.
        // e and ê are taken as 0 at r = 0 (ρ = 0), where the terms they multiply vanish. Verified against central
        // differences in the shared property suite and RadialTests.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> input = e.Input0;
            Node<T> parameters = e.Input1!;
            bool inverse = e.Flag != 0;
            int d = input.Columns;
            int n = input.Rows;
            int stride = parameters.Rows == 1 ? 0 : d + 2;
            ReadOnlySpan<T> xs = input.Values;
            ReadOnlySpan<T> g = e.Output.Gradients;
            ReadOnlySpan<T> gLogDet = e.Output1!.Gradients;
            ReadOnlySpan<T> rs = e.Saved!.Values;
            for (int i = 0; i < n; i++)
            {
                ReadOnlySpan<T> row = xs.Slice(i * d, d);
                ReadOnlySpan<T> gy = g.Slice(i * d, d);
                ReadOnlySpan<T> center = parameters.Values.Slice(i * stride, d);
                T alpha = parameters.Values[(i * stride) + d];
                T gamma = parameters.Values[(i * stride) + d + 1];
                T gl = gLogDet[i];
                T r = rs[i];
                var p = new RadialPoint<T>(r, alpha, gamma, d);
                T s = T.Zero;
                for (int j = 0; j < d; j++)
                {
                    s += gy[j] * (row[j] - center[j]);
                }

                T norm = inverse ? RadialPoint<T>.Distance(row, center) : r;
                T scale;
                T radial;
                T gAlpha;
                T gGamma;
                if (inverse)
                {
                    T ar = alpha + r;
                    T rg = r + gamma;
                    scale = ar / rg;
                    T pR = (gamma - alpha) / (rg * rg);
                    T pAlpha = T.One / rg;
                    T pGamma = -ar / (rg * rg);
                    T c = (s * pR) - (gl * p.LogDetByRadius);
                    T sqrtDelta = RadialPoint<T>.SqrtDiscriminant(norm, alpha, gamma);
                    radial = c * ar / sqrtDelta;
                    gAlpha = (s * pAlpha) - (gl * p.LogDetByAlpha) + (c * norm / sqrtDelta);
                    gGamma = (s * pGamma) - (gl * p.LogDetByGamma) - (c * r / sqrtDelta);
                }
                else
                {
                    T ar = alpha + r;
                    T ar2 = ar * ar;
                    scale = (r + gamma) / ar;
                    T qR = (alpha - gamma) / ar2;
                    T qAlpha = -(r + gamma) / ar2;
                    T qGamma = T.One / ar;
                    radial = (s * qR) + (gl * p.LogDetByRadius);
                    gAlpha = (s * qAlpha) + (gl * p.LogDetByAlpha);
                    gGamma = (s * qGamma) + (gl * p.LogDetByGamma);
                }

                T unit = norm > T.Zero ? radial / norm : T.Zero;
                Span<T> gx = input.RequiresGradient ? input.Gradients.Slice(i * d, d) : default;
                Span<T> gp = parameters.RequiresGradient ? parameters.Gradients.Slice(i * stride, d + 2) : default;
                for (int j = 0; j < d; j++)
                {
                    T gIn = (scale * gy[j]) + (unit * (row[j] - center[j]));
                    if (input.RequiresGradient)
                    {
                        gx[j] += gIn;
                    }

                    if (parameters.RequiresGradient)
                    {
                        gp[j] += gy[j] - gIn;
                    }
                }

                if (parameters.RequiresGradient)
                {
                    gp[d] += gAlpha;
                    gp[d + 1] += gGamma;
                }
            }
        }
    }
}

/// <summary>α and γ = α + β of a radial layer from its raw parameters, with the floors that keep them positive.</summary>
internal readonly struct RadialConstraint<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public RadialConstraint(T rawAlpha, T rawBeta)
    {
        T softplusAlpha = Scalar.Softplus(rawAlpha);
        T alphaFloor = T.CreateTruncating(1e-30);
        Alpha = T.Max(softplusAlpha, alphaFloor);
        AlphaSlope = softplusAlpha < alphaFloor ? T.Zero : Scalar.Sigmoid(rawAlpha);
        T softplusBeta = Scalar.Softplus(rawBeta);
        T gammaFloor = RelativeFloor * Alpha;
        GammaFloored = softplusBeta < gammaFloor;
        Gamma = GammaFloored ? gammaFloor : softplusBeta;
    }

    /// <summary>γ ≥ RelativeFloor·α, so 1 + βh ≥ 1e-6.</summary>
    public static T RelativeFloor => T.CreateTruncating(1e-6);

    public T Alpha { get; }

    public T AlphaSlope { get; }

    public T Gamma { get; }

    public bool GammaFloored { get; }
}

/// <summary>The radial log-determinant at radius r and its partial derivatives.</summary>
/// <remarks>
/// ℓ = (d − 1) log q + log φ with q = (r + γ)/(α + r), φ = N/(α + r)², N = r(2α + r) + γα.
/// ℓ_r = (d − 1)(1/(r + γ) − 1/(α + r)) + 2(r + α)/N − 2/(α + r);
/// ℓ_α = −(d − 1)/(α + r) + (2r + γ)/N − 2/(α + r);  ℓ_γ = (d − 1)/(r + γ) + α/N.
/// </remarks>
internal readonly struct RadialPoint<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _r;
    private readonly T _alpha;
    private readonly T _gamma;
    private readonly T _dMinusOne;

    public RadialPoint(T r, T alpha, T gamma, int dimension)
    {
        _r = r;
        _alpha = alpha;
        _gamma = gamma;
        _dMinusOne = T.CreateTruncating(dimension - 1);
    }

    private T N => (_r * ((_alpha + _alpha) + _r)) + (_gamma * _alpha);

    // log(1 + βh) and log(1 + βh + βh′r) = log(1 + βα/(α + r)²): by log1p of the increment while it is small
    // (β = 0 gives 0 exactly), otherwise as logs of the cancellation-free ratios (r + γ)/(α + r) and N/(α + r)².
    public T LogDet
    {
        get
        {
            T ar = _alpha + _r;
            T beta = _gamma - _alpha;
            T half = T.CreateTruncating(0.5);
            T u1 = beta / ar;
            T u2 = beta * _alpha / (ar * ar);
            T log1 = T.Abs(u1) <= half ? Scalar.LogP1(u1) : T.Log(_r + _gamma) - T.Log(ar);
            T log2 = T.Abs(u2) <= half ? Scalar.LogP1(u2) : T.Log(N) - (T.CreateTruncating(2) * T.Log(ar));
            return (_dMinusOne == T.Zero ? T.Zero : _dMinusOne * log1) + log2;
        }
    }

    public T LogDetByRadius
    {
        get
        {
            T ar = _alpha + _r;
            return (_dMinusOne * ((T.One / (_r + _gamma)) - (T.One / ar))) + (T.CreateTruncating(2) * ar / N) - (T.CreateTruncating(2) / ar);
        }
    }

    public T LogDetByAlpha
    {
        get
        {
            T ar = _alpha + _r;
            return (-_dMinusOne / ar) + (((_r + _r) + _gamma) / N) - (T.CreateTruncating(2) / ar);
        }
    }

    public T LogDetByGamma => (_dMinusOne / (_r + _gamma)) + (_alpha / N);

    /// <summary>‖a − b‖ without overflow or underflow (scaled by the largest component).</summary>
    public static T Distance(ReadOnlySpan<T> a, ReadOnlySpan<T> b)
    {
        T largest = T.Zero;
        for (int j = 0; j < a.Length; j++)
        {
            largest = T.Max(largest, T.Abs(a[j] - b[j]));
        }

        if (largest == T.Zero || !T.IsFinite(largest))
        {
            return largest;
        }

        T sum = T.Zero;
        for (int j = 0; j < a.Length; j++)
        {
            T v = (a[j] - b[j]) / largest;
            sum += v * v;
        }

        return largest * T.Sqrt(sum);
    }

    /// <summary>√Δ = √((ρ − γ)² + 4ρα) as a hypot.</summary>
    public static T SqrtDiscriminant(T rho, T alpha, T gamma)
        => T.Hypot(rho - gamma, T.CreateTruncating(2) * T.Sqrt(rho * alpha));

    /// <summary>The positive root r of r² + (γ − ρ) r − ρα = 0, i.e. of ρ = r(r + γ)/(α + r), without cancellation.</summary>
    public static T RadiusFromImage(T rho, T alpha, T gamma)
    {
        T b = rho - gamma;
        T sqrtDelta = SqrtDiscriminant(rho, alpha, gamma);
        return b >= T.Zero
            ? T.CreateTruncating(0.5) * (b + sqrtDelta)
            : T.CreateTruncating(2) * rho * alpha / (sqrtDelta - b);
    }
}
