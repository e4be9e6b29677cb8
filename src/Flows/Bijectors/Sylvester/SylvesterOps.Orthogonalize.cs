using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

internal static partial class SylvesterOps
{
    /// <summary>The iteration limit of <see cref="Orthogonalize{T}"/>.</summary>
    public const int OrthogonalizationMaxIterations = 100;

    /// <summary>
    /// The orthonormal polar factor Q of a D × M matrix A (M ≤ D) of full column rank, <c>Q = A (AᵀA)^(−1/2)</c>, by the
    /// iteration <c>Q ← Q(I + ½(I − QᵀQ))</c> of van den Berg et al. (2018) from Q₀ = A/‖A‖_F.
    /// </summary>
    /// <remarks>
    /// <para>The iteration is Newton–Schulz for the polar factor: each singular value σ of Q moves to σ(3 − σ²)/2, which
    /// converges to 1 from every σ ∈ (0, √3), quadratically once near. It stops as soon as ‖QᵀQ − I‖_max ≤ 1e-12 (double;
    /// max(1e-12, 8M ulp) in general) and throws if that is not reached within <paramref name="maxIterations"/> steps:
    /// a rank-deficient or badly conditioned A (σ_min/‖A‖_F below about 1.5^−(maxIterations − 10)) fails loudly, never
    /// silently.</para>
    /// <para>The backward pass is that of the limit, the polar factor, not of the truncated iteration. With P = QᵀA
    /// (symmetric positive definite), G the output gradient and K = QᵀG:
    /// Ā = (G − QK) P⁻¹ + Q Y, where Y solves YP + PY = K − Kᵀ (in P's eigenbasis, by a Jacobi eigendecomposition).</para>
    /// </remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="matrix">A, D × M with M ≤ D; or <paramref name="blockCount"/> such matrices stacked, (blockCount·D) × M,
    /// each orthogonalized alone (one Q per row of an amortized flow).</param>
    /// <param name="maxIterations">The iteration limit. Range: &gt; 0.</param>
    /// <param name="blockCount">The number of stacked matrices. Range: &gt; 0, dividing the rows; or 0 with no rows.</param>
    /// <returns>A node shaped like <paramref name="matrix"/>, each block with orthonormal columns.</returns>
    /// <exception cref="ArgumentException">A block has more columns than rows, or the rows are not a whole number of blocks.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxIterations"/> is not positive, or <paramref name="blockCount"/> negative.</exception>
    /// <exception cref="InvalidOperationException">The iteration did not converge (A is rank-deficient, non-finite or too ill-conditioned).</exception>
    public static Node<T> Orthogonalize<T>(this Tape<T> tape, Node<T> matrix, int maxIterations = OrthogonalizationMaxIterations, int blockCount = 1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(matrix);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxIterations);
        ArgumentOutOfRangeException.ThrowIfNegative(blockCount);
        if (blockCount == 0 && matrix.Rows == 0)
        {
            return tape.Allocate(0, matrix.Columns); // an empty batch's per-row Q
        }

        if (blockCount == 0 || matrix.Rows % blockCount != 0)
        {
            throw new ArgumentException($"matrix has {matrix.Rows} rows, which is not a whole number of {blockCount} blocks.", nameof(matrix));
        }

        int rows = matrix.Rows / blockCount;
        int m = matrix.Columns;
        if (m > rows)
        {
            throw new ArgumentException($"matrix blocks are {rows} × {m}; orthonormal columns need at most as many columns as rows.", nameof(matrix));
        }

        Node<T> q = tape.Allocate(matrix.Rows, m);
        var e = new T[m * m];
        var update = new T[rows * m];
        for (int block = 0; block < blockCount; block++)
        {
            OrthogonalizeBlock(matrix.Values.Slice(block * rows * m, rows * m), q.Values.Slice(block * rows * m, rows * m), rows, m, maxIterations, e, update,
                blockCount == 1 ? -1 : block);
        }

