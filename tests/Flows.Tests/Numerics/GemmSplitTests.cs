using System.Numerics;
using Flows.Numerics;
using Flows.Tests.Testing;

namespace Flows.Tests.Numerics;

/// <summary>
/// A product large enough to split its rows among threads (<see cref="KernelParallelism"/>, as a step of fewer blocks
/// than threads allows) gives the bits of the product on one thread: every form, with its options (bands, needed
/// columns, bias and ReLU, a prepacked B, sub-matrices), at 256 and 512 bits, in double and float.
/// </summary>
public sealed class GemmSplitTests
{
    // Each at least 2²³ multiply-adds (the split's threshold); m not a multiple of MR in the second, k over KC in both.
    private static readonly (int M, int K, int N)[] s_shapes = [(200, 300, 150), (97, 1100, 80)];

    // 64 threads asks for more helpers than this machine has cores, so a helper is free even while other tests run.
    public static TheoryData<int, int> Cases() => new() { { 256, 2 }, { 256, 64 }, { 512, 3 }, { 512, 64 } };

    [Theory]
    [MemberData(nameof(Cases))]
    public void SplitProduct_GivesTheBitsOfOneThread(int bits, int degree)
    {
        using VectorWidth.Scope width = VectorWidth.Force(bits);
        foreach ((int m, int k, int n) in s_shapes)
        {
            foreach (bool accumulate in new[] { false, true })
            {
                EveryForm<double>(m, k, n, accumulate, degree);
                EveryForm<float>(m + 60, k, n, accumulate, degree);
            }
        }
    }

    private static void EveryForm<T>(int m, int k, int n, bool accumulate, int degree) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.True((long)m * k * n >= Gemm.ParallelProductWork && m >= 2 * Gemm.SplitRowsMin, $"({m}, {k}, {n}) is too small to split");
        int seed = Seeds.Of(typeof(T).Name, m, k, n, accumulate);
        T[] a = Random<T>(m * k, seed);
        T[] b = Random<T>(k * n, seed + 1);
        T[] c = Random<T>(m * n, seed + 2);
        T[] bias = Random<T>(n, seed + 3);
        // Bands from staircase masks: B's zero steps of k for A·B and A·Bᵀ, C's needed columns for Aᵀ·B.
        Bands depthsOfB = Bands.OfColumns(Staircase<T>(k, n, seed + 4), k, n);
        Bands depthsOfBTransposed = Bands.OfRows(Staircase<T>(n, k, seed + 5), n, k);
        Bands neededColumns = Bands.OfRows(Staircase<T>(m, n, seed + 6), m, n);
        var packed = new Gemm.PackedB<T>();
        var packedTransposed = new Gemm.PackedB<T>();
        packed.Pack(b, k, n, transposed: false);
        packedTransposed.Pack(b, k, n, transposed: true);

        Same("A·B", c, degree, r => Gemm.Multiply<T>(a, b, r, m, k, n, accumulate));
        Same("A·B, bands, prepacked", c, degree, r => Gemm.Multiply<T>(a, b, r, m, k, n, accumulate, depthsOfB, packed));
        Same("A·Bᵀ", c, degree, r => Gemm.MultiplyTransposedB<T>(a, b, r, m, k, n, accumulate));
        Same("A·Bᵀ, bands, bias, ReLU, prepacked", c, degree, r => Gemm.MultiplyTransposedB<T>(
            a, b, r, m, k, n, accumulate: false, depthsOfBTransposed, bias, relu: true, packedTransposed));
        Same("Aᵀ·B", c, degree, r => Gemm.MultiplyTransposedA<T>(a, b, r, m, k, n, accumulate));
        Same("Aᵀ·B, needed columns", c, degree, r => Gemm.MultiplyTransposedA<T>(a, b, r, m, k, n, accumulate, neededColumns));

        // Sub-matrices: rows of A, B and C further apart than their widths; C's gaps must stay as they were.
        int lda = k + 5;
        int ldb = k + 3;
        int ldc = n + 7;
        T[] aWide = Random<T>(m * lda, seed + 7);
        T[] bWide = Random<T>(n * ldb, seed + 8);
        T[] cWide = Random<T>(m * ldc, seed + 9);
        Same("A·Bᵀ on sub-matrices, bias, ReLU", cWide, degree, r => Gemm.MultiplyTransposedB<T>(
            aWide, lda, bWide, ldb, r, ldc, m, k, n, accumulate: false, bias, relu: true));
        Same("A·Bᵀ on sub-matrices", cWide, degree, r => Gemm.MultiplyTransposedB<T>(aWide, lda, bWide, ldb, r, ldc, m, k, n, accumulate));
    }

    private static void Same<T>(string what, T[] start, int degree, Action<T[]> product) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] one = [.. start];
        product(one);
        T[] split = [.. start];
        using (KernelParallelism.Enter(degree))
        {
            product(split);
        }

        for (int i = 0; i < one.Length; i++)
        {
            Assert.True(one[i].Equals(split[i]), $"{what} ({typeof(T).Name}, {VectorWidth.Current} bits, {degree} threads): element {i} is {split[i]}, not {one[i]}.");
        }
    }

    // rows × columns of 0 and 1, each column's ones a prefix of random length (some empty).
    private static T[] Staircase<T>(int rows, int columns, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(seed);
        int[] cuts = [.. Enumerable.Range(0, columns).Select(_ => random.Next(rows + 1))];
        var mask = new T[rows * columns];
        for (int p = 0; p < rows; p++)
        {
            for (int j = 0; j < columns; j++)
            {
                mask[(p * columns) + j] = p < cuts[j] ? T.One : T.Zero;
            }
        }

        return mask;
    }

    private static T[] Random<T>(int length, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(seed);
        var values = new T[length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = T.CreateChecked((2 * random.NextDouble()) - 1);
        }

        return values;
    }
}
