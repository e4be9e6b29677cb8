using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// The Sylvester family's fused tape ops, each beside its hand-derived backward pass: the Sylvester map itself (this
/// file), the orthogonalization of Q (<c>SylvesterOps.Orthogonalize.cs</c>), the Householder product
/// (<c>SylvesterOps.HouseholderProduct.cs</c>) and the triangular factors R, R̃ (<c>SylvesterOps.Triangles.cs</c>).
/// </summary>
internal static partial class SylvesterOps
{
    /// <summary>
    /// The fused Sylvester map of van den Berg et al. (2018) and its log-determinant:
    /// <c>x = z + Q R tanh(R̃ Qᵀz + b)</c>, log|det J| = Σᵢ log|1 + rᵢᵢr̃ᵢᵢ tanh′((R̃Qᵀz + b)ᵢ)|.
    /// </summary>
    /// <remarks>
    /// <para>Q is D × M with orthonormal columns; R, R̃ upper-triangular with rᵢᵢr̃ᵢᵢ &gt; −1 (see
    /// <see cref="SylvesterTriangles{T}"/>), so each factor is positive.</para>
    /// <para>Inverse: with y = Qᵀz and c = Qᵀx, QᵀQ = I reduces the map to c = y + R tanh(R̃y + b), whose Jacobian
    /// I + R diag(tanh′) R̃ is upper-triangular: coordinate i enters only through tanh of row i. So y is found by back
    /// substitution, from i = M − 1 down to 0, each a scalar equation yᵢ + rᵢᵢ tanh(r̃ᵢᵢyᵢ + sᵢ) = cᵢ − Σⱼ&gt;ᵢ rᵢⱼ tanh(·)ⱼ
    /// solved by bracketed Newton with bisection fallback to 1e-12·(1 + |yᵢ|) in double; then
    /// <c>z = x − Q R tanh(R̃y + b)</c>. A coordinate that does not converge throws, naming the row and residual.</para>
    /// <para>The backward pass of the inverse uses the implicit function theorem: with A = I + R diag(tanh′) R̃ and λ
    /// solving Aᵀλ = Qᵀg_z + R̃ᵀw (w from the log-det), dy = A⁻¹(dc − dR η − R diag(tanh′)(dR̃ y + db)).</para>
    /// </remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="input">n × D.</param>
    /// <param name="q">Q, D × M with orthonormal columns, shared by every row; or n·D × M, one such Q per row.</param>
    /// <param name="triangles">(2M + 1) × M: R, R̃ and b as made by <see cref="SylvesterTriangles{T}"/>, shared by every
    /// row; or n(2M + 1) × M, one such block per row.</param>
    /// <param name="inverse">Whether to run the inverse map.</param>
    /// <returns>The n × D output and the n × 1 log|det J| of the direction that ran.</returns>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    /// <exception cref="InvalidOperationException">The inverse's root solve did not converge for some row.</exception>
    public static (Node<T> Output, Node<T> LogDet) Sylvester<T>(this Tape<T> tape, Node<T> input, Node<T> q, Node<T> triangles, bool inverse)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(triangles);
        int d = input.Columns;
        int m = q.Columns;
        int n = input.Rows;
        if ((q.Rows != d && q.Rows != n * d) || (triangles.Rows != (2 * m) + 1 && triangles.Rows != n * ((2 * m) + 1)) || triangles.Columns != m)
        {
            throw new ArgumentException(
                $"q must be {d} × M or, one per row, {n}·{d} × M, and triangles (2M + 1) × M or, one set per row, {n}(2M + 1) × M; got q {q.Rows} × {q.Columns}, triangles {triangles.Rows} × {triangles.Columns}.",
                nameof(q));
        }

