using System.Numerics;
using Flows.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

internal static class SylvesterOps
{
    /// <summary>The iteration limit of <see cref="Orthogonalize{T}"/>.</summary>
    public const int OrthogonalizationMaxIterations = 100;

    /// <summary>
    /// The orthonormal polar factor Q of a D × M matrix A (M ≤ D) of full column rank, <c>Q = A (AᵀA)^(−1/2)</c>, by the
    /// iteration <c>Q ← Q(I + ½(I − QᵀQ))</c> of van den Berg et al. (2018) from Q₀ = A/‖A‖_F.
    /// </summary>
    /// <remarks>
    /// <para>The iteration is Newton–Schulz for the polar factor: each singular value σ of Q moves to σ(3 − σ²)/2, which
    /// converges to 1 from every σ ∈ (0, √3), quadratically once near. It stops as soon as ‖QᵀQ − I‖_max ≤ 1e-12 (double;
    /// max(1e-12, 8M ulp) in general) and throws if that is not reached within <paramref name="maxIterations"/> steps:
    /// a rank-deficient or badly conditioned A (σ_min/‖A‖_F below about 1.5^−(maxIterations − 10)) fails loudly, never
    /// silently.</para>
    /// <para>The backward pass is that of the limit, the polar factor, not of the truncated iteration. With P = QᵀA
    /// (symmetric positive definite), G the output gradient and K = QᵀG:
    /// Ā = (G − QK) P⁻¹ + Q Y, where Y solves YP + PY = K − Kᵀ (in P's eigenbasis, by a Jacobi eigendecomposition).</para>
    /// </remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="matrix">A, D × M with M ≤ D.</param>
    /// <param name="maxIterations">The iteration limit. Range: &gt; 0.</param>
    /// <returns>A D × M node with orthonormal columns.</returns>
    /// <exception cref="ArgumentException">The matrix has more columns than rows.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxIterations"/> is not positive.</exception>
    /// <exception cref="InvalidOperationException">The iteration did not converge (A is rank-deficient, non-finite or too ill-conditioned).</exception>
    public static Node<T> Orthogonalize<T>(this Tape<T> tape, Node<T> matrix, int maxIterations = OrthogonalizationMaxIterations)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(matrix);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxIterations);
        int rows = matrix.Rows;
        int m = matrix.Columns;
        if (m > rows)
        {
            throw new ArgumentException($"matrix is {rows} × {m}; orthonormal columns need at most as many columns as rows.", nameof(matrix));
        }

        Node<T> q = tape.Allocate(rows, m);
        Span<T> qs = q.Values;
        ReadOnlySpan<T> a = matrix.Values;
        T norm = T.Zero;
        T largest = T.Zero;
        for (int k = 0; k < a.Length; k++)
        {
            largest = T.Max(largest, T.Abs(a[k]));
        }

        if (largest > T.Zero && T.IsFinite(largest))
        {
            for (int k = 0; k < a.Length; k++)
            {
                T v = a[k] / largest;
                norm += v * v;
            }

            norm = largest * T.Sqrt(norm);
        }

        if (!(norm > T.Zero) || !T.IsFinite(norm))
        {
            throw new InvalidOperationException($"Sylvester orthogonalization: the {rows} × {m} matrix has Frobenius norm {norm}; it must be finite and non-zero.");
        }

        for (int k = 0; k < a.Length; k++)
        {
            qs[k] = a[k] / norm;
        }

        T ulp = T.One - T.BitDecrement(T.One);
        T tolerance = T.Max(T.CreateTruncating(1e-12), T.CreateTruncating(8 * m) * ulp);
        var e = new T[m * m];
        var update = new T[rows * m];
        T half = T.CreateTruncating(0.5);
        T residual = T.PositiveInfinity;
        for (int iteration = 0; ; iteration++)
        {
            // E = I − QᵀQ
            residual = T.Zero;
            for (int i = 0; i < m; i++)
            {
                for (int j = i; j < m; j++)
                {
                    T sum = T.Zero;
                    for (int k = 0; k < rows; k++)
                    {
                        sum += qs[(k * m) + i] * qs[(k * m) + j];
                    }

                    T value = (i == j ? T.One : T.Zero) - sum;
                    e[(i * m) + j] = value;
                    e[(j * m) + i] = value;
                    residual = T.Max(residual, T.Abs(value));
                }
            }

            if (residual <= tolerance)
            {
                break;
            }

            if (iteration >= maxIterations || !T.IsFinite(residual))
            {
                throw new InvalidOperationException(
                    $"Sylvester orthogonalization did not converge in {maxIterations} iterations: ‖QᵀQ − I‖_max = {residual}, tolerance {tolerance}. " +
                    "The raw matrix is rank-deficient or too ill-conditioned.");
            }

            // Q ← Q + ½ Q E
            for (int k = 0; k < rows; k++)
            {
                for (int j = 0; j < m; j++)
                {
                    T sum = T.Zero;
                    for (int i = 0; i < m; i++)
                    {
                        sum += qs[(k * m) + i] * e[(i * m) + j];
                    }

                    update[(k * m) + j] = qs[(k * m) + j] + (half * sum);
                }
            }

            update.AsSpan(0, rows * m).CopyTo(qs);
        }

        tape.Record(OrthogonalizeBackward<T>.Instance, q, matrix);
        return q;
    }

    /// <summary>
    /// The first <paramref name="columnCount"/> columns of the orthogonal matrix <c>H₁H₂⋯H_K</c>, a product of
    /// Householder reflections <c>H_k = I − 2 v_k v_kᵀ/‖v_k‖²</c> with the rows v_k of <paramref name="vectors"/>.
    /// </summary>
    /// <remarks>A zero vector (‖v‖² = 0) is taken as no reflection (H = I, zero gradient) rather than NaN.</remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="vectors">K × D, one reflection vector per row.</param>
    /// <param name="columnCount">M. Range: 1 to D.</param>
    /// <returns>A D × M node with orthonormal columns (to rounding).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="columnCount"/> is out of range.</exception>
    public static Node<T> HouseholderProduct<T>(this Tape<T> tape, Node<T> vectors, int columnCount)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(vectors);
        int d = vectors.Columns;
        int count = vectors.Rows;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columnCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(columnCount, d);
        int m = columnCount;
        Node<T> q = tape.Allocate(d, m);
        Node<T> saved = tape.Allocate(count + 1, d * m); // the input of each reflection, and a backward scratch row
        Span<T> x = q.Values;
        x.Clear();
        for (int j = 0; j < m; j++)
        {
            x[(j * m) + j] = T.One;
        }

        for (int k = count - 1; k >= 0; k--)
        {
            x.CopyTo(saved.Values.Slice(k * d * m, d * m));
            Reflect(vectors.Values.Slice(k * d, d), x, m);
        }

        tape.Record(HouseholderProductBackward<T>.Instance, q, vectors, saved: saved);
        return q;
    }

    // X ← X − 2 v (vᵀX)/‖v‖², X being D × M row-major.
    private static void Reflect<T>(ReadOnlySpan<T> v, Span<T> x, int m) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = v.Length;
        T n = SmallMatrix.Dot(v, v);
        if (n == T.Zero)
        {
            return;
        }

        T factor = T.CreateTruncating(2) / n;
        for (int j = 0; j < m; j++)
        {
            T sum = T.Zero;
            for (int k = 0; k < d; k++)
            {
                sum += v[k] * x[(k * m) + j];
            }

            sum *= factor;
            for (int k = 0; k < d; k++)
            {
                x[(k * m) + j] -= v[k] * sum;
            }
        }
    }

    /// <summary>
    /// The triangular factors of a Sylvester layer from packed unconstrained values: R and R̃ are M × M upper-triangular
    /// with the upper triangles packed row by row (entry (i, j ≥ i) at i·M − i(i − 1)/2 + j − i), off-diagonal entries
    /// as stored and diagonals <c>rᵢᵢ = (1 − 1e-6)·tanh(raw)</c>, so that rᵢᵢr̃ᵢᵢ ≥ −(1 − 1e-6)² &gt; −1.
    /// </summary>
    /// <param name="tape">The tape.</param>
    /// <param name="r">R's packed upper triangle, 1 × M(M + 1)/2.</param>
    /// <param name="rTilde">R̃'s packed upper triangle, 1 × M(M + 1)/2.</param>
    /// <param name="bias">b, 1 × M.</param>
    /// <returns>A (2M + 1) × M node: rows 0..M−1 hold R, rows M..2M−1 hold R̃, row 2M holds b.</returns>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static Node<T> SylvesterTriangles<T>(this Tape<T> tape, Node<T> r, Node<T> rTilde, Node<T> bias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(rTilde);
        ArgumentNullException.ThrowIfNull(bias);
        int m = bias.Columns;
        int packedLength = m * (m + 1) / 2;
        if (bias.Rows != 1 || r.Length != packedLength || rTilde.Length != packedLength)
        {
            throw new ArgumentException(
                $"bias must be 1 × M and r, rTilde hold M(M + 1)/2 values; got bias {bias.Rows} × {bias.Columns}, r {r.Length}, rTilde {rTilde.Length}.",
                nameof(r));
        }

        Node<T> output = tape.Allocate((2 * m) + 1, m);
        Span<T> values = output.Values;
        values.Clear();
        T scale = DiagonalScale<T>();
        for (int i = 0, k = 0; i < m; i++)
        {
            for (int j = i; j < m; j++, k++)
            {
                values[(i * m) + j] = i == j ? scale * T.Tanh(r.Values[k]) : r.Values[k];
                values[((m + i) * m) + j] = i == j ? scale * T.Tanh(rTilde.Values[k]) : rTilde.Values[k];
            }
        }

        bias.Values.CopyTo(values[(2 * m * m)..]);
        tape.Record(SylvesterTrianglesBackward<T>.Instance, output, r, rTilde, bias);
        return output;
    }

    private static T DiagonalScale<T>() where T : unmanaged, IFloatingPointIeee754<T> => T.One - T.CreateTruncating(1e-6);

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
    /// <param name="q">Q, D × M with orthonormal columns.</param>
    /// <param name="triangles">(2M + 1) × M: R, R̃ and b as made by <see cref="SylvesterTriangles{T}"/>.</param>
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
        if (q.Rows != d || triangles.Rows != (2 * m) + 1 || triangles.Columns != m)
        {
            throw new ArgumentException(
                $"q must be {d} × M and triangles (2M + 1) × M; got q {q.Rows} × {q.Columns}, triangles {triangles.Rows} × {triangles.Columns}.",
                nameof(q));
        }

        int n = input.Rows;
        Node<T> output = tape.Allocate(n, d);
        Node<T> logDet = tape.Allocate(n, 1);
        Node<T> saved = tape.Allocate(n, m); // y = Qᵀz per row
        ReadOnlySpan<T> qs = q.Values;
        ReadOnlySpan<T> tri = triangles.Values;
        ReadOnlySpan<T> rm = tri[..(m * m)];
        ReadOnlySpan<T> rt = tri.Slice(m * m, m * m);
        ReadOnlySpan<T> bias = tri.Slice(2 * m * m, m);
        Span<T> eta = m <= 128 ? stackalloc T[m] : new T[m];
        Span<T> kappa = m <= 128 ? stackalloc T[m] : new T[m];
        T tolerance = TanhRootSolver.DefaultTolerance<T>();
        for (int row = 0; row < n; row++)
        {
            ReadOnlySpan<T> xin = input.Values.Slice(row * d, d);
            Span<T> y = saved.Values.Slice(row * m, m);
            Span<T> xout = output.Values.Slice(row * d, d);

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

    private static class OrthogonalizeBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Polar factor A = QP: dQ = (I − QQᵀ) dA P⁻¹ + QΩ with ΩP + PΩ = QᵀdA − dAᵀQ (Ω = QᵀdQ skew). The adjoint:
        // Ā = (G − QK) P⁻¹ + Q·L(K − Kᵀ), K = QᵀG, L(C) the solution Y of YP + PY = C (self-adjoint, commutes with ᵀ).
        // Verified against central differences (SylvesterTests and the shared property suite).
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> a = e.Input0;
            if (!a.RequiresGradient)
            {
                return;
            }

            int rows = a.Rows;
            int m = a.Columns;
            ReadOnlySpan<T> qs = e.Output.Values;
            ReadOnlySpan<T> g = e.Output.Gradients;
            ReadOnlySpan<T> av = a.Values;
            var p = new T[m * m];
            var k = new T[m * m];
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < m; j++)
                {
                    T sp = T.Zero;
                    T sk = T.Zero;
                    for (int r = 0; r < rows; r++)
                    {
                        sp += qs[(r * m) + i] * av[(r * m) + j];
                        sk += qs[(r * m) + i] * g[(r * m) + j];
                    }

                    p[(i * m) + j] = sp;
                    k[(i * m) + j] = sk;
                }
            }

            // Symmetrize P (it is symmetric up to rounding) and diagonalize it: P = V diag(s) Vᵀ.
            T half = T.CreateTruncating(0.5);
            for (int i = 0; i < m; i++)
            {
                for (int j = i + 1; j < m; j++)
                {
                    T mean = half * (p[(i * m) + j] + p[(j * m) + i]);
                    p[(i * m) + j] = mean;
                    p[(j * m) + i] = mean;
                }
            }

            var v = new T[m * m];
            var s = new T[m];
            SymmetricEigen.Decompose<T>(p, v, s, m);

            // C = Vᵀ(K − Kᵀ)V, Y' = C ⊘ (sᵢ + sⱼ), Y = V Y' Vᵀ.
            var c = new T[m * m];
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < m; j++)
                {
                    c[(i * m) + j] = k[(i * m) + j] - k[(j * m) + i];
                }
            }

            var temp = new T[m * m];
            var y = new T[m * m];
            SmallMatrix.MultiplyTransposedLeft(v, c, temp, m);   // Vᵀ C
            SmallMatrix.Multiply(temp, v, y, m);                 // (VᵀC) V
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < m; j++)
                {
                    y[(i * m) + j] /= s[i] + s[j];
                }
            }

            SmallMatrix.Multiply(v, y, temp, m);                 // V Y'
            SmallMatrix.MultiplyTransposedRight(temp, v, y, m);  // (V Y') Vᵀ

            // P⁻¹ = V diag(1/s) Vᵀ.
            var pInverse = new T[m * m];
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < m; j++)
                {
                    T sum = T.Zero;
                    for (int l = 0; l < m; l++)
                    {
                        sum += v[(i * m) + l] * v[(j * m) + l] / s[l];
                    }

                    pInverse[(i * m) + j] = sum;
                }
            }

            Span<T> ga = a.Gradients;
            var residual = new T[m];
            for (int r = 0; r < rows; r++)
            {
                // row r of (G − QK)
                for (int j = 0; j < m; j++)
                {
                    T sum = g[(r * m) + j];
                    for (int l = 0; l < m; l++)
                    {
                        sum -= qs[(r * m) + l] * k[(l * m) + j];
                    }

                    residual[j] = sum;
                }

                for (int j = 0; j < m; j++)
                {
                    T sum = T.Zero;
                    for (int l = 0; l < m; l++)
                    {
                        sum += (residual[l] * pInverse[(l * m) + j]) + (qs[(r * m) + l] * y[(l * m) + j]);
                    }

                    ga[(r * m) + j] += sum;
                }
            }
        }

    }

    private static class HouseholderProductBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Y = X − 2v(vᵀX)/n, n = vᵀv, with w = Xᵀv: gX = H G (H symmetric), and
        // gv = −(2/n)(G w + X Gᵀv) + (4/n²)(vᵀG w) v. Replayed from H₁ (applied last) to H_K.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> vectors = e.Input0;
            if (!vectors.RequiresGradient)
            {
                return;
            }

            int d = vectors.Columns;
            int count = vectors.Rows;
            int m = e.Output.Columns;
            Span<T> g = e.Saved!.Values.Slice(count * d * m, d * m);
            e.Output.Gradients.CopyTo(g);
            Span<T> w = m <= 128 ? stackalloc T[m] : new T[m];
            Span<T> gtv = m <= 128 ? stackalloc T[m] : new T[m];
            T two = T.CreateTruncating(2);
            for (int k = 0; k < count; k++)
            {
                ReadOnlySpan<T> v = vectors.Values.Slice(k * d, d);
                ReadOnlySpan<T> x = e.Saved.Values.Slice(k * d * m, d * m);
                T n = SmallMatrix.Dot(v, v);
                if (n == T.Zero)
                {
                    continue;
                }

                T vgw = T.Zero;
                for (int j = 0; j < m; j++)
                {
                    T sw = T.Zero;
                    T sg = T.Zero;
                    for (int l = 0; l < d; l++)
                    {
                        sw += x[(l * m) + j] * v[l];
                        sg += g[(l * m) + j] * v[l];
                    }

                    w[j] = sw;
                    gtv[j] = sg;
                    vgw += sg * sw;
                }

                Span<T> gv = vectors.Gradients.Slice(k * d, d);
                for (int l = 0; l < d; l++)
                {
                    T sum = T.Zero;
                    for (int j = 0; j < m; j++)
                    {
                        sum += (g[(l * m) + j] * w[j]) + (x[(l * m) + j] * gtv[j]);
                    }

                    gv[l] += (-two / n * sum) + (two * two / (n * n) * vgw * v[l]);
                }

                Reflect(v, g, m);
            }
        }
    }

    private static class SylvesterTrianglesBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Off-diagonal entries pass through; d(c·tanh(x))/dx = c(1 − tanh²x) on the diagonal.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> r = e.Input0;
            Node<T> rTilde = e.Input1!;
            Node<T> bias = e.Input2!;
            int m = bias.Columns;
            ReadOnlySpan<T> g = e.Output.Gradients;
            T scale = DiagonalScale<T>();
            for (int i = 0, k = 0; i < m; i++)
            {
                for (int j = i; j < m; j++, k++)
                {
                    if (r.RequiresGradient)
                    {
                        T slope = i == j ? scale * TanhRootSolver.SechSquared(r.Values[k]) : T.One;
                        r.Gradients[k] += g[(i * m) + j] * slope;
                    }

                    if (rTilde.RequiresGradient)
                    {
                        T slope = i == j ? scale * TanhRootSolver.SechSquared(rTilde.Values[k]) : T.One;
                        rTilde.Gradients[k] += g[((m + i) * m) + j] * slope;
                    }
                }
            }

            if (bias.RequiresGradient)
            {
                Span<T> gb = bias.Gradients;
                for (int j = 0; j < m; j++)
                {
                    gb[j] += g[(2 * m * m) + j];
                }
            }
        }
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
            ReadOnlySpan<T> qs = q.Values;
            ReadOnlySpan<T> tri = triangles.Values;
            ReadOnlySpan<T> rm = tri[..(m * m)];
            ReadOnlySpan<T> rt = tri.Slice(m * m, m * m);
            ReadOnlySpan<T> bias = tri.Slice(2 * m * m, m);
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
                ReadOnlySpan<T> gout = g.Slice(row * d, d);
                ReadOnlySpan<T> y = ys.Slice(row * m, m);
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

                Span<T> gTri = triangles.RequiresGradient ? triangles.Gradients : default;
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
                        Span<T> gq = q.Gradients;
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
                        Span<T> gq = q.Gradients;
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
