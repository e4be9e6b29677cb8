using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

internal static partial class SylvesterOps
{
    /// <summary>
    /// The first <paramref name="columnCount"/> columns of the orthogonal matrix <c>H₁H₂⋯H_K</c>, a product of
    /// Householder reflections <c>H_k = I − 2 v_k v_kᵀ/‖v_k‖²</c> with the rows v_k of <paramref name="vectors"/>.
    /// </summary>
    /// <remarks>A zero vector (‖v‖² = 0) is taken as no reflection (H = I, zero gradient) rather than NaN.</remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="vectors">K × D, one reflection vector per row; or <paramref name="blockCount"/> such sets stacked,
    /// (blockCount·K) × D, each giving its own product (one Q per row of an amortized flow).</param>
    /// <param name="columnCount">M. Range: 1 to D.</param>
    /// <param name="blockCount">The number of stacked sets. Range: &gt; 0, dividing the rows; or 0 with no rows.</param>
    /// <returns>A D × M node with orthonormal columns (to rounding); or the blocks' (blockCount·D) × M, stacked likewise.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="columnCount"/> is out of range, or <paramref name="blockCount"/> negative.</exception>
    /// <exception cref="ArgumentException">The rows are not a whole number of blocks.</exception>
    public static Node<T> HouseholderProduct<T>(this Tape<T> tape, Node<T> vectors, int columnCount, int blockCount = 1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(vectors);
        int d = vectors.Columns;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columnCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(columnCount, d);
        ArgumentOutOfRangeException.ThrowIfNegative(blockCount);
        if (blockCount == 0 && vectors.Rows == 0)
        {
            return tape.Allocate(0, columnCount); // an empty batch's per-row Q
        }

        if (blockCount == 0 || vectors.Rows % blockCount != 0)
        {
            throw new ArgumentException($"vectors has {vectors.Rows} rows, which is not a whole number of {blockCount} blocks.", nameof(vectors));
        }

        int count = vectors.Rows / blockCount;
        int m = columnCount;
        Node<T> q = tape.Allocate(blockCount * d, m);
        // Per block: the input of each reflection, and a backward scratch row.
        Node<T> saved = tape.Allocate(blockCount * (count + 1), d * m);
        for (int block = 0; block < blockCount; block++)
        {
            Span<T> x = q.Values.Slice(block * d * m, d * m);
            Span<T> inputs = saved.Values.Slice(block * (count + 1) * d * m, (count + 1) * d * m);
            ReadOnlySpan<T> v = vectors.Values.Slice(block * count * d, count * d);
            x.Clear();
            for (int j = 0; j < m; j++)
            {
                x[(j * m) + j] = T.One;
            }

            for (int k = count - 1; k >= 0; k--)
            {
                x.CopyTo(inputs.Slice(k * d * m, d * m));
                Reflect(v.Slice(k * d, d), x, m);
            }
        }

        tape.Record(HouseholderProductBackward<T>.Instance, q, vectors, saved: saved, flag: blockCount);
        return q;
    }

    // X ← X − 2 v (vᵀX)/‖v‖², X being D × M row-major.
    private static void Reflect<T>(ReadOnlySpan<T> v, Span<T> x, int m) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = v.Length;
        T n = SmallMatrix.Dot(v, v);
        if (n == T.Zero)
        {
            return;
        }

        T factor = T.CreateTruncating(2) / n;
        for (int j = 0; j < m; j++)
        {
            T sum = T.Zero;
            for (int k = 0; k < d; k++)
            {
                sum += v[k] * x[(k * m) + j];
            }

            sum *= factor;
            for (int k = 0; k < d; k++)
            {
                x[(k * m) + j] -= v[k] * sum;
            }
        }
    }

    private static class HouseholderProductBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Y = X − 2v(vᵀX)/n, n = vᵀv, with w = Xᵀv: gX = H G (H symmetric), and
        // gv = −(2/n)(G w + X Gᵀv) + (4/n²)(vᵀG w) v. Replayed from H₁ (applied last) to H_K.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> vectors = e.Input0;
            if (!vectors.RequiresGradient)
            {
                return;
            }

            int blockCount = e.Flag;
            int d = vectors.Columns;
            int count = vectors.Rows / blockCount;
            int m = e.Output.Columns;
            for (int block = 0; block < blockCount; block++)
            {
                Block(vectors.Values.Slice(block * count * d, count * d), vectors.Gradients.Slice(block * count * d, count * d),
                    e.Saved!.Values.Slice(block * (count + 1) * d * m, (count + 1) * d * m), e.Output.Gradients.Slice(block * d * m, d * m), count, d, m);
            }
        }

        private static void Block(ReadOnlySpan<T> vectors, Span<T> gradients, Span<T> saved, ReadOnlySpan<T> outputGradient, int count, int d, int m)
        {
            Span<T> g = saved.Slice(count * d * m, d * m);
            outputGradient.CopyTo(g);
            Span<T> w = m <= 128 ? stackalloc T[m] : new T[m];
            Span<T> gtv = m <= 128 ? stackalloc T[m] : new T[m];
            T two = T.CreateTruncating(2);
            for (int k = 0; k < count; k++)
            {
                ReadOnlySpan<T> v = vectors.Slice(k * d, d);
                ReadOnlySpan<T> x = saved.Slice(k * d * m, d * m);
                T n = SmallMatrix.Dot(v, v);
                if (n == T.Zero)
                {
                    continue;
                }

                T vgw = T.Zero;
                for (int j = 0; j < m; j++)
                {
                    T sw = T.Zero;
                    T sg = T.Zero;
                    for (int l = 0; l < d; l++)
                    {
                        sw += x[(l * m) + j] * v[l];
                        sg += g[(l * m) + j] * v[l];
                    }

                    w[j] = sw;
                    gtv[j] = sg;
                    vgw += sg * sw;
                }

                Span<T> gv = gradients.Slice(k * d, d);
                for (int l = 0; l < d; l++)
                {
                    T sum = T.Zero;
                    for (int j = 0; j < m; j++)
                    {
                        sum += (g[(l * m) + j] * w[j]) + (x[(l * m) + j] * gtv[j]);
                    }

                    gv[l] += (-two / n * sum) + (two * two / (n * n) * vgw * v[l]);
                }

                Reflect(v, g, m);
            }
        }
    }
}
