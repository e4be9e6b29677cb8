using System.Numerics;

namespace Flows.Numerics;

/// <summary>
/// The eigendecomposition of a small symmetric matrix, <c>A = V diag(λ) Vᵀ</c> with V orthogonal, by the cyclic Jacobi
/// method.
/// </summary>
/// <remarks>
/// <para><b>Algorithm.</b> Each sweep visits the pairs (p, q), p &lt; q, row by row, and applies the plane rotation
/// J(p, q, θ) that zeroes a_pq: <c>A ← JᵀAJ</c>, <c>V ← VJ</c>. The rotation is the smaller of the two (|θ| ≤ π/4),
/// with t = tan θ = sign(ζ)/(|ζ| + √(ζ² + 1)), ζ = (a_qq − a_pp)/(2a_pq), c = 1/√(t² + 1), s = t·c, which keeps the
/// off-diagonal mass falling monotonically; convergence is quadratic once it is small, so a handful of sweeps
/// (typically 5 to 10 for m ≤ 16) suffice. Cost: about 6m³ multiply-adds per sweep; only the small matrices of the
/// Sylvester backward pass (m ≤ dimension) are meant for it.</para>
/// <para><b>Stopping and accuracy.</b> Sweeps stop once Σ_{i&lt;j} a_ij² ≤ ulp²·Σ_i a_ii² (ulp the spacing just below
/// 1: 2⁻⁵³ in double), so the remaining off-diagonal entries are below rounding of the diagonal, or after
/// <see cref="MaxSweeps"/> sweeps, far more than finite input needs. Jacobi is backward stable: the computed λ are exact
/// for a matrix within a small multiple of m·ulp·‖A‖ of A, and V is orthogonal to a small multiple of m·ulp. Repeated
/// eigenvalues are no special case: V then holds an orthonormal basis of each eigenspace. Non-finite entries give NaN
/// results after the sweep limit.</para>
/// <para>Reference: G. H. Golub and C. F. Van Loan, "Matrix Computations", 4th ed., 2013, §8.5 (the cyclic Jacobi
/// method); C. G. J. Jacobi, "Über ein leichtes Verfahren, die in der Theorie der Säcularstörungen vorkommenden
/// Gleichungen numerisch aufzulösen", 1846.</para>
/// </remarks>
internal static class SymmetricEigen
{
    /// <summary>The sweep limit of <see cref="Decompose{T}"/>.</summary>
    public const int MaxSweeps = 100;

    /// <summary>Diagonalizes the symmetric m × m <paramref name="a"/>: <c>A = V diag(values) Vᵀ</c>.</summary>
    /// <param name="a">A, m × m row-major and symmetric. Destroyed: on return it is diagonal to rounding.</param>
    /// <param name="vectors">Receives V, m × m row-major: column j is the unit eigenvector of values[j].</param>
    /// <param name="values">Receives the m eigenvalues, in no particular order (that of A's diagonal at convergence).</param>
    /// <param name="m">The order. Range: ≥ 0.</param>
    public static void Decompose<T>(Span<T> a, Span<T> vectors, Span<T> values, int m) where T : unmanaged, IFloatingPointIeee754<T>
    {
        vectors.Clear();
        for (int i = 0; i < m; i++)
        {
            vectors[(i * m) + i] = T.One;
        }

        T ulp = T.One - T.BitDecrement(T.One);
        for (int sweep = 0; sweep < MaxSweeps; sweep++)
        {
            T off = T.Zero;
            T diagonal = T.Zero;
            for (int i = 0; i < m; i++)
            {
                diagonal += a[(i * m) + i] * a[(i * m) + i];
                for (int j = i + 1; j < m; j++)
                {
                    off += a[(i * m) + j] * a[(i * m) + j];
                }
            }

            if (off <= ulp * ulp * diagonal)
            {
                break;
            }

            for (int p = 0; p < m; p++)
            {
                for (int q = p + 1; q < m; q++)
                {
                    T apq = a[(p * m) + q];
                    if (apq == T.Zero)
                    {
                        continue;
                    }

                    T theta = (a[(q * m) + q] - a[(p * m) + p]) / (T.CreateTruncating(2) * apq);
                    T t = T.CopySign(T.One, theta) / (T.Abs(theta) + T.Hypot(theta, T.One));
                    T c = T.One / T.Hypot(t, T.One);
                    T s = t * c;
                    for (int k = 0; k < m; k++)
                    {
                        // Columns p and q of A.
                        T akp = a[(k * m) + p];
                        T akq = a[(k * m) + q];
                        a[(k * m) + p] = (c * akp) - (s * akq);
                        a[(k * m) + q] = (s * akp) + (c * akq);
                    }

                    for (int k = 0; k < m; k++)
                    {
                        // Rows p and q of A.
                        T apk = a[(p * m) + k];
                        T aqk = a[(q * m) + k];
                        a[(p * m) + k] = (c * apk) - (s * aqk);
                        a[(q * m) + k] = (s * apk) + (c * aqk);
                    }

                    for (int k = 0; k < m; k++)
                    {
                        T vkp = vectors[(k * m) + p];
                        T vkq = vectors[(k * m) + q];
                        vectors[(k * m) + p] = (c * vkp) - (s * vkq);
                        vectors[(k * m) + q] = (s * vkp) + (c * vkq);
                    }
                }
            }
        }

        for (int i = 0; i < m; i++)
        {
            values[i] = a[(i * m) + i];
        }
    }
}
