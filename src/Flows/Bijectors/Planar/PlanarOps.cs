using System.Numerics;
using Flows.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

internal static class PlanarOps
{
    /// <summary>
    /// The invertibility-preserving reparameterization of a planar layer (Rezende &amp; Mohamed 2015, appendix A):
    /// from unconstrained u, w (m × d) and b (m × 1) to the packed m × (2d + 1) rows <c>[û | w | b]</c> with
    /// <c>û = u + (m(wᵀu) − wᵀu) w/‖w‖²</c> row by row, so that <c>wᵀû = m(wᵀu) &gt; −1</c>. m = 1 for a layer's own
    /// parameters; m = n for parameters given per row by an encoder (amortized planar flows).
    /// </summary>
    /// <remarks>
    /// <para>m(a) = −1 + max(softplus(a + log(e − 1)), 1e-6). The shift log(e − 1) makes m(0) = 0, so u = 0 gives û = 0
    /// (the identity) for every w; the floor keeps wᵀû ≥ −1 + 1e-6 where softplus underflows (a ≲ −745), so the layer's
    /// Jacobian factor 1 + wᵀû h′ stays ≥ 1e-6 and the map invertible in floating point. The division is by ‖w‖², not
    /// ‖w‖ (pyro #2192). When ‖w‖² is 0 (w = 0, or so small that its square underflows) the correction is dropped,
    /// û = u, and wᵀû = wᵀu is 0 or negligible: no NaN.</para>
    /// <para>Where the floor is active, m is constant and its derivative is 0.</para>
    /// </remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="u">u, m × d.</param>
    /// <param name="w">w, m × d.</param>
    /// <param name="bias">b, m × 1.</param>
    /// <returns>An m × (2d + 1) node <c>[û | w | b]</c>.</returns>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static Node<T> PlanarParameters<T>(this Tape<T> tape, Node<T> u, Node<T> w, Node<T> bias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(u);
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(bias);
        int d = u.Columns;
        int m = u.Rows;
        if (w.Rows != m || w.Columns != d || bias.Rows != m || bias.Columns != 1)
        {
            throw new ArgumentException(
                $"u and w must be m × d and bias m × 1; got u {u.Rows} × {u.Columns}, w {w.Rows} × {w.Columns}, bias {bias.Rows} × {bias.Columns}.",
                nameof(w));
        }

        Node<T> packed = tape.Allocate(m, (2 * d) + 1);
        for (int r = 0; r < m; r++)
        {
            ReadOnlySpan<T> ur = u.Values.Slice(r * d, d);
            ReadOnlySpan<T> wr = w.Values.Slice(r * d, d);
            PlanarReparameterization<T> p = new(ur, wr);
            Span<T> values = packed.Values.Slice(r * ((2 * d) + 1), (2 * d) + 1);
            for (int j = 0; j < d; j++)
            {
                values[j] = ur[j] + (p.Correction * wr[j]);
                values[d + j] = wr[j];
            }

            values[2 * d] = bias.Values[r];
        }

