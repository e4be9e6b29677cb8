using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

/// <summary>
/// Dense row-major matrix products, the three forms a reverse-mode tape needs:
/// <c>C (+)= A·B</c>, <c>C (+)= A·Bᵀ</c> and <c>C (+)= Aᵀ·B</c>.
/// </summary>
/// <remarks>
/// <para>
/// Shapes are given as <c>m × k</c> (A, or Aᵀ for <see cref="MultiplyTransposedA{T}"/>), <c>k × n</c> (B, or Bᵀ) and
/// <c>m × n</c> (C). Callers validate shapes; the kernels only assert them.
/// </para>
/// <para>
/// Implementation notes. The three products share one driver and one register-blocked micro-kernel, in the
/// layered scheme of Goto and van de Geijn ("Anatomy of high-performance matrix multiplication", ACM TOMS 2008) and
/// BLIS (Van Zee and van de Geijn, ACM TOMS 2015). Each operand is described by a row stride and a column stride, so a
/// transpose is only a swap of strides and costs nothing until packing:
/// </para>
/// <list type="bullet">
/// <item>B is cut into blocks of <c>KC</c> rows × <c>NC</c> columns and each block is packed into micro-panels of
/// <c>KC × NR</c>, contiguous and zero-padded on the right, so the micro-kernel streams it with aligned-size loads
/// whatever the layout of B.</item>
/// <item>A is cut into blocks of at most <c>MC</c> rows (the fewest such blocks, of nearly equal size) × <c>KC</c> columns. Large blocks are packed into micro-panels of
/// <c>MR × KC</c>; small products with short, contiguous rows of A read it in place (the micro-kernel takes strides),
/// because there packing costs a good part of the product itself (MADE layers are n × 64 with small k). A transposed A
/// is always packed: its rows are m elements apart, often 4 KB, which would put a whole micro-panel in one L1 set.
/// A ragged last row panel is always packed, zero-padded, so the micro-kernel never reads past A.</item>
/// <item>The micro-kernel holds an <c>MR × NR</c> tile of C in registers: MR = 6 rows × 2 vectors, so 12 accumulators,
/// 2 loads of B and 1 broadcast of A use 15 of the 16 AVX2 registers. Each step of k is 12 fused multiply-adds. The
/// vectors are 512 bits wide where the hardware has AVX-512 (<see cref="VectorWidth"/>, chosen at run time): the same
/// tile shape with twice the columns (NR = 16 doubles or 32 floats), twice the multiply-adds per step. Each element of C
/// is the same sum in the same order at every width, so the width changes no bit of a product.</item>
/// <item>Ragged tiles of C (the last rows or columns) are computed in full into a stack tile and the valid part copied
/// out, so nothing beyond the m × n elements of C is read or written.</item>
/// </list>
/// <para>
/// A product of at least 2²³ multiply-adds on a thread that <see cref="KernelParallelism"/> lets use several splits the
/// rows of C among them (<c>SplitRows</c>): B is packed once and shared, each share of rows (a multiple of MR) packs
/// its own A; rows are independent and each share runs the same blocks, so the split changes no bit.
/// </para>
/// <para>
/// Scratch for packing (and a split's shared B) lives in per-thread buffers that only grow, so after the first call of
/// a given size a product allocates nothing.
/// </para>
/// </remarks>
internal static partial class Gemm
{
    /// <summary>Rows of C per micro-kernel tile.</summary>
    internal const int MR = 6;

    /// <summary>Depth of a packed block: rows of B and columns of A per pass over C.</summary>
    internal const int KC = 256;

    /// <summary>Products with at most this many multiply-adds read A in place instead of packing it.</summary>
    private const long InPlaceALimit = 1L << 22;

    /// <summary>Packed B blocks up to this many bytes are swept once per micro-panel of A (they stay in L2).</summary>
    private const int SmallPackedBBytes = 128 * 1024;

    /// <summary>Products with at least this many multiply-adds (about 0.3 ms of one core in double) split their rows among
    /// the threads <see cref="KernelParallelism"/> allows; in smaller ones, waking a helper would cost a good part.</summary>
    internal const long ParallelProductWork = 1L << 23;

    /// <summary>Rows of C per share of a split product, at least: fewer would read each packed panel of B for too few
    /// multiply-adds.</summary>
    internal const int SplitRowsMin = 4 * MR;

