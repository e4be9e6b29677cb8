using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

/// <summary>
/// Dense row-major matrix products, the three forms a reverse-mode tape needs:
/// <c>C (+)= A·B</c>, <c>C (+)= A·Bᵀ</c> and <c>C (+)= Aᵀ·B</c>.
/// </summary>
/// <remarks>
/// Shapes are given as <c>m × k</c> (A, or Aᵀ for <see cref="MultiplyTransposedA{T}"/>), <c>k × n</c> (B, or Bᵀ) and
/// <c>m × n</c> (C). Callers validate shapes; the kernels only assert them.
/// </remarks>
internal static partial class Gemm
{
    /// <summary><c>C (+)= A·B</c> with A m×k, B k×n, C m×n, all row-major.</summary>
    public static void Multiply<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(a.Length >= m * k && b.Length >= k * n && c.Length >= m * n);
        if (!accumulate)
        {
            c[..(m * n)].Clear();
        }

        for (int i = 0; i < m; i++)
        {
            Span<T> cRow = c.Slice(i * n, n);
            ReadOnlySpan<T> aRow = a.Slice(i * k, k);
            for (int p = 0; p < k; p++)
            {
                Axpy(aRow[p], b.Slice(p * n, n), cRow);
            }
        }
    }

    /// <summary><c>C (+)= A·Bᵀ</c> with A m×k, B n×k, C m×n, all row-major.</summary>
    public static void MultiplyTransposedB<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(a.Length >= m * k && b.Length >= n * k && c.Length >= m * n);
        for (int i = 0; i < m; i++)
        {
            ReadOnlySpan<T> aRow = a.Slice(i * k, k);
            Span<T> cRow = c.Slice(i * n, n);
            for (int j = 0; j < n; j++)
            {
                T dot = Dot(aRow, b.Slice(j * k, k));
                cRow[j] = accumulate ? cRow[j] + dot : dot;
            }
        }
    }

    /// <summary><c>C (+)= Aᵀ·B</c> with A k×m, B k×n, C m×n, all row-major.</summary>
    public static void MultiplyTransposedA<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(a.Length >= k * m && b.Length >= k * n && c.Length >= m * n);
        if (!accumulate)
        {
            c[..(m * n)].Clear();
        }

        for (int p = 0; p < k; p++)
        {
            ReadOnlySpan<T> aRow = a.Slice(p * m, m);
            ReadOnlySpan<T> bRow = b.Slice(p * n, n);
            for (int i = 0; i < m; i++)
            {
                Axpy(aRow[i], bRow, c.Slice(i * n, n));
            }
        }
    }

    // y += alpha * x, vectorized.
    private static void Axpy<T>(T alpha, ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var va = Vector256.Create(alpha);
            ref T xr = ref MemoryMarshal.GetReference(x);
            ref T yr = ref MemoryMarshal.GetReference(y);
            for (; i <= x.Length - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var v = Vector256.LoadUnsafe(ref yr, (nuint)i) + va * Vector256.LoadUnsafe(ref xr, (nuint)i);
                v.StoreUnsafe(ref yr, (nuint)i);
            }
        }

        for (; i < x.Length; i++)
        {
            y[i] += alpha * x[i];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Dot<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
        => System.Numerics.Tensors.TensorPrimitives.Dot(x, y);
}