        tape.Record(PlanarParametersBackward<T>.Instance, packed, u, w, bias);
        return packed;
    }

    /// <summary>
    /// The fused planar map of Rezende &amp; Mohamed (2015) and its log-determinant, from packed <c>[û | w | b]</c>
    /// (see <see cref="PlanarParameters{T}"/>). Forward: <c>x = z + û tanh(wᵀz + b)</c>,
    /// log|det J| = log|1 + wᵀû·tanh′(wᵀz + b)|. Inverse: α = wᵀz solves the scalar equation
    /// <c>wᵀx = α + wᵀû·tanh(α + b)</c> (strictly increasing when wᵀû &gt; −1), then <c>z = x − û tanh(α + b)</c>.
    /// </summary>
    /// <remarks>
    /// <para>The scalar equation is solved per row by Newton's method safeguarded by bisection on the bracket
    /// wᵀx ± |wᵀû| (tanh is bounded by 1), until a step is ≤ 1e-12·(1 + |α|) in double (≤ 64 ulp in float). A row whose
    /// solve does not converge throws; a row with a non-finite wᵀx gives NaN.</para>
    /// <para>The backward pass of the inverse differentiates through the solved α by the implicit function theorem:
    /// with ψ = 1 + wᵀû·h′(α + b), dα = (wᵀdx − h·wᵀdû − (ûh − x)ᵀdw − wᵀû·h′·db)/ψ.</para>
    /// </remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="input">n × d.</param>
    /// <param name="parameters">1 × (2d + 1), <c>[û | w | b]</c> with wᵀû &gt; −1, shared by every row; or n × (2d + 1),
    /// row i's own map.</param>
    /// <param name="inverse">Whether to run the inverse map.</param>
    /// <returns>The n × d output and the n × 1 log|det J| of the direction that ran.</returns>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    /// <exception cref="InvalidOperationException">The inverse's root solve did not converge for some row.</exception>
    public static (Node<T> Output, Node<T> LogDet) Planar<T>(this Tape<T> tape, Node<T> input, Node<T> parameters, bool inverse)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(parameters);
        int d = input.Columns;
        int n = input.Rows;
        int width = (2 * d) + 1;
        if ((parameters.Rows != 1 && parameters.Rows != n) || parameters.Columns != width)
        {
            throw new ArgumentException($"parameters is {parameters.Rows} × {parameters.Columns}, expected 1 × {width} or {n} × {width} for {n} rows of {d} features.", nameof(parameters));
        }

        // One parameter row for every input row, or row i's own (amortized flows, whose encoder gives each row a map).
        bool perRow = parameters.Rows != 1;
        ReadOnlySpan<T> uHat = perRow ? default : parameters.Values[..d];
        ReadOnlySpan<T> w = perRow ? default : parameters.Values.Slice(d, d);
        T b = perRow ? T.Zero : parameters.Values[2 * d];
        T a = perRow ? T.Zero : WDotUHat(uHat, w);
        Node<T> output = tape.Allocate(n, d);
        Node<T> logDet = tape.Allocate(n, 1);
        Node<T> saved = tape.Allocate(n, 1); // t = wᵀz + b per row, for the backward pass
        ReadOnlySpan<T> xs = input.Values;
        Span<T> ys = output.Values;
        T tolerance = TanhRootSolver.DefaultTolerance<T>();
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<T> row = xs.Slice(i * d, d);
            Span<T> y = ys.Slice(i * d, d);
            if (perRow)
            {
                uHat = parameters.Values.Slice(i * width, d);
                w = parameters.Values.Slice((i * width) + d, d);
                b = parameters.Values[(i * width) + (2 * d)];
                a = WDotUHat(uHat, w);
            }

            T t;
            if (inverse)
            {
                T target = SmallMatrix.Dot(w, row);
                if (!TanhRootSolver.TrySolve(target, a, T.One, b, tolerance, out T alpha, out T residual))
                {
                    throw TanhRootSolver.NotConverged("Planar inverse", i, residual, tolerance);
                }

                t = alpha + b;
            }
            else
            {
                t = SmallMatrix.Dot(w, row) + b;
            }

            T h = T.Tanh(t);
            T hPrime = TanhRootSolver.SechSquared(t);
            T psi = T.One + (a * hPrime);
            for (int j = 0; j < d; j++)
            {
                y[j] = inverse ? row[j] - (uHat[j] * h) : row[j] + (uHat[j] * h);
            }

            saved.Values[i] = t;
            T log = T.Log(T.Abs(psi));
            logDet.Values[i] = inverse ? -log : log;
        }

        tape.Record(PlanarBackward<T>.Instance, output, input, parameters, output1: logDet, saved: saved, flag: inverse ? 1 : 0);
        return (output, logDet);
    }

    // wᵀû = m(wᵀu) ≥ −1 + δ holds exactly, but the dot product of the rounded û with w carries an error of about
    // ulp·‖w‖‖û‖, which in float (ulp 6e-8) exceeds δ = 1e-6 as soon as ‖w‖‖û‖ ≳ 20: the product can then come out
    // ≤ −1, giving ψ = 1 + a·h′ ≤ 0, an infinite log-det and a non-monotone scalar equation. Clamping to the floor
    // restores what the reparameterization guarantees (issue #12's float sweep found this at ‖w‖ = 30, |u⊥| = 5). Both
    // passes call this, so forward values and gradients see the same a; the clamp acts only within rounding of the floor.
    private static T WDotUHat<T>(ReadOnlySpan<T> uHat, ReadOnlySpan<T> w) where T : unmanaged, IFloatingPointIeee754<T>
        => T.Max(SmallMatrix.Dot(uHat, w), PlanarReparameterization<T>.Floor - T.One);

    private static class PlanarParametersBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // û = u + k w with k = (m(σ) − σ)/n₂, σ = wᵀu, n₂ = ‖w‖². With p = gûᵀw:
        // dk = (m′ − 1) dσ/n₂ − 2k wᵀdw/n₂, dσ = wᵀdu + uᵀdw, so
        // gu += gû + p(m′ − 1)/n₂ · w,  gw += g_w + k gû + p(m′ − 1)/n₂ · u − 2pk/n₂ · w,  gb += g_b.
        // Verified against central differences in PlanarTests.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> u = e.Input0;
            Node<T> w = e.Input1!;
            Node<T> bias = e.Input2!;
            int d = u.Columns;
            int width = (2 * d) + 1;
            for (int row = 0; row < u.Rows; row++)
            {
                ReadOnlySpan<T> ur = u.Values.Slice(row * d, d);
                ReadOnlySpan<T> wr = w.Values.Slice(row * d, d);
                ReadOnlySpan<T> g = e.Output.Gradients.Slice(row * width, width);
                ReadOnlySpan<T> gUHat = g[..d];
                PlanarReparameterization<T> r = new(ur, wr);
                T p = SmallMatrix.Dot(gUHat, wr);
                T coefficient = r.NormSquared == T.Zero ? T.Zero : p * (r.SlopeOfM - T.One) / r.NormSquared;
                T wCoefficient = r.NormSquared == T.Zero ? T.Zero : T.CreateTruncating(2) * p * r.Correction / r.NormSquared;
                if (u.RequiresGradient)
                {
                    Span<T> gu = u.Gradients.Slice(row * d, d);
                    for (int j = 0; j < d; j++)
                    {
                        gu[j] += gUHat[j] + (coefficient * wr[j]);
                    }
                }

                if (w.RequiresGradient)
                {
                    Span<T> gw = w.Gradients.Slice(row * d, d);
                    for (int j = 0; j < d; j++)
                    {
                        gw[j] += g[d + j] + (r.Correction * gUHat[j]) + (coefficient * ur[j]) - (wCoefficient * wr[j]);
                    }
                }

                if (bias.RequiresGradient)
                {
                    bias.Gradients[row] += g[2 * d];
                }
            }
        }
    }

    private static class PlanarBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Per row, with t the saved pre-activation, η = tanh t, η′ = sech² t, η″ = −2ηη′, a = ûᵀw, ψ = 1 + aη′,
        // output gradient gy and log-det gradient gl.
        // Forward (x = z + ûη, ℓ = log ψ, dt = wᵀdz + zᵀdw + db):
        //   κ = η′ ûᵀgy + gl aη″/ψ;  gz = gy + κw;  gû = η gy + (gl η′/ψ) w;  gw = κz + (gl η′/ψ) û;  gb = κ.
        // Inverse (z = x − ûη, ℓ = −log ψ, α solves α + aη(α + b) = wᵀx, dt = (wᵀdx − η wᵀdû − (ûη − x)ᵀdw + db)/ψ):
        //   λ = (−η′ ûᵀgy − gl aη″/ψ)/ψ;  gx = gy + λw;  gû = −η gy − (λη + gl η′/ψ) w;
        //   gw = −λ(ûη − x) − (gl η′/ψ) û;  gb = λ.
        // Both verified against central differences (the shared property suite and PlanarTests).
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> input = e.Input0;
            Node<T> parameters = e.Input1!;
            bool inverse = e.Flag != 0;
            int d = input.Columns;
            int n = input.Rows;
            int width = (2 * d) + 1;
            bool perRow = parameters.Rows != 1;
            ReadOnlySpan<T> uHat = perRow ? default : parameters.Values[..d];
            ReadOnlySpan<T> w = perRow ? default : parameters.Values.Slice(d, d);
            T a = perRow ? T.Zero : WDotUHat(uHat, w);
            ReadOnlySpan<T> xs = input.Values;
            ReadOnlySpan<T> g = e.Output.Gradients;
            ReadOnlySpan<T> gLogDet = e.Output1!.Gradients;
            ReadOnlySpan<T> ts = e.Saved!.Values;
            T two = T.CreateTruncating(2);
            for (int i = 0; i < n; i++)
            {
                ReadOnlySpan<T> row = xs.Slice(i * d, d);
                ReadOnlySpan<T> gy = g.Slice(i * d, d);
                if (perRow)
                {
                    uHat = parameters.Values.Slice(i * width, d);
                    w = parameters.Values.Slice((i * width) + d, d);
                    a = WDotUHat(uHat, w);
                }

                T gl = gLogDet[i];
                T t = ts[i];
                T h = T.Tanh(t);
                T hPrime = TanhRootSolver.SechSquared(t);
                T hSecond = -two * h * hPrime;
                T psi = T.One + (a * hPrime);
                T uDotG = SmallMatrix.Dot(uHat, gy);
                T logDetWeight = gl * hPrime / psi;
                T kappa;
                T hSign;
                if (inverse)
                {
                    kappa = ((-hPrime * uDotG) - (gl * a * hSecond / psi)) / psi;
                    hSign = -T.One;
                }
                else
                {
                    kappa = (hPrime * uDotG) + (gl * a * hSecond / psi);
                    hSign = T.One;
                }

                if (input.RequiresGradient)
                {
                    Span<T> gx = input.Gradients.Slice(i * d, d);
                    for (int j = 0; j < d; j++)
                    {
                        gx[j] += gy[j] + (kappa * w[j]);
                    }
                }

                if (parameters.RequiresGradient)
                {
                    Span<T> gp = parameters.Gradients.Slice(perRow ? i * width : 0, width);
                    for (int j = 0; j < d; j++)
                    {
                        // The log-det term has the sign of the direction: ℓ = ±log ψ.
                        gp[j] += hSign * ((h * gy[j]) + (((inverse ? kappa * h : T.Zero) + logDetWeight) * w[j]));
                        gp[d + j] += inverse
                            ? (-kappa * ((uHat[j] * h) - row[j])) - (logDetWeight * uHat[j])
                            : (kappa * row[j]) + (logDetWeight * uHat[j]);
                    }

                    gp[2 * d] += kappa;
                }
            }
        }
    }
}

