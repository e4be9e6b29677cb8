using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

internal static class TriangularOps
{
    /// <summary>
    /// Builds a d × d lower-triangular matrix L with positive diagonal from d(d+1)/2 unconstrained values, packed row
    /// by row (entry (i, j), j ≤ i, at i(i+1)/2 + j): <c>Lᵢⱼ = packedᵢⱼ</c> below the diagonal, <c>Lᵢᵢ = exp(packedᵢᵢ)</c>.
    /// </summary>
    /// <remarks>All-zero values give the identity.</remarks>
    /// <exception cref="ArgumentException"><paramref name="packed"/> does not hold d(d+1)/2 values.</exception>
    public static Node<T> LowerTriangularFromPacked<T>(this Tape<T> tape, Node<T> packed, int dimension)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(packed);
        if (packed.Length != dimension * (dimension + 1) / 2)
        {
            throw new ArgumentException($"packed has {packed.Length} values; a {dimension} × {dimension} triangle needs {dimension * (dimension + 1) / 2}.", nameof(packed));
        }

        Node<T> l = tape.Allocate(dimension, dimension);
        Span<T> values = l.Values;
        values.Clear();
        ReadOnlySpan<T> p = packed.Values;
        for (int i = 0, k = 0; i < dimension; i++)
        {
            for (int j = 0; j < i; j++, k++)
            {
                values[(i * dimension) + j] = p[k];
            }

            values[(i * dimension) + i] = T.Exp(p[k++]);
        }

        tape.Record(LowerTriangularFromPackedBackward<T>.Instance, l, packed);
        return l;
    }

    /// <summary>
    /// Solves <c>Z Lᵀ = Y</c> for Z by forward substitution, row by row: <c>Z = Y L⁻ᵀ</c> for a lower-triangular L.
    /// </summary>
    /// <param name="tape">The tape.</param>
    /// <param name="y">n × d right-hand sides.</param>
    /// <param name="lower">d × d lower-triangular L with non-zero diagonal; entries above the diagonal are ignored.</param>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static Node<T> SolveLowerTransposed<T>(this Tape<T> tape, Node<T> y, Node<T> lower)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(lower);
        int d = lower.Rows;
        if (lower.Columns != d || y.Columns != d)
        {
            throw new ArgumentException($"Need a square L matching y's {y.Columns} columns; got L {lower.Rows} × {lower.Columns}.", nameof(lower));
        }

        Node<T> z = tape.Allocate(y.Rows, d);
        ReadOnlySpan<T> l = lower.Values;
        ReadOnlySpan<T> ys = y.Values;
        Span<T> zs = z.Values;
        for (int offset = 0; offset < zs.Length; offset += d)
        {
            // (L zᵀ)ᵢ = yᵢ, so zᵢ = (yᵢ − Σⱼ<ᵢ Lᵢⱼ zⱼ) / Lᵢᵢ.
            for (int i = 0; i < d; i++)
            {
                T sum = ys[offset + i];
                for (int j = 0; j < i; j++)
                {
                    sum -= l[(i * d) + j] * zs[offset + j];
                }

                zs[offset + i] = sum / l[(i * d) + i];
            }
        }

        tape.Record(SolveLowerTransposedBackward<T>.Instance, z, y, lower);
        return z;
    }

    /// <summary><c>Σᵢ log|Lᵢᵢ|</c> of a square matrix's diagonal: the log|det| of a triangular matrix, as a 1 × 1 node.</summary>
    /// <exception cref="ArgumentException"><paramref name="matrix"/> is not square.</exception>
    public static Node<T> LogAbsDiagonalSum<T>(this Tape<T> tape, Node<T> matrix) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(matrix);
        if (matrix.Rows != matrix.Columns)
        {
            throw new ArgumentException($"matrix must be square, got {matrix.Rows} × {matrix.Columns}.", nameof(matrix));
        }

        T sum = T.Zero;
        for (int i = 0; i < matrix.Rows; i++)
        {
            sum += T.Log(T.Abs(matrix[i, i]));
        }

        Node<T> y = tape.Allocate(1, 1);
        y.Values[0] = sum;
        tape.Record(LogAbsDiagonalSumBackward<T>.Instance, y, matrix);
        return y;
    }

    private static class LowerTriangularFromPackedBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Off-diagonal entries pass the gradient through; d exp(p)/dp = exp(p) = Lᵢᵢ on the diagonal.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> packed = e.Input0;
            if (!packed.RequiresGradient)
            {
                return;
            }

            int d = e.Output.Rows;
            ReadOnlySpan<T> l = e.Output.Values;
            ReadOnlySpan<T> g = e.Output.Gradients;
            Span<T> gp = packed.Gradients;
            for (int i = 0, k = 0; i < d; i++)
            {
                for (int j = 0; j < i; j++, k++)
                {
                    gp[k] += g[(i * d) + j];
                }

                gp[k++] += g[(i * d) + i] * l[(i * d) + i];
            }
        }
    }

    private static class SolveLowerTransposedBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Z Lᵀ = Y gives δZ = (δY − Z δLᵀ) L⁻ᵀ. With H = G L⁻¹ (H L = G, back substitution per row):
        // dY += H and dL −= Hᵀ Z on and below the diagonal.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> y = e.Input0;
            Node<T> lower = e.Input1!;
            int d = lower.Rows;
            ReadOnlySpan<T> l = lower.Values;
            ReadOnlySpan<T> zs = e.Output.Values;
            ReadOnlySpan<T> g = e.Output.Gradients;
            Span<T> h = d <= 256 ? stackalloc T[d] : new T[d];
            for (int offset = 0; offset < g.Length; offset += d)
            {
                // (H L)ⱼ = Σᵢ≥ⱼ hᵢ Lᵢⱼ = gⱼ, so hⱼ = (gⱼ − Σᵢ>ⱼ hᵢ Lᵢⱼ) / Lⱼⱼ, from the last column back.
                for (int j = d - 1; j >= 0; j--)
                {
                    T sum = g[offset + j];
                    for (int i = j + 1; i < d; i++)
                    {
                        sum -= h[i] * l[(i * d) + j];
                    }

                    h[j] = sum / l[(j * d) + j];
                }

                if (y.RequiresGradient)
                {
                    Span<T> gy = y.Gradients.Slice(offset, d);
                    for (int j = 0; j < d; j++)
                    {
                        gy[j] += h[j];
                    }
                }

                if (lower.RequiresGradient)
                {
                    Span<T> gl = lower.Gradients;
                    for (int i = 0; i < d; i++)
                    {
                        for (int j = 0; j <= i; j++)
                        {
                            gl[(i * d) + j] -= h[i] * zs[offset + j];
                        }
                    }
                }
            }
        }
    }

    private static class LogAbsDiagonalSumBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // d log|Lᵢᵢ| / dLᵢᵢ = 1 / Lᵢᵢ.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> m = e.Input0;
            if (!m.RequiresGradient)
            {
                return;
            }

            T g = e.Output.Gradients[0];
            Span<T> gm = m.Gradients;
            for (int i = 0; i < m.Rows; i++)
            {
                gm[(i * m.Columns) + i] += g / m[i, i];
            }
        }
    }
}