    /// <summary>Columns of C per micro-kernel tile at a width of <paramref name="bits"/>: two 256-bit vectors (8 doubles or
    /// 16 floats), or two 512-bit vectors (16 or 32) at 512 bits. The 128-bit kernel covers a 256-bit tile in two halves.</summary>
    internal static int NR<T>(int bits) => bits == 512 ? 2 * Vector512<T>.Count : 2 * Vector256<T>.Count;

    /// <summary><c>C (+)= A·B</c> with A m×k, B k×n, C m×n, all row-major.</summary>
    /// <remarks><para><paramref name="depths"/>, optional: for each column j of B, the rows outside which it is zero, so those steps of k are skipped.</para>
    /// <para><paramref name="packedB"/>, optional: B already packed (<see cref="PackedB{T}.Pack"/> with the same b, k and n,
    /// not transposed); used when packed at this thread's width, else B is packed here as usual.</para></remarks>
    public static void Multiply<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate, Bands? depths = null, PackedB<T>? packedB = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(m >= 0 && k >= 0 && n >= 0);
        Debug.Assert(a.Length >= m * k && b.Length >= k * n && c.Length >= m * n);
        Debug.Assert(depths is null || depths.Count == n);
        Debug.Assert(packedB is null || (packedB.K == k && packedB.N == n && !packedB.Transposed));
        Product(a, k, 1, b, n, 1, c, n, m, k, n, accumulate, depths, null, default, false, packedB);
    }

    /// <summary><c>C (+)= A·Bᵀ</c> with A m×k, B n×k, C m×n, all row-major; optionally <c>C = relu(bias + A·Bᵀ)</c>.</summary>
    /// <remarks>
    /// <para><paramref name="depths"/>, optional: for each row j of B (column of Bᵀ), the columns outside which it is zero, so those steps of k are skipped.</para>
    /// <para>The epilogue, applied as the tiles are stored (a dense layer's bias and ReLU without passes of their own):
    /// <paramref name="bias"/> (n values, only without <paramref name="accumulate"/>) starts each row of C, as if C had been
    /// filled with it and accumulated into; <paramref name="relu"/> replaces each final element v by max(v, 0).</para>
    /// <para><paramref name="packedB"/>, optional: Bᵀ already packed (<see cref="PackedB{T}.Pack"/> with the same b, k and n,
    /// transposed); used when packed at this thread's width, else B is packed here as usual.</para>
    /// </remarks>
    public static void MultiplyTransposedB<T>(
        ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate, Bands? depths = null, ReadOnlySpan<T> bias = default, bool relu = false,
        PackedB<T>? packedB = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(m >= 0 && k >= 0 && n >= 0);
        Debug.Assert(a.Length >= m * k && b.Length >= n * k && c.Length >= m * n);
        Debug.Assert(depths is null || depths.Count == n);
        Debug.Assert(bias.IsEmpty || (bias.Length == n && !accumulate));
        Debug.Assert(packedB is null || (packedB.K == k && packedB.N == n && packedB.Transposed));
        Product(a, k, 1, b, 1, k, c, n, m, k, n, accumulate, depths, null, bias, relu, packedB);
    }

    /// <summary><c>C (+)= Aᵀ·B</c> with A k×m, B k×n, C m×n, all row-major.</summary>
    /// <remarks><paramref name="neededColumns"/>, optional: for each row of C, the columns the caller needs; tiles of C
    /// holding none of them are skipped (left as they were, even without <paramref name="accumulate"/>), others are
    /// computed in full.</remarks>
    public static void MultiplyTransposedA<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate, Bands? neededColumns = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(m >= 0 && k >= 0 && n >= 0);
        Debug.Assert(a.Length >= k * m && b.Length >= k * n && c.Length >= m * n);
        Debug.Assert(neededColumns is null || neededColumns.Count == m);
        Product(a, 1, m, b, n, 1, c, n, m, k, n, accumulate, null, neededColumns, default, false, null);
    }

    /// <summary>
    /// <c>C (+)= A·Bᵀ</c> on sub-matrices: A m×k with rows <paramref name="lda"/> apart, B n×k with rows
    /// <paramref name="ldb"/> apart, C m×n with rows <paramref name="ldc"/> apart; the columns of each are contiguous.
    /// </summary>
    /// <remarks>What a sequential MADE pass needs: a block of hidden units computed from a prefix of the layer below.
    /// The epilogue (<paramref name="bias"/>, <paramref name="relu"/>) is that of the contiguous overload.</remarks>
    public static void MultiplyTransposedB<T>(
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, int m, int k, int n, bool accumulate, ReadOnlySpan<T> bias = default, bool relu = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(bias.IsEmpty || (bias.Length == n && !accumulate));
        Debug.Assert(m >= 0 && k >= 0 && n >= 0 && lda >= k && ldb >= k && ldc >= n);
        Debug.Assert((m == 0 || a.Length >= ((m - 1) * lda) + k) && (n == 0 || b.Length >= ((n - 1) * ldb) + k));
        Debug.Assert(m == 0 || c.Length >= ((m - 1) * ldc) + n);
        Product(a, lda, 1, b, 1, ldb, c, ldc, m, k, n, accumulate, null, null, bias, relu, null);
    }

    /// <summary>A logical matrix: element (i, j) is at <c>Origin + i·RowStride + j·ColumnStride</c>.</summary>
    internal readonly ref struct Operand<T>(ref T origin, nint rowStride, nint columnStride)
    {
        public readonly ref T Origin = ref origin;
        public readonly nint RowStride = rowStride;
        public readonly nint ColumnStride = columnStride;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ref T At(nint i, nint j) => ref Unsafe.Add(ref Origin, (i * RowStride) + (j * ColumnStride));
    }

    // A product on this thread, or split by rows among the threads KernelParallelism allows when it is large enough.
    private static void Product<T>(
        ReadOnlySpan<T> a, nint aRowStride, nint aColumnStride, ReadOnlySpan<T> b, nint bRowStride, nint bColumnStride, Span<T> c, int ldc, int m, int k, int n,
        bool accumulate, Bands? depths, Bands? neededColumns, ReadOnlySpan<T> bias, bool relu, PackedB<T>? prepacked)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int degree = KernelParallelism.Degree;
        if (degree > 1 && m >= 2 * SplitRowsMin && (long)m * n * k >= ParallelProductWork && ParallelLoop.HelperAvailable(degree))
        {
            SplitRows<T>.Run(a, aRowStride, aColumnStride, b, bRowStride, bColumnStride, c, ldc, m, k, n, accumulate, depths, neededColumns, bias, relu, prepacked, degree);
            return;
        }

        Run(new Operand<T>(ref MemoryMarshal.GetReference(a), aRowStride, aColumnStride), new Operand<T>(ref MemoryMarshal.GetReference(b), bRowStride, bColumnStride),
            c, ldc, m, k, n, accumulate, depths, neededColumns, bias, relu, prepacked);
    }

    // firstRow: where C's row 0 sits in the whole product (a share of a split one), for the row groups of neededColumns.
    private static void Run<T>(
        Operand<T> a, Operand<T> b, Span<T> c, int ldc, int m, int k, int n, bool accumulate, Bands? depths, Bands? neededColumns, ReadOnlySpan<T> bias, bool relu,
        PackedB<T>? prepacked = null, int firstRow = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0)
        {
            for (int i = 0; i < m; i++)
            {
                Span<T> row = c.Slice(i * ldc, n);
                if (!accumulate)
                {
                    if (bias.IsEmpty)
                    {
                        row.Clear();
                    }
                    else
                    {
                        bias.CopyTo(row);
                    }
                }

                if (relu)
                {
                    TensorPrimitives.Max(row, T.Zero, row);
                }
            }

            return;
        }

        // The width is read once per product: every tile, packed panel and band group of it agrees.
        int bits = VectorWidth.Current;
        int nr = NR<T>(bits);
        int mc = RowBlock<T>(m);
        int nc = NC<T>();
        int kcMax = Math.Min(k, KC);
        int ncMax = RoundUp(Math.Min(n, nc), nr);
        // A is read in place only for small products whose rows of A are short and contiguous (see remarks).
        bool packA = a.ColumnStride != 1 || (long)k * Unsafe.SizeOf<T>() > 2048 || (long)m * k * n > InPlaceALimit;
        bool packB = prepacked is null || prepacked.Bits != bits;
        Span<T> packedB = packB ? Scratch<T>.PackedB(kcMax * ncMax) : default;
        Span<T> packedA = Scratch<T>.PackedA((packA ? RoundUp(Math.Min(m, mc), MR) : MR) * kcMax);
        ref T cOrigin = ref MemoryMarshal.GetReference(c);

        for (int jc = 0; jc < n; jc += nc)
        {
            int ncCur = Math.Min(nc, n - jc);
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                bool add = accumulate || pc > 0;
                ReadOnlySpan<T> blockB = packB ? packedB : prepacked!.Block(jc, pc, kc, ncCur);
                if (packB)
                {
                    PackB(b, pc, jc, kc, ncCur, nr, packedB);
                }

                for (int ic = 0; ic < m; ic += mc)
                {
                    int mcCur = Math.Min(mc, m - ic);
                    if (packA)
                    {
                        PackA(a, ic, pc, mcCur, kc, packedA);
                    }

                    // The bias starts C in the first block of k; ReLU ends it in the last.
                    ref T blockBias = ref add || bias.IsEmpty ? ref Unsafe.NullRef<T>() : ref Unsafe.AsRef(in bias[jc]);
                    var epilogue = new Epilogue<T>(ref blockBias, relu && pc + kc == k);
                    MacroKernel(a, packA, packedA, blockB, ref cOrigin, ldc, new Block(ic, jc, pc, mcCur, ncCur, kc), bits, add, depths, neededColumns, epilogue, firstRow);
                }
            }
        }
    }

    // One block of C (mc × nc) from a packed block of B (kc × nc) and a block of A (mc × kc), packed or in place.
    private static void MacroKernel<T>(
        Operand<T> a, bool packedAReady, Span<T> packedA, ReadOnlySpan<T> packedB, ref T c, int ldc, Block block, int bits, bool add, Bands? depths,
        Bands? neededColumns, Epilogue<T> epilogue, int firstRow)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        (int ic, int jc, int pc, int mc, int nc, int kc) = block;
        int nr = NR<T>(bits);
        ref T pa = ref MemoryMarshal.GetReference(packedA);
        ref T pb = ref MemoryMarshal.GetReference(packedB);
        int fullRows = mc - (mc % MR);

        // A ragged last row panel is packed (zero-padded) unless the whole block already is.
        int tailRows = mc - fullRows;
        ref T tailA = ref Unsafe.Add(ref pa, packedAReady ? fullRows * kc : 0);
        if (tailRows > 0 && !packedAReady)
        {
            PackA(a, ic + fullRows, pc, tailRows, kc, packedA);
        }

        // When the packed B block is small it stays in L2 and each A micro-panel sweeps it with rows of C in order;
        // when it is large, each B micro-panel stays in L1 while the A block (in L2) streams past it.
        bool rowsOuter = (long)kc * RoundUp(nc, nr) * Unsafe.SizeOf<T>() <= SmallPackedBBytes;
        int rowPanels = (mc + MR - 1) / MR;
        int columnPanels = (nc + nr - 1) / nr;
        int outerCount = rowsOuter ? rowPanels : columnPanels;
        int innerCount = rowsOuter ? columnPanels : rowPanels;
        for (int outer = 0; outer < outerCount; outer++)
        {
            for (int inner = 0; inner < innerCount; inner++)
            {
                int ir = (rowsOuter ? outer : inner) * MR;
                int jr = (rowsOuter ? inner : outer) * nr;
                int rows = Math.Min(MR, mc - ir);
                int columns = Math.Min(nr, nc - jr);
                if (neededColumns is not null && !Overlaps(neededColumns.GroupUnion((firstRow + ic + ir) / MR, MR), jc + jr, columns))
                {
                    continue;
                }

                // Steps of k where this tile's columns of B are all zero contribute nothing and are skipped.
                (int k0, int k1) = depths is null ? (0, kc) : Clip(depths.GroupUnion((jc + jr) / nr, nr), pc, kc);
                if (add && k1 <= k0 && !epilogue.Relu)
                {
                    continue;
                }

                int depth = Math.Max(0, k1 - k0);
                ref T microB = ref Unsafe.Add(ref pb, (jr * kc) + (k0 * nr));

                ref T microA = ref tailA;
                nint rsA = 1;
                nint csA = MR;
                if (packedAReady)
                {
                    microA = ref Unsafe.Add(ref pa, ir * kc);
                }
                else if (rows == MR)
                {
                    microA = ref a.At(ic + ir, pc);
                    rsA = a.RowStride;
                    csA = a.ColumnStride;
                }

                microA = ref Unsafe.Add(ref microA, k0 * csA);
                ref T microC = ref Unsafe.Add(ref c, ((nint)(ic + ir) * ldc) + jc + jr);
                Epilogue<T> tileEpilogue = epilogue.At(jr);
                if (rows == MR && columns == nr)
                {
                    MicroKernel(bits, depth, ref microA, rsA, csA, ref microB, ref microC, ldc, add, tileEpilogue);
                }
                else
                {
                    EdgeTile(bits, depth, ref microA, rsA, csA, ref microB, ref microC, ldc, rows, columns, add, tileEpilogue);
                }
            }
        }
    }

    /// <summary>
    /// A product split by rows of C among threads: B packed whole once (or taken prepacked) and shared, each share of
    /// rows (a multiple of MR) run as a product of its own that packs only its rows of A.
    /// </summary>
    /// <remarks>Rows of C are independent and every share reads the same packed B in the same blocks of k, so each
    /// element is the sum it would be on one thread, bit for bit. The operands are pinned for the loop and reached through
    /// pointers (spans cannot travel to other threads); the shares run at the caller's vector width. One instance per
    /// thread (a product never starts another).</remarks>
    private sealed unsafe class SplitRows<T> : IParallelWork
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic]
        private static SplitRows<T>? t_instance;

        // B packed whole here when the caller brings no packing at this width; kept per thread, so it only grows.
        private readonly PackedB<T> _ownPackedB = new();
        private T* _a;
        private nint _aRowStride;
        private nint _aColumnStride;
        private T* _c;
        private T* _bias;
        private int _ldc;
        private int _m;
        private int _k;
        private int _n;
        private int _rowsPerShare;
        private int _bits;
        private bool _accumulate;
        private bool _relu;
        private Bands? _depths;
        private Bands? _neededColumns;
        private PackedB<T>? _packedB;

        public static void Run(
            ReadOnlySpan<T> a, nint aRowStride, nint aColumnStride, ReadOnlySpan<T> b, nint bRowStride, nint bColumnStride, Span<T> c, int ldc, int m, int k,
            int n, bool accumulate, Bands? depths, Bands? neededColumns, ReadOnlySpan<T> bias, bool relu, PackedB<T>? prepacked, int degree)
        {
            SplitRows<T> work = t_instance ??= new SplitRows<T>();
            int bits = VectorWidth.Current;
            PackedB<T> packedB = prepacked is not null && prepacked.Bits == bits ? prepacked : work._ownPackedB;
            if (packedB == work._ownPackedB)
            {
                packedB.PackOperand(new Operand<T>(ref MemoryMarshal.GetReference(b), bRowStride, bColumnStride), k, n);
            }

            // About two shares per thread, so a helper that starts late still takes its part.
            int shares = Math.Min(2 * degree, m / SplitRowsMin);
            fixed (T* pa = a)
            fixed (T* pc = c)
            fixed (T* pBias = bias)
            {
                work._a = pa;
                work._aRowStride = aRowStride;
                work._aColumnStride = aColumnStride;
                work._c = pc;
                work._bias = pBias;
                work._ldc = ldc;
                work._m = m;
                work._k = k;
                work._n = n;
                work._rowsPerShare = RoundUp((m + shares - 1) / shares, MR);
                work._bits = bits;
                work._accumulate = accumulate;
                work._relu = relu;
                work._depths = depths;
                work._neededColumns = neededColumns;
                work._packedB = packedB;
                try
                {
                    ParallelLoop.For(work, (m + work._rowsPerShare - 1) / work._rowsPerShare, degree);
                }
                finally
                {
                    work._depths = null;
                    work._neededColumns = null;
                    work._packedB = null;
                }
            }
        }

        void IParallelWork.Run(int index, int worker)
        {
            int first = index * _rowsPerShare;
            int rows = Math.Min(_rowsPerShare, _m - first);
            using VectorWidth.Scope width = VectorWidth.Force(_bits);
            var a = new Operand<T>(ref Unsafe.AsRef<T>(_a + (first * _aRowStride)), _aRowStride, _aColumnStride);
            // B is packed at this width, so a share never reads the operand itself.
            Debug.Assert(_packedB!.Bits == _bits);
            var b = new Operand<T>(ref Unsafe.NullRef<T>(), 0, 0);
            Span<T> c = new(_c + ((nint)first * _ldc), ((rows - 1) * _ldc) + _n);
            ReadOnlySpan<T> bias = _bias is null ? default : new ReadOnlySpan<T>(_bias, _n);
            Gemm.Run(a, b, c, _ldc, rows, _k, _n, _accumulate, _depths, _neededColumns, bias, _relu, _packedB, first);
        }
    }

    // A ragged tile: the micro-kernel writes a full tile to the stack and only the valid part reaches C.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void EdgeTile<T>(int bits, int kc, ref T a, nint rsA, nint csA, ref T b, ref T c, int ldc, int rows, int columns, bool add, Epilogue<T> epilogue)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int nr = NR<T>(bits);
        Span<T> tile = stackalloc T[MR * 2 * Vector512<T>.Count];
        ref T t = ref MemoryMarshal.GetReference(tile);
        MicroKernel(bits, kc, ref a, rsA, csA, ref b, ref t, nr, add: false, default);
        bool hasBias = epilogue.HasBias;
        for (int r = 0; r < rows; r++)
        {
            ref T cRow = ref Unsafe.Add(ref c, (nint)r * ldc);
            ref T tRow = ref Unsafe.Add(ref t, r * nr);
            for (int j = 0; j < columns; j++)
            {
                T value = Unsafe.Add(ref tRow, j);
                if (add)
                {
                    value = Unsafe.Add(ref cRow, j) + value;
                }
                else if (hasBias)
                {
                    value += Unsafe.Add(ref epilogue.Bias, j);
                }

                Unsafe.Add(ref cRow, j) = epilogue.Relu ? T.Max(value, T.Zero) : value;
            }
        }
    }

    // Row block: at most 264 KiB of packed A (KC = 256 deep), about half of a 512 KiB L2, the smallest of the machines
    // we run on; and large enough that a data-parallel block of 128 rows is one block.
    // A multiple of MR, so the tiles of every block line up with the bands' groups (Bands.GroupUnion).
    private static int MC<T>() => Unsafe.SizeOf<T>() == 8 ? 132 : 264;

    // The rows of C cut into the fewest blocks of at most MC rows, of nearly equal size (rounded up to MR): no small
    // last block that sweeps all of B again for a few rows (m = 140 is 72 + 68, not 132 + 8). Rows are independent,
    // so the cut changes no bit.
    internal static int RowBlock<T>(int m)
    {
        int mc = MC<T>();
        int blocks = (m + mc - 1) / mc;
        return Math.Min(mc, RoundUp((m + blocks - 1) / blocks, MR));
    }

    // Column block: a multiple of NR for both element types and every width (127 tiles of 32 floats); a packed B block
    // of KC × NC sits in L3.
    private static int NC<T>() => 4064;

    private static bool Overlaps((int Start, int End) range, int first, int count) => range.Start < first + count && range.End > first;

    // A range of k, as local steps of the block [pc, pc + kc).
    private static (int Start, int End) Clip((int Start, int End) range, int pc, int kc)
        => (Math.Clamp(range.Start - pc, 0, kc), Math.Clamp(range.End - pc, 0, kc));

    /// <summary>What storing a tile applies: <see cref="Bias"/> (a null reference for none) added to the fresh product, then
    /// ReLU if <see cref="Relu"/>.</summary>
    private readonly ref struct Epilogue<T>(ref T bias, bool relu)
    {
        public readonly ref T Bias = ref bias;
        public readonly bool Relu = relu;

        public bool HasBias => !Unsafe.IsNullRef(ref Bias);

        /// <summary>The epilogue of the tile whose columns start <paramref name="offset"/> columns further.</summary>
        public Epilogue<T> At(int offset) => new(ref HasBias ? ref Unsafe.Add(ref Bias, offset) : ref Bias, Relu);
    }

    /// <summary>The block of C (rows ic.., columns jc..) and of k (pc..) one macro-kernel call covers.</summary>
    private readonly record struct Block(int Ic, int Jc, int Pc, int Mc, int Nc, int Kc);

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>Per-thread packing buffers that only grow, so steady-state products allocate nothing.</summary>
    private static class Scratch<T>
        where T : unmanaged
    {
        [ThreadStatic]
        private static T[]? _packedA;

        [ThreadStatic]
        private static T[]? _packedB;

        public static Span<T> PackedA(int length) => Ensure(ref _packedA, length);

        public static Span<T> PackedB(int length) => Ensure(ref _packedB, length);

        private static Span<T> Ensure(ref T[]? buffer, int length)
        {
            if (buffer is null || buffer.Length < length)
            {
                buffer = GC.AllocateUninitializedArray<T>(Math.Max(length, 2 * (buffer?.Length ?? 0)));
            }

            return buffer.AsSpan(0, length);
        }
    }
}