        Node<T> output = tape.Allocate(n, d);
        Node<T> logDet = tape.Allocate(n, 1);
        Node<T> saved = tape.Allocate(n, m); // y = Qᵀz per row
        // One set of Q, R, R̃, b for every row, or row i's own (amortized flows, whose encoder gives each row a map).
        int triangleStride = triangles.Rows == (2 * m) + 1 ? 0 : ((2 * m) + 1) * m;
        int qStride = q.Rows == d ? 0 : d * m;
        Span<T> eta = m <= 128 ? stackalloc T[m] : new T[m];
        Span<T> kappa = m <= 128 ? stackalloc T[m] : new T[m];
        T tolerance = TanhRootSolver.DefaultTolerance<T>();
        for (int row = 0; row < n; row++)
        {
            ReadOnlySpan<T> xin = input.Values.Slice(row * d, d);
            ReadOnlySpan<T> qs = q.Values.Slice(row * qStride, d * m);
            Span<T> y = saved.Values.Slice(row * m, m);
            Span<T> xout = output.Values.Slice(row * d, d);
            ReadOnlySpan<T> tri = triangles.Values.Slice(row * triangleStride, ((2 * m) + 1) * m);
            ReadOnlySpan<T> rm = tri[..(m * m)];
            ReadOnlySpan<T> rt = tri.Slice(m * m, m * m);
            ReadOnlySpan<T> bias = tri.Slice(2 * m * m, m);

            // y = Qᵀ·input (for the inverse this is c, overwritten in place by the solution).
            for (int j = 0; j < m; j++)
            {
                T sum = T.Zero;
                for (int k = 0; k < d; k++)
                {
                    sum += qs[(k * m) + j] * xin[k];
                }

                y[j] = sum;
            }

            if (inverse)
            {
                for (int i = m - 1; i >= 0; i--)
                {
                    T shift = bias[i];
                    T rest = T.Zero;
                    for (int j = i + 1; j < m; j++)
                    {
                        shift += rt[(i * m) + j] * y[j];
                        rest += rm[(i * m) + j] * eta[j];
                    }

                    T target = y[i] - rest;
                    T rii = rm[(i * m) + i];
                    T rtii = rt[(i * m) + i];
                    if (!TanhRootSolver.TrySolve(target, rii, rtii, shift, tolerance, out T root, out T residual))
                    {
                        throw TanhRootSolver.NotConverged($"Sylvester inverse (coordinate {i})", row, residual, tolerance);
                    }

                    y[i] = root;
                    eta[i] = T.Tanh((rtii * root) + shift);
                }
            }
            else
            {
                for (int i = 0; i < m; i++)
                {
                    T pre = bias[i];
                    for (int j = i; j < m; j++)
                    {
                        pre += rt[(i * m) + j] * y[j];
                    }

                    eta[i] = T.Tanh(pre);
                }
            }

            T sumLog = T.Zero;
            for (int i = 0; i < m; i++)
            {
                T sum = T.Zero;
                for (int j = i; j < m; j++)
                {
                    sum += rm[(i * m) + j] * eta[j];
                }

                kappa[i] = sum;
                T pre = PreActivation(rt, bias, y, i, m);
                T psi = T.One + (rm[(i * m) + i] * rt[(i * m) + i] * TanhRootSolver.SechSquared(pre));
                sumLog += T.Log(T.Abs(psi));
            }

            for (int k = 0; k < d; k++)
            {
                T sum = T.Zero;
                for (int j = 0; j < m; j++)
                {
                    sum += qs[(k * m) + j] * kappa[j];
                }

                xout[k] = inverse ? xin[k] - sum : xin[k] + sum;
            }

            logDet.Values[row] = inverse ? -sumLog : sumLog;
        }

