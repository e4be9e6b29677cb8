using System.Numerics;

namespace Flows.Numerics;

/// <summary>Cyclic Jacobi eigendecomposition of a small symmetric matrix.</summary>
internal static class SymmetricEigen
{
    /// <summary>
    /// Diagonalizes the symmetric m × m <paramref name="a"/> (destroyed): A = V diag(values) Vᵀ, V's columns the
    /// eigenvectors. Sweeps until the off-diagonal mass is below rounding of the diagonal (at most 100 sweeps).
    /// </summary>
    public static void Decompose<T>(Span<T> a, Span<T> vectors, Span<T> values, int m) where T : unmanaged, IFloatingPointIeee754<T>
    {
        vectors.Clear();
        for (int i = 0; i < m; i++)
        {
            vectors[(i * m) + i] = T.One;
        }

        T ulp = T.One - T.BitDecrement(T.One);
        for (int sweep = 0; sweep < 100; sweep++)
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
