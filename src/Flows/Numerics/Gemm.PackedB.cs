using System.Numerics;
using System.Runtime.InteropServices;

namespace Flows.Numerics;

internal static partial class Gemm
{
    /// <summary>
    /// A matrix B packed whole, in the blocks and micro-panels the driver reads, at one vector width: a weight that many
    /// products read between two updates (the blocks of a data-parallel step) is packed once instead of once per product.
    /// </summary>
    /// <remarks>Blocks are stored in the driver's order, column block by column block and, within one, block of k by
    /// block of k, each as the driver's own packing would leave it; so a product reading them does exactly what it would
    /// after packing B itself, and gives the same bits.</remarks>
    internal sealed class PackedB<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private T[] _values = [];

        /// <summary>The vector width it was packed at: a product at another width packs B itself.</summary>
        public int Bits { get; private set; }

        /// <summary>Rows of B (the depth of the product).</summary>
        public int K { get; private set; }

        /// <summary>Columns of B.</summary>
        public int N { get; private set; }

        /// <summary>Whether B was given transposed (n × k), as <see cref="MultiplyTransposedB{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, int, int, int, bool, Bands?, ReadOnlySpan{T}, bool, PackedB{T}?)"/> takes it.</summary>
        public bool Transposed { get; private set; }

        /// <summary>Packs B, k × n row-major, or given as Bᵀ (n × k row-major) when <paramref name="transposed"/>, at this
        /// thread's vector width, reusing the buffer of an earlier packing.</summary>
        public void Pack(ReadOnlySpan<T> b, int k, int n, bool transposed)
        {
            var operand = transposed
                ? new Operand<T>(ref MemoryMarshal.GetReference(b), 1, k)
                : new Operand<T>(ref MemoryMarshal.GetReference(b), n, 1);
            PackOperand(operand, k, n);
            Transposed = transposed;
        }

        /// <summary>Packs B, k × n as <paramref name="b"/> lays it out, at this thread's vector width (a split product's
        /// shared B; <see cref="Transposed"/> is then false, whatever the strides).</summary>
        internal void PackOperand(Operand<T> b, int k, int n)
        {
            int bits = VectorWidth.Current;
            int nr = NR<T>(bits);
            int nc = NC<T>();
            int length = n == 0 ? 0 : Offset(RoundDown(n - 1, nc), k, k, Math.Min(nc, n - RoundDown(n - 1, nc)), nr);
            if (_values.Length < length)
            {
                _values = GC.AllocateUninitializedArray<T>(length);
            }

            for (int jc = 0; jc < n; jc += nc)
            {
                int ncCur = Math.Min(nc, n - jc);
                for (int pc = 0; pc < k; pc += KC)
                {
                    int kc = Math.Min(KC, k - pc);
                    PackB(b, pc, jc, kc, ncCur, nr, _values.AsSpan(Offset(jc, pc, k, ncCur, nr), kc * RoundUp(ncCur, nr)));
                }
            }

            Bits = bits;
            K = k;
            N = n;
            Transposed = false;
        }

        /// <summary>The packed block of rows pc..pc+kc and columns jc..jc+ncCur.</summary>
        internal ReadOnlySpan<T> Block(int jc, int pc, int kc, int ncCur)
        {
            int nr = NR<T>(Bits);
            return _values.AsSpan(Offset(jc, pc, K, ncCur, nr), kc * RoundUp(ncCur, nr));
        }

        // Every column block before jc is NC wide (a multiple of NR at every width) and k deep; within jc's block, every
        // block of k before pc is KC deep.
        private static int Offset(int jc, int pc, int k, int ncCur, int nr) => (jc * k) + (pc * RoundUp(ncCur, nr));

        private static int RoundDown(int value, int multiple) => value / multiple * multiple;
    }
}