        tape.Record(SylvesterBackward<T>.Instance, output, input, q, triangles, output1: logDet, saved: saved, flag: inverse ? 1 : 0);
        return (output, logDet);
    }

    private static T PreActivation<T>(ReadOnlySpan<T> rt, ReadOnlySpan<T> bias, ReadOnlySpan<T> y, int i, int m)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T pre = bias[i];
        for (int j = i; j < m; j++)
        {
            pre += rt[(i * m) + j] * y[j];
        }

        return pre;
    }

    private static class SylvesterBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Per row, y = Qᵀz (saved), pre = R̃y + b, η = tanh(pre), η′ = sech²(pre), κ = Rη, ψᵢ = 1 + dᵢη′ᵢ, dᵢ = rᵢᵢr̃ᵢᵢ.
        // Forward (x = z + Qκ, ℓ = Σ log ψ): gκ = Qᵀgx, gR += gκηᵀ, gpre = η′ ⊙ (Rᵀgκ) − gl·2dηη′/ψ, gb += gpre,
        //   gR̃ += gpre yᵀ, gy = R̃ᵀgpre, gz = gx + Q gy, gQ += gx κᵀ + z gyᵀ, g_dᵢ = gl η′ᵢ/ψᵢ.
        // Inverse (z = x − Qκ, c = Qᵀx = y + κ, ℓ = −Σ log ψ): w = gl·2dηη′/ψ, Aᵀλ = Qᵀgz + R̃ᵀw with
        //   A = I + R diag(η′) R̃, μ = diag(η′)Rᵀλ; gx = gz + Q(λ − Qᵀgz), gQ += x(λ − Qᵀgz)ᵀ − gz κᵀ,
        //   gR −= ληᵀ, gR̃ += (w − μ)yᵀ, gb += w − μ, g_dᵢ = −gl η′ᵢ/ψᵢ.
        // Both verified against central differences (the shared property suite and SylvesterTests).
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> input = e.Input0;
            Node<T> q = e.Input1!;
            Node<T> triangles = e.Input2!;
            bool inverse = e.Flag != 0;
            int d = input.Columns;
            int m = q.Columns;
            int n = input.Rows;
            int triangleStride = triangles.Rows == (2 * m) + 1 ? 0 : ((2 * m) + 1) * m;
            int qStride = q.Rows == d ? 0 : d * m;
            ReadOnlySpan<T> g = e.Output.Gradients;
            ReadOnlySpan<T> gLogDet = e.Output1!.Gradients;
            ReadOnlySpan<T> ys = e.Saved!.Values;
            var eta = new T[m];
            var etaPrime = new T[m];
            var psi = new T[m];
            var kappa = new T[m];
            var qtg = new T[m];
            var gpre = new T[m];
            var lambda = new T[m];
            var partial = new T[m];
            var nu = new T[m];
            var gy = new T[m];
            T two = T.CreateTruncating(2);
            for (int row = 0; row < n; row++)
            {
                ReadOnlySpan<T> xin = input.Values.Slice(row * d, d);
                ReadOnlySpan<T> qs = q.Values.Slice(row * qStride, d * m);
                ReadOnlySpan<T> gout = g.Slice(row * d, d);
                ReadOnlySpan<T> y = ys.Slice(row * m, m);
                ReadOnlySpan<T> tri = triangles.Values.Slice(row * triangleStride, ((2 * m) + 1) * m);
                ReadOnlySpan<T> rm = tri[..(m * m)];
                ReadOnlySpan<T> rt = tri.Slice(m * m, m * m);
                ReadOnlySpan<T> bias = tri.Slice(2 * m * m, m);
                T gl = gLogDet[row];
                for (int i = 0; i < m; i++)
                {
                    T pre = PreActivation(rt, bias, y, i, m);
                    eta[i] = T.Tanh(pre);
                    etaPrime[i] = TanhRootSolver.SechSquared(pre);
                    psi[i] = T.One + (rm[(i * m) + i] * rt[(i * m) + i] * etaPrime[i]);
                }

                for (int i = 0; i < m; i++)
                {
                    T sum = T.Zero;
                    for (int j = i; j < m; j++)
                    {
                        sum += rm[(i * m) + j] * eta[j];
                    }

                    kappa[i] = sum;
                    T sq = T.Zero;
                    for (int k = 0; k < d; k++)
                    {
                        sq += qs[(k * m) + i] * gout[k];
                    }

                    qtg[i] = sq;
                }

                Span<T> gTri = triangles.RequiresGradient ? triangles.Gradients.Slice(row * triangleStride, ((2 * m) + 1) * m) : default;
                if (!inverse)
                {
                    // gpre = η′ ⊙ (Rᵀ Qᵀgx) − gl·2dηη′/ψ
                    for (int j = 0; j < m; j++)
                    {
                        T sum = T.Zero;
                        for (int i = 0; i <= j; i++)
                        {
                            sum += rm[(i * m) + j] * qtg[i];
                        }

                        T dj = rm[(j * m) + j] * rt[(j * m) + j];
                        gpre[j] = (etaPrime[j] * sum) - (gl * two * dj * eta[j] * etaPrime[j] / psi[j]);
                    }

                    for (int j = 0; j < m; j++)
                    {
                        T sum = T.Zero;
                        for (int i = 0; i <= j; i++)
                        {
                            sum += rt[(i * m) + j] * gpre[i];
                        }

                        gy[j] = sum;
                    }

                    if (triangles.RequiresGradient)
                    {
                        for (int i = 0; i < m; i++)
                        {
                            for (int j = i; j < m; j++)
                            {
                                gTri[(i * m) + j] += qtg[i] * eta[j];
                                gTri[((m + i) * m) + j] += gpre[i] * y[j];
                            }

                            T gd = gl * etaPrime[i] / psi[i];
                            gTri[(i * m) + i] += gd * rt[(i * m) + i];
                            gTri[((m + i) * m) + i] += gd * rm[(i * m) + i];
                            gTri[(2 * m * m) + i] += gpre[i];
                        }
                    }

                    if (input.RequiresGradient)
                    {
                        Span<T> gz = input.Gradients.Slice(row * d, d);
                        for (int k = 0; k < d; k++)
                        {
                            T sum = T.Zero;
                            for (int j = 0; j < m; j++)
                            {
                                sum += qs[(k * m) + j] * gy[j];
                            }

                            gz[k] += gout[k] + sum;
                        }
                    }

                    if (q.RequiresGradient)
                    {
                        Span<T> gq = q.Gradients.Slice(row * qStride, d * m);
                        for (int k = 0; k < d; k++)
                        {
                            for (int j = 0; j < m; j++)
                            {
                                gq[(k * m) + j] += (gout[k] * kappa[j]) + (xin[k] * gy[j]);
                            }
                        }
                    }
                }
                else
                {
                    // w = gl·2dηη′/ψ; right side Qᵀgz + R̃ᵀw; forward substitution on Aᵀ (lower-triangular).
                    for (int i = 0; i < m; i++)
                    {
                        T di = rm[(i * m) + i] * rt[(i * m) + i];
                        gpre[i] = gl * two * di * eta[i] * etaPrime[i] / psi[i];
                        partial[i] = T.Zero;
                    }

                    for (int j = 0; j < m; j++)
                    {
                        T rhs = qtg[j];
                        for (int i = 0; i <= j; i++)
                        {
                            rhs += rt[(i * m) + j] * gpre[i];
                        }

                        for (int k = 0; k < j; k++)
                        {
                            rhs -= nu[k] * rt[(k * m) + j];
                        }

                        rhs -= etaPrime[j] * partial[j] * rt[(j * m) + j];
                        lambda[j] = rhs / psi[j];
                        for (int k = j; k < m; k++)
                        {
                            partial[k] += lambda[j] * rm[(j * m) + k];
                        }

                        nu[j] = etaPrime[j] * partial[j];
                    }

                    if (triangles.RequiresGradient)
                    {
                        for (int i = 0; i < m; i++)
                        {
                            T wMinusMu = gpre[i] - nu[i];
                            for (int j = i; j < m; j++)
                            {
                                gTri[(i * m) + j] -= lambda[i] * eta[j];
                                gTri[((m + i) * m) + j] += wMinusMu * y[j];
                            }

                            T gd = -gl * etaPrime[i] / psi[i];
                            gTri[(i * m) + i] += gd * rt[(i * m) + i];
                            gTri[((m + i) * m) + i] += gd * rm[(i * m) + i];
                            gTri[(2 * m * m) + i] += wMinusMu;
                        }
                    }

                    for (int j = 0; j < m; j++)
                    {
                        gy[j] = lambda[j] - qtg[j];
                    }

                    if (input.RequiresGradient)
                    {
                        Span<T> gx = input.Gradients.Slice(row * d, d);
                        for (int k = 0; k < d; k++)
                        {
                            T sum = T.Zero;
                            for (int j = 0; j < m; j++)
                            {
                                sum += qs[(k * m) + j] * gy[j];
                            }

                            gx[k] += gout[k] + sum;
                        }
                    }

                    if (q.RequiresGradient)
                    {
                        Span<T> gq = q.Gradients.Slice(row * qStride, d * m);
                        for (int k = 0; k < d; k++)
                        {
                            for (int j = 0; j < m; j++)
                            {
                                gq[(k * m) + j] += (xin[k] * gy[j]) - (gout[k] * kappa[j]);
                            }
                        }
                    }
                }
            }
        }
    }
}
