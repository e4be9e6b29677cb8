using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Flows.Numerics;

/// <summary>
/// Dense row-major matrix products, the three forms a reverse-mode tape needs:
/// <c>C (+)= A·B</c>, <c>C (+)= A·Bᵀ</c> and <c>C (+)= Aᵀ·B</c>.
/// </summary>
/// <remarks>
/// <para>Shapes are given as m × k (A, or Aᵀ for <see cref="MultiplyTransposedA{T}"/>), k × n (B, or Bᵀ) and m × n
/// (C). Callers validate shapes; the kernels only assert them.</para>
/// <para>Implementation notes. One register-blocked micro-kernel serves all three forms: A is packed into panels of
/// <see cref="RowsPerTile"/> rows laid out k-major, B into panels of two vectors' width laid out k-major, so the
/// transposes are absorbed by the packing. The micro-kernel keeps a 6 × 2-vector tile of C in twelve registers and
/// does one broadcast and two fused multiply-adds per row and k. Blocks of k (<see cref="DepthBlock"/>) keep a B panel
/// in L1 and the packed A block in L2. Packing scratch is per thread and reused, so a product allocates nothing after
/// the first on a thread.</para>
/// </remarks>
internal static class Gemm
{
    /// <summary>Rows of C per micro-tile.</summary>
    public const int RowsPerTile = 6;

    /// <summary>k per packed block.</summary>
    public const int DepthBlock = 256;

    /// <summary>Rows of A per packed block.</summary>
    public const int RowBlock = 96;

    /// <summary>Columns of B per packed block.</summary>
    public const int ColumnBlock = 1024;

