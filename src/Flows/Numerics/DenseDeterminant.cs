using System.Numerics;

namespace Flows.Numerics;

/// <summary>Determinants of small dense matrices.</summary>
internal static class DenseDeterminant
{
    /// <summary>log|det M| of the d × d row-major <paramref name="m"/> by LU with partial pivoting (M is overwritten).</summary>
    /// <remarks>When <paramref name="inverse"/> is non-empty it receives M⁻¹ (Gauss–Jordan on the same pivots).</remarks>
    public static T LogAbs<T>(Span<T> m, int d, Span<T> inverse) where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool invert = !inverse.IsEmpty;
        if (invert)
        {
            inverse.Clear();
            for (int i = 0; i < d; i++)
            {
                inverse[(i * d) + i] = T.One;
            }
        }

        T logDet = T.Zero;
        for (int col = 0; col < d; col++)
        {
            int pivot = col;
            for (int i = col + 1; i < d; i++)
            {
                if (T.Abs(m[(i * d) + col]) > T.Abs(m[(pivot * d) + col]))
                {
                    pivot = i;
                }
            }

            if (pivot != col)
            {
                for (int j = 0; j < d; j++)
                {
                    (m[(col * d) + j], m[(pivot * d) + j]) = (m[(pivot * d) + j], m[(col * d) + j]);
                    if (invert)
                    {
                        (inverse[(col * d) + j], inverse[(pivot * d) + j]) = (inverse[(pivot * d) + j], inverse[(col * d) + j]);
                    }
                }
            }

            T p = m[(col * d) + col];
            logDet += T.Log(T.Abs(p));
            for (int i = invert ? 0 : col + 1; i < d; i++)
            {
                if (i == col)
                {
                    continue;
                }

                T factor = m[(i * d) + col] / p;
                if (factor == T.Zero)
                {
                    continue;
                }

                for (int j = col; j < d; j++)
                {
                    m[(i * d) + j] -= factor * m[(col * d) + j];
                }

                if (invert)
                {
                    for (int j = 0; j < d; j++)
                    {
                        inverse[(i * d) + j] -= factor * inverse[(col * d) + j];
                    }
                }
            }
        }

        if (invert)
        {
            // Gauss–Jordan: the eliminated M is diagonal now; divide each row by its pivot.
            for (int i = 0; i < d; i++)
            {
                T p = m[(i * d) + i];
                for (int j = 0; j < d; j++)
                {
                    inverse[(i * d) + j] /= p;
                }
            }
        }

        return logDet;
    }
}
