using System.Numerics;

namespace Flows.Numerics;

/// <summary>
/// Products of small square matrices, m × m and row-major: <c>C = AB</c>, <c>C = AᵀB</c>, <c>C = ABᵀ</c>, and the dot
/// product <c>aᵀb</c>, each entry summed in one fixed order: <c>c_ij = ((a_i0·b_0j + a_i1·b_1j) + …) + a_i,m−1·b_m−1,j</c>,
/// every product and every sum rounded (no fused multiply-add).
/// </summary>
/// <remarks>
/// <para>The Sylvester layer's backward pass needs four m × m products per pass (m the number of orthonormal columns,
/// at most the dimension, typically 2 to 16), and the planar and Householder code needs dot products of length D.</para>
/// <para><b>Why not <see cref="Gemm"/> or MathNet.</b> Decided from the code, without a benchmark (the issue asked for
/// reuse "where that is not slower"):</para>
/// <list type="bullet">
/// <item>Speed. <see cref="Gemm"/> pays a fixed cost per call that is independent of m: two thread-static scratch
/// look-ups; packing B into m × 8 (double) micro-panels, cleared first when m is not a multiple of 8; packing A
/// (always for AᵀB, otherwise its ragged last row panel, zero-padded to 6 rows); then every tile is a full 6 × 8
/// micro-kernel, with ragged tiles computed on the stack and copied out element by element. For m = 2 that is one
/// 6 × 8 tile and some 40 packed or cleared values to obtain 4 entries from 8 multiply-adds, so for the usual m ≤ 8
/// these loops are faster. Only towards m = 16 (4096 multiply-adds, where the vector kernel wins) would Gemm be
/// faster, and there the products are still a small part of the pass: the same backward pass diagonalizes the same
/// m × m matrix by Jacobi (5 to 10 sweeps of about 6m³ multiplications, see <see cref="SymmetricEigen"/>) and forms
/// D × m products with Q, and the Sylvester op's own backward pass is O(n·D·m) per batch. Gemm is therefore not
/// "clearly not slower" at the sizes that occur.</item>
/// <item>Bits. Gemm sums each entry with <c>MultiplyAddEstimate</c>, fused where the hardware has FMA, so switching
/// would change the last bits of every gradient through the Sylvester orthogonalization (and of trained Sylvester
/// parameters), and would make them differ between machines with and without FMA. The fixed order here gives the same
/// bits on every IEEE 754 machine, and the tests pin it.</item>
/// <item>MathNet. Its <c>Matrix&lt;T&gt;</c> is column-major and built only for float, double and the complex types, so
/// each call would dispatch on T, allocate matrices and copy in and out of the row-major spans, where the tape's
/// steady state allocates nothing; for products of a few dozen multiply-adds that is the whole cost.</item>
/// </list>
/// <para>If m well above 16 becomes common, the drop-in replacements are <c>Gemm.Multiply(a, b, c, m, m, m, false)</c>,
/// <c>Gemm.MultiplyTransposedA</c> and <c>Gemm.MultiplyTransposedB</c>, with the change of bits above.</para>
/// </remarks>
internal static class SmallMatrix
{
    /// <summary><c>aᵀb = Σⱼ aⱼbⱼ</c>, summed from j = 0 up.</summary>
    /// <param name="a">The first vector.</param>
    /// <param name="b">The second vector, at least as long as <paramref name="a"/>.</param>
    /// <returns>The dot product; 0 for empty vectors.</returns>
    public static T Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T sum = T.Zero;
        for (int j = 0; j < a.Length; j++)
        {
            sum += a[j] * b[j];
        }

        return sum;
    }

    /// <summary><c>C = AB</c>: <c>c_ij = Σₗ a_il·b_lj</c>.</summary>
    /// <param name="a">A, m × m row-major.</param>
    /// <param name="b">B, m × m row-major.</param>
    /// <param name="result">C, m × m row-major; overwritten. Must not overlap A or B.</param>
    /// <param name="m">The order. Range: ≥ 0.</param>
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

    /// <summary><c>C = AᵀB</c>: <c>c_ij = Σₗ a_li·b_lj</c>.</summary>
    /// <param name="a">A, m × m row-major.</param>
    /// <param name="b">B, m × m row-major.</param>
    /// <param name="result">C, m × m row-major; overwritten. Must not overlap A or B.</param>
    /// <param name="m">The order. Range: ≥ 0.</param>
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

    /// <summary><c>C = ABᵀ</c>: <c>c_ij = Σₗ a_il·b_jl</c>.</summary>
    /// <param name="a">A, m × m row-major.</param>
    /// <param name="b">B, m × m row-major.</param>
    /// <param name="result">C, m × m row-major; overwritten. Must not overlap A or B.</param>
    /// <param name="m">The order. Range: ≥ 0.</param>
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
