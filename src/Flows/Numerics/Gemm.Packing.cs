using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
}
