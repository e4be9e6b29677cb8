using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Flows.Numerics;

internal static partial class Gemm
{
    // Packs rows pc..pc+kc and columns jc..jc+nc of B into micro-panels of kc × NR, each row of a panel contiguous,
    // columns past nc zero. Panel jr starts at jr·kc.
    private static void PackB<T>(Operand<T> b, int pc, int jc, int kc, int nc, int nr, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool wide = nr == 2 * Vector512<T>.Count;
        int half = nr / 2;
        ref T d = ref MemoryMarshal.GetReference(destination);
        for (int jr = 0; jr < nc; jr += nr)
        {
            int columns = Math.Min(nr, nc - jr);
            ref T panel = ref Unsafe.Add(ref d, jr * kc);
            ref T source = ref b.At(pc, jc + jr);
            if (b.ColumnStride == 1 && columns == nr)
            {
                // Rows of B are contiguous: two vector copies per row.
                for (int p = 0; p < kc; p++)
                {
                    ref T row = ref Unsafe.Add(ref source, p * b.RowStride);
                    ref T target = ref Unsafe.Add(ref panel, p * nr);
                    if (wide)
                    {
                        Vector512.LoadUnsafe(ref row).StoreUnsafe(ref target);
                        Vector512.LoadUnsafe(ref row, (nuint)half).StoreUnsafe(ref target, (nuint)half);
                    }
                    else
                    {
                        Vector256.LoadUnsafe(ref row).StoreUnsafe(ref target);
                        Vector256.LoadUnsafe(ref row, (nuint)half).StoreUnsafe(ref target, (nuint)half);
                    }
                }

                continue;
            }

            if (b.RowStride == 1 && columns == nr && Avx.IsSupported)
            {
                PackTransposedPanel(ref source, b.ColumnStride, kc, nr, ref panel);
                continue;
            }

            if (columns < nr)
            {
                destination.Slice(jr * kc, kc * nr).Clear();
            }

            // Columns of B are walked one at a time, reading along k (contiguous when B is stored transposed).
            for (int j = 0; j < columns; j++)
            {
                ref T column = ref Unsafe.Add(ref source, j * b.ColumnStride);
                ref T target = ref Unsafe.Add(ref panel, j);
                for (int p = 0; p < kc; p++)
                {
                    Unsafe.Add(ref target, p * nr) = Unsafe.Add(ref column, p * b.RowStride);
                }
            }
        }
    }

    // Packs rows ic..ic+mc and columns pc..pc+kc of A into micro-panels of MR × kc stored column by column
    // (MR values per step of k), rows past mc zero. Panel ir starts at ir·kc.
    private static void PackA<T>(Operand<T> a, int ic, int pc, int mc, int kc, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T d = ref MemoryMarshal.GetReference(destination);
        for (int ir = 0; ir < mc; ir += MR)
        {
            int rows = Math.Min(MR, mc - ir);
            ref T panel = ref Unsafe.Add(ref d, ir * kc);
            ref T source = ref a.At(ic + ir, pc);
            if (rows < MR)
            {
                destination.Slice(ir * kc, kc * MR).Clear();
            }

            if (a.RowStride == 1 && rows == MR)
            {
                // A is stored transposed: the MR values of one step of k are contiguous.
                for (int p = 0; p < kc; p++)
                {
                    ref T column = ref Unsafe.Add(ref source, p * a.ColumnStride);
                    ref T target = ref Unsafe.Add(ref panel, p * MR);
                    target = column;
                    Unsafe.Add(ref target, 1) = Unsafe.Add(ref column, 1);
                    Unsafe.Add(ref target, 2) = Unsafe.Add(ref column, 2);
                    Unsafe.Add(ref target, 3) = Unsafe.Add(ref column, 3);
                    Unsafe.Add(ref target, 4) = Unsafe.Add(ref column, 4);
                    Unsafe.Add(ref target, 5) = Unsafe.Add(ref column, 5);
                }

                continue;
            }

            if (a.RowStride == 1)
            {
                for (int p = 0; p < kc; p++)
                {
                    ref T column = ref Unsafe.Add(ref source, p * a.ColumnStride);
                    ref T target = ref Unsafe.Add(ref panel, p * MR);
                    for (int r = 0; r < rows; r++)
                    {
                        Unsafe.Add(ref target, r) = Unsafe.Add(ref column, r);
                    }
                }

                continue;
            }

            for (int r = 0; r < rows; r++)
            {
                ref T row = ref Unsafe.Add(ref source, r * a.RowStride);
                ref T target = ref Unsafe.Add(ref panel, r);
                for (int p = 0; p < kc; p++)
                {
                    Unsafe.Add(ref target, p * MR) = Unsafe.Add(ref row, p * a.ColumnStride);
                }
            }
        }
    }