/// <summary>The planar û reparameterization at one (u, w): its correction k in û = u + k w and the slope of m.</summary>
internal readonly struct PlanarReparameterization<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public PlanarReparameterization(ReadOnlySpan<T> u, ReadOnlySpan<T> w)
    {
        T sigma = T.Zero;
        T normSquared = T.Zero;
        for (int j = 0; j < u.Length; j++)
        {
            sigma += w[j] * u[j];
            normSquared += w[j] * w[j];
        }

        // m(σ) = −1 + max(softplus(σ + log(e − 1)), δ): m(0) = 0 and m ≥ −1 + δ everywhere.
        T shifted = sigma + T.CreateTruncating(0.54132485461291810); // log(e − 1)
        T softplus = Scalar.Softplus(shifted);
        T floor = Floor;
        bool floored = softplus < floor;
        T m = -T.One + (floored ? floor : softplus);
        NormSquared = normSquared;
        Correction = normSquared == T.Zero ? T.Zero : (m - sigma) / normSquared;
        SlopeOfM = floored ? T.Zero : Scalar.Sigmoid(shifted);
    }

    /// <summary>The floor δ = 1e-6 on softplus in m, so wᵀû ≥ −1 + δ.</summary>
    public static T Floor => T.CreateTruncating(1e-6);

    /// <summary>‖w‖².</summary>
    public T NormSquared { get; }

    /// <summary>k = (m(wᵀu) − wᵀu)/‖w‖², or 0 when ‖w‖² = 0.</summary>
    public T Correction { get; }

    /// <summary>m′(wᵀu).</summary>
    public T SlopeOfM { get; }
}