    /// <summary><c>C (+)= A·B</c> with A m×k, B k×n, C m×n, all row-major.</summary>
    public static void Multiply<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(a.Length >= m * k && b.Length >= k * n && c.Length >= m * n);
        Run(a, b, c, m, k, n, accumulate, transposeA: false, transposeB: false);
    }

    /// <summary><c>C (+)= A·Bᵀ</c> with A m×k, B n×k, C m×n, all row-major.</summary>
    public static void MultiplyTransposedB<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(a.Length >= m * k && b.Length >= n * k && c.Length >= m * n);
        Run(a, b, c, m, k, n, accumulate, transposeA: false, transposeB: true);
    }

    /// <summary><c>C (+)= Aᵀ·B</c> with A k×m, B k×n, C m×n, all row-major.</summary>
    public static void MultiplyTransposedA<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(a.Length >= k * m && b.Length >= k * n && c.Length >= m * n);
        Run(a, b, c, m, k, n, accumulate, transposeA: true, transposeB: false);
    }

    private static void Run<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate, bool transposeA, bool transposeB)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!accumulate)
        {
            c[..(m * n)].Clear();
        }

        if (m == 0 || n == 0 || k == 0)
        {
            return;
        }

        int width = 2 * Vector256<T>.Count;
        Span<T> packedA = GemmScratch<T>.A(RowBlock * DepthBlock);
        Span<T> packedB = GemmScratch<T>.B(DepthBlock * (ColumnBlock + width));
        for (int jc = 0; jc < n; jc += ColumnBlock)
        {
            int nc = Math.Min(ColumnBlock, n - jc);
            for (int pc = 0; pc < k; pc += DepthBlock)
            {
                int kc = Math.Min(DepthBlock, k - pc);
                PackB(b, packedB, k, n, pc, kc, jc, nc, width, transposeB);
                for (int ic = 0; ic < m; ic += RowBlock)
                {
                    int mc = Math.Min(RowBlock, m - ic);
                    PackA(a, packedA, m, k, ic, mc, pc, kc, transposeA);
                    for (int jr = 0; jr < nc; jr += width)
                    {
                        int nr = Math.Min(width, nc - jr);
                        ReadOnlySpan<T> bPanel = packedB.Slice(jr * kc, width * kc);
                        for (int ir = 0; ir < mc; ir += RowsPerTile)
                        {
                            int mr = Math.Min(RowsPerTile, mc - ir);
                            MicroKernel(packedA.Slice(ir * kc, RowsPerTile * kc), bPanel, c, ((ic + ir) * n) + jc + jr, n, kc, mr, nr);
                        }
                    }
                }
            }
        }
    }

    // Packs rows ic..ic+mc, depth pc..pc+kc of A (or of Aᵀ) into tiles of RowsPerTile rows, k-major, zero-padded.
    private static void PackA<T>(ReadOnlySpan<T> a, Span<T> packed, int m, int k, int ic, int mc, int pc, int kc, bool transposeA)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int ir = 0; ir < mc; ir += RowsPerTile)
        {
            Span<T> tile = packed.Slice(ir * kc, RowsPerTile * kc);
            int rows = Math.Min(RowsPerTile, mc - ir);
            for (int r = 0; r < RowsPerTile; r++)
            {
                int row = ic + ir + r;
                if (r >= rows)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        tile[(p * RowsPerTile) + r] = T.Zero;
                    }
                }
                else if (transposeA)
                {
                    // Aᵀ[row, p] = A[p, row], A is k × m.
                    for (int p = 0; p < kc; p++)
                    {
                        tile[(p * RowsPerTile) + r] = a[((pc + p) * m) + row];
                    }
                }
                else
                {
                    ReadOnlySpan<T> source = a.Slice((row * k) + pc, kc);
                    for (int p = 0; p < kc; p++)
                    {
                        tile[(p * RowsPerTile) + r] = source[p];
                    }
                }
            }
        }
    }

    // Packs depth pc..pc+kc, columns jc..jc+nc of B (or of Bᵀ) into panels of `width` columns, k-major, zero-padded.
    private static void PackB<T>(ReadOnlySpan<T> b, Span<T> packed, int k, int n, int pc, int kc, int jc, int nc, int width, bool transposeB)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int jr = 0; jr < nc; jr += width)
        {
            Span<T> panel = packed.Slice(jr * kc, width * kc);
            int columns = Math.Min(width, nc - jr);
            if (transposeB)
            {
                // Bᵀ[p, column] = B[column, p], B is n × k: each column of the panel is a contiguous row of B.
                for (int q = 0; q < width; q++)
                {
                    if (q >= columns)
                    {
                        for (int p = 0; p < kc; p++)
                        {
                            panel[(p * width) + q] = T.Zero;
                        }

                        continue;
                    }

                    ReadOnlySpan<T> source = b.Slice(((jc + jr + q) * k) + pc, kc);
                    for (int p = 0; p < kc; p++)
                    {
                        panel[(p * width) + q] = source[p];
                    }
                }
            }
            else
            {
                for (int p = 0; p < kc; p++)
                {
                    Span<T> target = panel.Slice(p * width, width);
                    b.Slice(((pc + p) * n) + jc + jr, columns).CopyTo(target);
                    target[columns..].Clear();
                }
            }
        }
    }

    // C[tile] += Apanel · Bpanel for an mr × nr tile (mr ≤ 6, nr ≤ two vectors), accumulators in registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroKernel<T>(ReadOnlySpan<T> aPanel, ReadOnlySpan<T> bPanel, Span<T> c, int offset, int ldc, int kc, int mr, int nr)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lanes = Vector256<T>.Count;
        ref T ap = ref MemoryMarshal.GetReference(aPanel);
        ref T bp = ref MemoryMarshal.GetReference(bPanel);
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<T> b0 = Vector256.LoadUnsafe(ref bp, (nuint)(p * 2 * lanes));
            Vector256<T> b1 = Vector256.LoadUnsafe(ref bp, (nuint)((p * 2 * lanes) + lanes));
            nuint ai = (nuint)(p * RowsPerTile);
            Vector256<T> a0 = Vector256.Create(Unsafe.Add(ref ap, ai));
            c00 = MultiplyAdd(a0, b0, c00);
            c01 = MultiplyAdd(a0, b1, c01);
            Vector256<T> a1 = Vector256.Create(Unsafe.Add(ref ap, ai + 1));
            c10 = MultiplyAdd(a1, b0, c10);
            c11 = MultiplyAdd(a1, b1, c11);
            Vector256<T> a2 = Vector256.Create(Unsafe.Add(ref ap, ai + 2));
            c20 = MultiplyAdd(a2, b0, c20);
            c21 = MultiplyAdd(a2, b1, c21);
            Vector256<T> a3 = Vector256.Create(Unsafe.Add(ref ap, ai + 3));
            c30 = MultiplyAdd(a3, b0, c30);
            c31 = MultiplyAdd(a3, b1, c31);
            Vector256<T> a4 = Vector256.Create(Unsafe.Add(ref ap, ai + 4));
            c40 = MultiplyAdd(a4, b0, c40);
            c41 = MultiplyAdd(a4, b1, c41);
            Vector256<T> a5 = Vector256.Create(Unsafe.Add(ref ap, ai + 5));
            c50 = MultiplyAdd(a5, b0, c50);
            c51 = MultiplyAdd(a5, b1, c51);
        }

        if (nr == 2 * lanes)
        {
            ref T cr = ref MemoryMarshal.GetReference(c);
            Store(ref cr, offset, lanes, c00, c01);
            if (mr > 1) Store(ref cr, offset + ldc, lanes, c10, c11);
            if (mr > 2) Store(ref cr, offset + (2 * ldc), lanes, c20, c21);
            if (mr > 3) Store(ref cr, offset + (3 * ldc), lanes, c30, c31);
            if (mr > 4) Store(ref cr, offset + (4 * ldc), lanes, c40, c41);
            if (mr > 5) Store(ref cr, offset + (5 * ldc), lanes, c50, c51);
            return;
        }

        // A partial tile goes through a small buffer so that nothing outside C is touched.
        Span<T> tile = stackalloc T[RowsPerTile * 2 * Vector256<T>.Count];
        ref T tr = ref MemoryMarshal.GetReference(tile);
        int w = 2 * lanes;
        c00.StoreUnsafe(ref tr, 0); c01.StoreUnsafe(ref tr, (nuint)lanes);
        c10.StoreUnsafe(ref tr, (nuint)w); c11.StoreUnsafe(ref tr, (nuint)(w + lanes));
        c20.StoreUnsafe(ref tr, (nuint)(2 * w)); c21.StoreUnsafe(ref tr, (nuint)((2 * w) + lanes));
        c30.StoreUnsafe(ref tr, (nuint)(3 * w)); c31.StoreUnsafe(ref tr, (nuint)((3 * w) + lanes));
        c40.StoreUnsafe(ref tr, (nuint)(4 * w)); c41.StoreUnsafe(ref tr, (nuint)((4 * w) + lanes));
        c50.StoreUnsafe(ref tr, (nuint)(5 * w)); c51.StoreUnsafe(ref tr, (nuint)((5 * w) + lanes));
        for (int r = 0; r < mr; r++)
        {
            Span<T> row = c.Slice(offset + (r * ldc), nr);
            ReadOnlySpan<T> values = tile.Slice(r * w, nr);
            for (int q = 0; q < nr; q++)
            {
                row[q] += values[q];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(ref T c, int offset, int lanes, Vector256<T> v0, Vector256<T> v1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        (Vector256.LoadUnsafe(ref c, (nuint)offset) + v0).StoreUnsafe(ref c, (nuint)offset);
        (Vector256.LoadUnsafe(ref c, (nuint)(offset + lanes)) + v1).StoreUnsafe(ref c, (nuint)(offset + lanes));
    }

    // a·b + c with one rounding where the hardware has FMA; the typeof tests fold away per element type.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> MultiplyAdd<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Fma.IsSupported)
        {
            if (typeof(T) == typeof(double))
            {
                return Fma.MultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
            }

            if (typeof(T) == typeof(float))
            {
                return Fma.MultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
            }
        }

        return (a * b) + c;
    }
}

/// <summary>Per-thread packing buffers of <see cref="Gemm"/>, grown once and reused.</summary>
internal static class GemmScratch<T> where T : unmanaged
{
    [ThreadStatic]
    private static T[]? _a;

    [ThreadStatic]
    private static T[]? _b;

    public static Span<T> A(int length) => (_a is { } a && a.Length >= length ? a : _a = new T[length]).AsSpan(0, length);

    public static Span<T> B(int length) => (_b is { } b && b.Length >= length ? b : _b = new T[length]).AsSpan(0, length);
}
