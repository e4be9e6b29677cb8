using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

internal static partial class Gemm
{
    /// <summary>Rows per panel of a lane-major matrix at a width of <paramref name="bits"/>: two vectors' lanes (16 doubles
    /// or 32 floats at 512 bits).</summary>
    /// <remarks>A lane-major matrix of r rows × w columns is stored in panels of L rows, each w·L values, k-major: element
    /// (i, p) is at (i / L)·w·L + p·L + i mod L. The rows of a panel past r are padding that the caller keeps finite.</remarks>
    internal static int Lanes<T>(int bits) => 2 * (bits == 512 ? Vector512<T>.Count : bits == 256 ? Vector256<T>.Count : Vector128<T>.Count);

    /// <summary>Where element (<paramref name="i"/>, <paramref name="p"/>) of a lane-major matrix <paramref name="columns"/>
    /// wide lies (see <see cref="Lanes{T}"/>).</summary>
    internal static int LaneIndex(int i, int p, int columns, int lanes) => (i / lanes * columns * lanes) + (p * lanes) + (i % lanes);

    /// <summary>
    /// Columns [<paramref name="first"/>, first + n) of a lane-major C = relu(bias + A·Bᵀ), with A m × k lane-major and
    /// panels <paramref name="aWidth"/> columns wide, B n × k row-major with rows <paramref name="ldb"/> apart, and C lane-major
    /// with panels <paramref name="cWidth"/> columns wide: the product of a narrow output (a sequential MADE pass's units of one
    /// degree, or one feature's parameters), where a row-major tile of 16 or 32 columns would mostly hold columns C lacks.
    /// </summary>
    /// <remarks>Each element is the sum <see cref="MultiplyTransposedB{T}(ReadOnlySpan{T}, int, ReadOnlySpan{T}, int, Span{T}, int, int, int, int, bool, ReadOnlySpan{T}, bool)"/>
    /// forms, in the same order and with the same operations at the same <paramref name="bits"/>: multiply-adds over k from
    /// zero in blocks of KC, the first block's sum plus the bias, each later block's added to it, ReLU last. So the same
    /// inputs give the same bits in either layout. Here the rows of a tile are the lanes of two vectors and each step of k
    /// broadcasts one weight per column: up to 6 columns of 2 vectors per tile, none of them padding.</remarks>
    public static void MultiplyTransposedBLanes<T>(
        ReadOnlySpan<T> a, int aWidth, ReadOnlySpan<T> b, int ldb, Span<T> c, int cWidth, int first, int m, int k, int n, ReadOnlySpan<T> bias, bool relu, int bits)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lanes = Lanes<T>(bits);
        int panels = (m + lanes - 1) / lanes;
        Debug.Assert(bias.IsEmpty || bias.Length == n);
        Debug.Assert(k <= aWidth && first + n <= cWidth && a.Length >= panels * aWidth * lanes && c.Length >= panels * cWidth * lanes);
        Debug.Assert(n == 0 || b.Length >= ((n - 1) * ldb) + k);
        ref T bias0 = ref bias.IsEmpty ? ref Unsafe.NullRef<T>() : ref MemoryMarshal.GetReference(bias);
        for (int panel = 0; panel < panels; panel++)
        {
            ref T aPanel = ref Unsafe.Add(ref MemoryMarshal.GetReference(a), panel * aWidth * lanes);
            ref T cPanel = ref Unsafe.Add(ref MemoryMarshal.GetReference(c), ((panel * cWidth) + first) * lanes);
            for (int j = 0; j < n; j += 6)
            {
                ref T bRows = ref Unsafe.Add(ref MemoryMarshal.GetReference(b), j * ldb);
                ref T cTile = ref Unsafe.Add(ref cPanel, j * lanes);
                ref T biasTile = ref bias.IsEmpty ? ref bias0 : ref Unsafe.Add(ref bias0, j);
                switch (Math.Min(6, n - j))
                {
                    case 6: LaneTile<T, Columns6>(bits, ref aPanel, k, ref bRows, ldb, ref cTile, ref biasTile, relu); break;
                    case 5: LaneTile<T, Columns5>(bits, ref aPanel, k, ref bRows, ldb, ref cTile, ref biasTile, relu); break;
                    case 4: LaneTile<T, Columns4>(bits, ref aPanel, k, ref bRows, ldb, ref cTile, ref biasTile, relu); break;
                    case 3: LaneTile<T, Columns3>(bits, ref aPanel, k, ref bRows, ldb, ref cTile, ref biasTile, relu); break;
                    case 2: LaneTile<T, Columns2>(bits, ref aPanel, k, ref bRows, ldb, ref cTile, ref biasTile, relu); break;
                    default: LaneTile<T, Columns1>(bits, ref aPanel, k, ref bRows, ldb, ref cTile, ref biasTile, relu); break;
                }
            }
        }
    }

    /// <summary>Copies rows × columns of a row-major matrix (rows <paramref name="ld"/> apart) into a lane-major one of the same
    /// width, padding rows zero.</summary>
    public static void ToLanes<T>(ReadOnlySpan<T> source, int ld, int rows, int columns, Span<T> destination, int lanes)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int panels = (rows + lanes - 1) / lanes;
        destination[..(panels * columns * lanes)].Clear();
        for (int i = 0; i < rows; i++)
        {
            for (int p = 0; p < columns; p++)
            {
                destination[LaneIndex(i, p, columns, lanes)] = source[(i * ld) + p];
            }
        }
    }

    /// <summary>Copies the first <paramref name="rows"/> rows of a lane-major matrix into a row-major one of the same width.</summary>
    public static void FromLanes<T>(ReadOnlySpan<T> source, int rows, int columns, Span<T> destination, int lanes)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < rows; i++)
        {
            for (int p = 0; p < columns; p++)
            {
                destination[(i * columns) + p] = source[LaneIndex(i, p, columns, lanes)];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LaneTile<T, TColumns>(int bits, ref T a, int k, ref T b, nint ldb, ref T c, ref T bias, bool relu)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TColumns : IColumnCount
    {
        if (bits == 512)
        {
            LaneTile<T, Vector512<T>, Width512<T>, TColumns>(ref a, k, ref b, ldb, ref c, ref bias, relu);
        }
        else if (bits == 256)
        {
            LaneTile<T, Vector256<T>, Width256<T>, TColumns>(ref a, k, ref b, ldb, ref c, ref bias, relu);
        }
        else
        {
            LaneTile<T, Vector128<T>, Width128<T>, TColumns>(ref a, k, ref b, ldb, ref c, ref bias, relu);
        }
    }

    // One panel of rows (two vectors' lanes) × TColumns columns: 2 loads of A and one broadcast of B per column at each
    // step of k; at most 12 accumulators, as the row-major micro-kernel. The sums run from zero over blocks of KC steps
    // and are stored as that kernel stores them (see MultiplyTransposedBLanes): the first block's sum plus the bias, each
    // later block's added to what C holds, ReLU at the last.
    private static void LaneTile<T, TVector, TWidth, TColumns>(ref T a, int k, ref T b, nint ldb, ref T c, ref T bias, bool relu)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVector : unmanaged
        where TWidth : IVectorWidth<TVector, T>
        where TColumns : IColumnCount
    {
        int columns = TColumns.Value;
        nuint w = (nuint)TWidth.Count;
        nint lanes = 2 * TWidth.Count;
        if (k == 0)
        {
            // As Gemm's k = 0: C is the bias itself (or zero), then ReLU.
            for (int j = 0; j < columns; j++)
            {
                TVector value = Unsafe.IsNullRef(ref bias) ? default : TWidth.Broadcast(Unsafe.Add(ref bias, j));
                Store<T, TVector, TWidth>(value, value, ref Unsafe.Add(ref c, j * lanes), w, add: false, relu);
            }

            return;
        }

        for (int p0 = 0; p0 < k; p0 += KC)
        {
            int p1 = Math.Min(k, p0 + KC);
            TVector c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
            TVector c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
            ref T ap = ref Unsafe.Add(ref a, p0 * lanes);
            for (int p = p0; p < p1; p++)
            {
                TVector a0 = TWidth.Load(ref ap, 0);
                TVector a1 = TWidth.Load(ref ap, w);
                TVector bj = TWidth.Broadcast(Unsafe.Add(ref b, p));
                c00 = TWidth.MultiplyAdd(a0, bj, c00);
                c01 = TWidth.MultiplyAdd(a1, bj, c01);
                if (columns > 1)
                {
                    bj = TWidth.Broadcast(Unsafe.Add(ref b, ldb + p));
                    c10 = TWidth.MultiplyAdd(a0, bj, c10);
                    c11 = TWidth.MultiplyAdd(a1, bj, c11);
                }

                if (columns > 2)
                {
                    bj = TWidth.Broadcast(Unsafe.Add(ref b, (2 * ldb) + p));
                    c20 = TWidth.MultiplyAdd(a0, bj, c20);
                    c21 = TWidth.MultiplyAdd(a1, bj, c21);
                }

                if (columns > 3)
                {
                    bj = TWidth.Broadcast(Unsafe.Add(ref b, (3 * ldb) + p));
                    c30 = TWidth.MultiplyAdd(a0, bj, c30);
                    c31 = TWidth.MultiplyAdd(a1, bj, c31);
                }

                if (columns > 4)
                {
                    bj = TWidth.Broadcast(Unsafe.Add(ref b, (4 * ldb) + p));
                    c40 = TWidth.MultiplyAdd(a0, bj, c40);
                    c41 = TWidth.MultiplyAdd(a1, bj, c41);
                }

                if (columns > 5)
                {
                    bj = TWidth.Broadcast(Unsafe.Add(ref b, (5 * ldb) + p));
                    c50 = TWidth.MultiplyAdd(a0, bj, c50);
                    c51 = TWidth.MultiplyAdd(a1, bj, c51);
                }

                ap = ref Unsafe.Add(ref ap, lanes);
            }

            bool add = p0 > 0;
            bool last = p1 == k && relu;
            bool hasBias = !add && !Unsafe.IsNullRef(ref bias);
            StoreColumn<T, TVector, TWidth>(c00, c01, ref Unsafe.Add(ref c, 0 * lanes), ref bias, 0, hasBias, add, last);
            if (columns > 1)
            {
                StoreColumn<T, TVector, TWidth>(c10, c11, ref Unsafe.Add(ref c, 1 * lanes), ref bias, 1, hasBias, add, last);
            }

            if (columns > 2)
            {
                StoreColumn<T, TVector, TWidth>(c20, c21, ref Unsafe.Add(ref c, 2 * lanes), ref bias, 2, hasBias, add, last);
            }

            if (columns > 3)
            {
                StoreColumn<T, TVector, TWidth>(c30, c31, ref Unsafe.Add(ref c, 3 * lanes), ref bias, 3, hasBias, add, last);
            }

            if (columns > 4)
            {
                StoreColumn<T, TVector, TWidth>(c40, c41, ref Unsafe.Add(ref c, 4 * lanes), ref bias, 4, hasBias, add, last);
            }

            if (columns > 5)
            {
                StoreColumn<T, TVector, TWidth>(c50, c51, ref Unsafe.Add(ref c, 5 * lanes), ref bias, 5, hasBias, add, last);
            }
        }
    }

    // Column j of a tile: the bias (first block only), then the store.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreColumn<T, TVector, TWidth>(TVector left, TVector right, ref T c, ref T bias, int j, bool hasBias, bool add, bool relu)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVector : unmanaged
        where TWidth : IVectorWidth<TVector, T>
    {
        if (hasBias)
        {
            TVector value = TWidth.Broadcast(Unsafe.Add(ref bias, j));
            left = TWidth.Add(left, value);
            right = TWidth.Add(right, value);
        }

        Store<T, TVector, TWidth>(left, right, ref c, (nuint)TWidth.Count, add, relu);
    }

    /// <summary>Columns of a lane tile, a constant the JIT folds into each instantiation.</summary>
    private interface IColumnCount
    {
        static abstract int Value { get; }
    }

    private readonly struct Columns1 : IColumnCount { public static int Value => 1; }

    private readonly struct Columns2 : IColumnCount { public static int Value => 2; }

    private readonly struct Columns3 : IColumnCount { public static int Value => 3; }

    private readonly struct Columns4 : IColumnCount { public static int Value => 4; }

    private readonly struct Columns5 : IColumnCount { public static int Value => 5; }

    private readonly struct Columns6 : IColumnCount { public static int Value => 6; }
}
