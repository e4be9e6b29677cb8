using System.Numerics;

namespace Flows.Numerics;

/// <summary>
/// Products of small square matrices (m × m, row-major) in a fixed summation order, as the Sylvester and planar
/// layers need them: m is at most the dimension, so these stay below the size where <see cref="Gemm"/> packing pays.
/// </summary>
internal static class SmallMatrix
{
    /// <summary>aᵀb.</summary>
    public static T Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T sum = T.Zero;
        for (int j = 0; j < a.Length; j++)
        {
            sum += a[j] * b[j];
        }

        return sum;
    }

    public static void Multiply<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> result, int m)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < m; j++)
            {
                T sum = T.Zero;
                for (int l = 0; l < m; l++)
                {
                    sum += a[(i * m) + l] * b[(l * m) + j];
                }

                result[(i * m) + j] = sum;
            }
        }
    }

    public static void MultiplyTransposedLeft<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> result, int m)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < m; j++)
            {
                T sum = T.Zero;
                for (int l = 0; l < m; l++)
                {
                    sum += a[(l * m) + i] * b[(l * m) + j];
                }

                result[(i * m) + j] = sum;
            }
        }
    }

    public static void MultiplyTransposedRight<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> result, int m)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < m; j++)
            {
                T sum = T.Zero;
                for (int l = 0; l < m; l++)
                {
                    sum += a[(i * m) + l] * b[(j * m) + l];
                }

                result[(i * m) + j] = sum;
            }
        }
    }
}
