using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

internal static partial class SylvesterOps
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
}