    // A full panel of B stored transposed (a dense layer's weights: column j of B is contiguous along k, columns
    // columnStride apart). Square blocks of columns × steps of k are transposed in registers, so that reads and writes
    // are whole vectors (walking a column at a time wrote one element per cache line of the panel). Only data moves, so
    // the packed values are the same bits either way.
    private static void PackTransposedPanel<T>(ref T source, nint columnStride, int kc, int nr, ref T panel)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int block = 32 / Unsafe.SizeOf<T>(); // 4 doubles or 8 floats: one 256-bit vector
        int p = 0;
        for (; p <= kc - block; p += block)
        {
            for (int j = 0; j < nr; j += block)
            {
                ref T from = ref Unsafe.Add(ref source, (j * columnStride) + p);
                ref T to = ref Unsafe.Add(ref panel, (p * nr) + j);
                if (typeof(T) == typeof(double))
                {
                    Transpose4(ref Unsafe.As<T, double>(ref from), columnStride, ref Unsafe.As<T, double>(ref to), nr);
                }
                else
                {
                    Debug.Assert(typeof(T) == typeof(float), "The GEMM runs double and float only.");
                    Transpose8(ref Unsafe.As<T, float>(ref from), columnStride, ref Unsafe.As<T, float>(ref to), nr);
                }
            }
        }

        for (; p < kc; p++)
        {
            for (int j = 0; j < nr; j++)
            {
                Unsafe.Add(ref panel, (p * nr) + j) = Unsafe.Add(ref source, (j * columnStride) + p);
            }
        }
    }

    // Rows i = 0..3 of a 4 × 4 block (rows stride apart) become its columns, written as rows ldTo apart.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4(ref double from, nint stride, ref double to, int ldTo)
    {
        Vector256<double> r0 = Vector256.LoadUnsafe(ref from);
        Vector256<double> r1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, stride));
        Vector256<double> r2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 2 * stride));
        Vector256<double> r3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 3 * stride));
        Vector256<double> t0 = Avx.UnpackLow(r0, r1); // r0[0] r1[0] r0[2] r1[2]
        Vector256<double> t1 = Avx.UnpackHigh(r0, r1); // r0[1] r1[1] r0[3] r1[3]
        Vector256<double> t2 = Avx.UnpackLow(r2, r3);
        Vector256<double> t3 = Avx.UnpackHigh(r2, r3);
        nuint ld = (nuint)ldTo;
        Avx.Permute2x128(t0, t2, 0x20).StoreUnsafe(ref to);
        Avx.Permute2x128(t1, t3, 0x20).StoreUnsafe(ref to, ld);
        Avx.Permute2x128(t0, t2, 0x31).StoreUnsafe(ref to, 2 * ld);
        Avx.Permute2x128(t1, t3, 0x31).StoreUnsafe(ref to, 3 * ld);
    }

    // The 8 × 8 float form of Transpose4: pairs interleaved, then quadruples, then 128-bit halves swapped.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(ref float from, nint stride, ref float to, int ldTo)
    {
        Vector256<float> r0 = Vector256.LoadUnsafe(ref from);
        Vector256<float> r1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, stride));
        Vector256<float> r2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 2 * stride));
        Vector256<float> r3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 3 * stride));
        Vector256<float> r4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 4 * stride));
        Vector256<float> r5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 5 * stride));
        Vector256<float> r6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 6 * stride));
        Vector256<float> r7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 7 * stride));
        Vector256<float> t0 = Avx.UnpackLow(r0, r1);
        Vector256<float> t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3);
        Vector256<float> t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5);
        Vector256<float> t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7);
        Vector256<float> t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44); // columns 0 | 4 of rows 0-3
        Vector256<float> u1 = Avx.Shuffle(t0, t2, 0xEE); // columns 1 | 5
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44); // columns 2 | 6
        Vector256<float> u3 = Avx.Shuffle(t1, t3, 0xEE); // columns 3 | 7
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44);
        Vector256<float> u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44);
        Vector256<float> u7 = Avx.Shuffle(t5, t7, 0xEE);
        nuint ld = (nuint)ldTo;
        Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref to);
        Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref to, ld);
        Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref to, 2 * ld);
        Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref to, 3 * ld);
        Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref to, 4 * ld);
        Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref to, 5 * ld);
        Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref to, 6 * ld);
        Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref to, 7 * ld);
    }
}