        tape.Record(OrthogonalizeBackward<T>.Instance, q, matrix, flag: blockCount);
        return q;
    }

    // Newton–Schulz on one D × M block; e (M × M) and update (D × M) are scratch.
    private static void OrthogonalizeBlock<T>(ReadOnlySpan<T> a, Span<T> qs, int rows, int m, int maxIterations, T[] e, T[] update, int block)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T norm = T.Zero;
        T largest = T.Zero;
        for (int k = 0; k < a.Length; k++)
        {
            largest = T.Max(largest, T.Abs(a[k]));
        }

        if (largest > T.Zero && T.IsFinite(largest))
        {
            for (int k = 0; k < a.Length; k++)
            {
                T v = a[k] / largest;
                norm += v * v;
            }

            norm = largest * T.Sqrt(norm);
        }

        if (!(norm > T.Zero) || !T.IsFinite(norm))
        {
            throw new InvalidOperationException($"Sylvester orthogonalization: the {rows} × {m} matrix{Where(block)} has Frobenius norm {norm}; it must be finite and non-zero.");
        }

        for (int k = 0; k < a.Length; k++)
        {
            qs[k] = a[k] / norm;
        }

        T ulp = T.One - T.BitDecrement(T.One);
        T tolerance = T.Max(T.CreateTruncating(1e-12), T.CreateTruncating(8 * m) * ulp);
        T half = T.CreateTruncating(0.5);
        T residual = T.PositiveInfinity;
        for (int iteration = 0; ; iteration++)
        {
            // E = I − QᵀQ
            residual = T.Zero;
            for (int i = 0; i < m; i++)
            {
                for (int j = i; j < m; j++)
                {
                    T sum = T.Zero;
                    for (int k = 0; k < rows; k++)
                    {
                        sum += qs[(k * m) + i] * qs[(k * m) + j];
                    }

                    T value = (i == j ? T.One : T.Zero) - sum;
                    e[(i * m) + j] = value;
                    e[(j * m) + i] = value;
                    residual = T.Max(residual, T.Abs(value));
                }
            }

            if (residual <= tolerance)
            {
                break;
            }

            if (iteration >= maxIterations || !T.IsFinite(residual))
            {
                throw new InvalidOperationException(
                    $"Sylvester orthogonalization{Where(block)} did not converge in {maxIterations} iterations: ‖QᵀQ − I‖_max = {residual}, tolerance {tolerance}. " +
                    "The raw matrix is rank-deficient or too ill-conditioned.");
            }

            // Q ← Q + ½ Q E
            for (int k = 0; k < rows; k++)
            {
                for (int j = 0; j < m; j++)
                {
                    T sum = T.Zero;
                    for (int i = 0; i < m; i++)
                    {
                        sum += qs[(k * m) + i] * e[(i * m) + j];
                    }

                    update[(k * m) + j] = qs[(k * m) + j] + (half * sum);
                }
            }

            update.AsSpan(0, rows * m).CopyTo(qs);
        }
    }

    // Names the block in a message, when there are several.
    private static string Where(int block) => block < 0 ? "" : $" (block {block})";

    private static class OrthogonalizeBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Polar factor A = QP: dQ = (I − QQᵀ) dA P⁻¹ + QΩ with ΩP + PΩ = QᵀdA − dAᵀQ (Ω = QᵀdQ skew). The adjoint:
        // Ā = (G − QK) P⁻¹ + Q·L(K − Kᵀ), K = QᵀG, L(C) the solution Y of YP + PY = C (self-adjoint, commutes with ᵀ).
        // Verified against central differences (SylvesterTests and the shared property suite).
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> a = e.Input0;
            if (!a.RequiresGradient)
            {
                return;
            }

            int blockCount = e.Flag;
            int rows = a.Rows / blockCount;
            int m = a.Columns;
            int size = rows * m;
            var scratch = new T[(7 * m * m) + (2 * m)]; // one allocation per call, shared by the blocks
            for (int block = 0; block < blockCount; block++)
            {
                Block(e.Output.Values.Slice(block * size, size), e.Output.Gradients.Slice(block * size, size), a.Values.Slice(block * size, size),
                    a.Gradients.Slice(block * size, size), rows, m, scratch);
            }
        }

        private static void Block(ReadOnlySpan<T> qs, ReadOnlySpan<T> g, ReadOnlySpan<T> av, Span<T> ga, int rows, int m, Span<T> scratch)
        {
            int mm = m * m;
            scratch.Clear();
            Span<T> p = scratch[..mm];
            Span<T> k = scratch.Slice(mm, mm);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < m; j++)
                {
                    T sp = T.Zero;
                    T sk = T.Zero;
                    for (int r = 0; r < rows; r++)
                    {
                        sp += qs[(r * m) + i] * av[(r * m) + j];
                        sk += qs[(r * m) + i] * g[(r * m) + j];
                    }

                    p[(i * m) + j] = sp;
                    k[(i * m) + j] = sk;
                }
            }

            // Symmetrize P (it is symmetric up to rounding) and diagonalize it: P = V diag(s) Vᵀ.
            T half = T.CreateTruncating(0.5);
            for (int i = 0; i < m; i++)
            {
                for (int j = i + 1; j < m; j++)
                {
                    T mean = half * (p[(i * m) + j] + p[(j * m) + i]);
                    p[(i * m) + j] = mean;
                    p[(j * m) + i] = mean;
                }
            }

            Span<T> v = scratch.Slice(2 * mm, mm);
            Span<T> s = scratch.Slice(7 * mm, m);
            SymmetricEigen.Decompose<T>(p, v, s, m);

            // C = Vᵀ(K − Kᵀ)V, Y' = C ⊘ (sᵢ + sⱼ), Y = V Y' Vᵀ.
            Span<T> c = scratch.Slice(3 * mm, mm);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < m; j++)
                {
                    c[(i * m) + j] = k[(i * m) + j] - k[(j * m) + i];
                }
            }

            Span<T> temp = scratch.Slice(4 * mm, mm);
            Span<T> y = scratch.Slice(5 * mm, mm);
            SmallMatrix.MultiplyTransposedLeft(v, c, temp, m);   // Vᵀ C
            SmallMatrix.Multiply(temp, v, y, m);                 // (VᵀC) V
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < m; j++)
                {
                    y[(i * m) + j] /= s[i] + s[j];
                }
            }

            SmallMatrix.Multiply(v, y, temp, m);                 // V Y'
            SmallMatrix.MultiplyTransposedRight(temp, v, y, m);  // (V Y') Vᵀ

            // P⁻¹ = V diag(1/s) Vᵀ.
            Span<T> pInverse = scratch.Slice(6 * mm, mm);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < m; j++)
                {
                    T sum = T.Zero;
                    for (int l = 0; l < m; l++)
                    {
                        sum += v[(i * m) + l] * v[(j * m) + l] / s[l];
                    }

                    pInverse[(i * m) + j] = sum;
                }
            }

            Span<T> residual = scratch.Slice((7 * mm) + m, m);
            for (int r = 0; r < rows; r++)
            {
                // row r of (G − QK)
                for (int j = 0; j < m; j++)
                {
                    T sum = g[(r * m) + j];
                    for (int l = 0; l < m; l++)
                    {
                        sum -= qs[(r * m) + l] * k[(l * m) + j];
                    }

                    residual[j] = sum;
                }

                for (int j = 0; j < m; j++)
                {
                    T sum = T.Zero;
                    for (int l = 0; l < m; l++)
                    {
                        sum += (residual[l] * pInverse[(l * m) + j]) + (qs[(r * m) + l] * y[(l * m) + j]);
                    }

                    ga[(r * m) + j] += sum;
                }
            }
        }
    }
}
