using System.Numerics;
using Flows.Numerics;
using Flows.Tests.Testing;

namespace Flows.Tests.Numerics;

/// <summary>The three GEMM products against a naive triple loop accumulated in double.</summary>
public sealed class GemmTests
{
    /// <summary>Which of the three products a test runs.</summary>
    public enum Product
    {
        /// <summary><c>C (+)= A·B</c>.</summary>
        AB,

        /// <summary><c>C (+)= A·Bᵀ</c>.</summary>
        ABTransposed,

        /// <summary><c>C (+)= Aᵀ·B</c>.</summary>
        ATransposedB,
    }

    // Sizes that the other two dimensions take while one sweeps 0..70: a single row or column, less than one tile
    // (MR = 6, NR = 8 or 16), a little over several tiles, and the largest swept size.
    private static readonly int[] s_otherSizes = [1, 7, 33, 70];

    private const int MaxSweptSize = 70;

    // Elements after the m·n of C that must come back untouched.
    private const int GuardLength = 19;

    // Error bound per unit of Σ|a||b| + |c| and per step of k, in units of the element type's epsilon: FMA summation
    // of k products errs by at most about k·ε·Σ|a||b|; the factor 4 leaves room for the reference's own rounding.
    private const double EpsilonsPerStep = 4;

    // Every product at every vector width (VectorWidth.Force): 512 bits runs in software where the hardware lacks
    // AVX-512, so its path is checked on every machine; 256 and 128 stay checked on AVX-512 machines.
    public static TheoryData<Product, bool, int> Cases()
    {
        var data = new TheoryData<Product, bool, int>();
        foreach (Product product in Enum.GetValues<Product>())
        {
            foreach (int bits in Widths)
            {
                data.Add(product, false, bits);
                data.Add(product, true, bits);
            }
        }

        return data;
    }

    private static readonly int[] Widths = [128, 256, 512];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Double_MatchesNaiveLoop_ForEverySizeFrom0To70InEachDimension(Product product, bool accumulate, int bits)
    {
        using VectorWidth.Scope width = VectorWidth.Force(bits);
        SweepEachDimension<double>(product, accumulate);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float_MatchesNaiveLoop_ForEverySizeFrom0To70InEachDimension(Product product, bool accumulate, int bits)
    {
        using VectorWidth.Scope width = VectorWidth.Force(bits);
        SweepEachDimension<float>(product, accumulate);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Double_MatchesNaiveLoop_ForLargeShapes(Product product, bool accumulate, int bits)
    {
        using VectorWidth.Scope width = VectorWidth.Force(bits);
        LargeShapes<double>(product, accumulate);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float_MatchesNaiveLoop_ForLargeShapes(Product product, bool accumulate, int bits)
    {
        using VectorWidth.Scope width = VectorWidth.Force(bits);
        LargeShapes<float>(product, accumulate);
    }

    // Each element of C is the same sum in the same order at every width, so the widths the hardware runs natively give
    // the same bits: with bands, the epilogue, accumulation and shapes that cross tiles of every width. (A width run in
    // software may round its multiply-adds unfused, so it is compared only against the naive loop above.)
    [Theory]
    [InlineData(Product.AB)]
    [InlineData(Product.ABTransposed)]
    [InlineData(Product.ATransposedB)]
    public void EveryNativeWidth_GivesTheSameBits(Product product)
    {
        WidthsGiveTheSameBits<double>(product);
        WidthsGiveTheSameBits<float>(product);
    }

    // B packed once (a weight shared by a step's blocks) gives the bits of B packed by the product itself, with bands,
    // the epilogue, blocks of k and column blocks (n > NC); packed at another width, the product packs B itself.
    [Theory]
    [InlineData(Product.AB)]
    [InlineData(Product.ABTransposed)]
    public void PrepackedB_GivesTheBitsOfPackingInsideTheProduct_AtEveryWidth(Product product)
    {
        bool transposed = product == Product.ABTransposed;
        foreach ((int m, int k, int n) in new[] { (13, 64, 64), (7, 300, 4100), (20, 9, 17), (128, 512, 70) })
        {
            int seed = Seeds.Of(product, m, k, n);
            double[] a = Random(m * k, seed);
            double[] b = Random(k * n, seed + 1);
            byte[] keep = Mask(n, k, staircase: true, seed + 2);
            Bands? bands = transposed ? Bands.OfRows<double>([.. keep.Select(v => (double)v)], n, k) : null;
            double[] bias = Random(n, seed + 3);
            var packed = new Gemm.PackedB<double>();
            foreach (int packedBits in Widths)
            {
                using (VectorWidth.Force(packedBits))
                {
                    packed.Pack(b, k, n, transposed);
                }

                foreach (int bits in Widths)
                {
                    using VectorWidth.Scope width = VectorWidth.Force(bits);
                    double[] expected = new double[m * n];
                    double[] actual = new double[m * n];
                    if (transposed)
                    {
                        Gemm.MultiplyTransposedB<double>(a, b, expected, m, k, n, accumulate: false, bands, bias, relu: true);
                        Gemm.MultiplyTransposedB<double>(a, b, actual, m, k, n, accumulate: false, bands, bias, relu: true, packed);
                    }
                    else
                    {
                        Gemm.Multiply<double>(a, b, expected, m, k, n, accumulate: false);
                        Gemm.Multiply<double>(a, b, actual, m, k, n, accumulate: false, packedB: packed);
                    }

                    Assert.True(expected.Select(BitsOf).SequenceEqual(actual.Select(BitsOf)),
                        $"{product}(m: {m}, k: {k}, n: {n}) packed at {packedBits} bits differs at {bits} bits.");
                }
            }
        }
    }

    [Fact]
    public void Force_RejectsAWidthThatIsNot128256Or512()
        => Assert.Throws<ArgumentOutOfRangeException>("bits", () => VectorWidth.Force(384));

    private static void WidthsGiveTheSameBits<T>(Product product) where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach ((int m, int k, int n) in new[] { (13, 64, 64), (512, 8, 70), (7, 300, 33), (20, 9, 17), (61, 40, 129) })
        {
            foreach (bool accumulate in new[] { false, true })
            {
                int seed = Seeds.Of(typeof(T), product, m, k, n, accumulate);
                T[] a = Random<T>(m * k, seed);
                byte[] keep = Mask(n, k, staircase: true, seed + 1);
                T[] b = Random<T>(k * n, seed + 2);
                for (int i = 0; i < b.Length; i++)
                {
                    b[i] *= T.CreateTruncating(keep[i]); // n × k: as Bᵀ for A·Bᵀ, reinterpreted as k × n for the others
                }

                T[] bias = Random<T>(n, seed + 3);
                T[] start = Random<T>(m * n, seed + 4);
                Bands bands = Bands.OfRows<T>([.. keep.Select(v => T.CreateTruncating(v))], n, k);
                T[]? reference = null;
                foreach (int bits in Widths.Where(w => w <= VectorWidth.Hardware))
                {
                    T[] c = [.. start];
                    using (VectorWidth.Force(bits))
                    {
                        if (product == Product.ABTransposed)
                        {
                            Gemm.MultiplyTransposedB<T>(a, b, c, m, k, n, accumulate, bands, accumulate ? default : bias, relu: true);
                        }
                        else
                        {
                            Run<T>(product, a, b, c, m, k, n, accumulate);
                        }
                    }

                    reference ??= c;
                    Assert.True(reference.Select(BitsOf).SequenceEqual(c.Select(BitsOf)),
                        $"{product}<{typeof(T).Name}>(m: {m}, k: {k}, n: {n}, accumulate: {accumulate}) differs at {bits} bits.");
                }
            }
        }
    }

    [Theory]
    [InlineData(Product.AB)]
    [InlineData(Product.ABTransposed)]
    [InlineData(Product.ATransposedB)]
    public void Overwrite_IgnoresNaNsAlreadyInC(Product product)
    {
        // Without accumulate C is written, never read: NaNs left in it must not leak into the product.
        var (m, k, n) = (13, 21, 19);
        double[] a = Random(m * k, seed: 1);
        double[] b = Random(k * n, seed: 2);
        double[] c = new double[m * n];
        Array.Fill(c, double.NaN);

        Run<double>(product, a, b, c, m, k, n, accumulate: false);

        Assert.All(c, value => Assert.True(double.IsFinite(value)));
    }

    [Theory]
    [InlineData(Product.AB)]
    [InlineData(Product.ABTransposed)]
    [InlineData(Product.ATransposedB)]
    public void Accumulate_AddsProductToExistingC(Product product)
    {
        var (m, k, n) = (11, 300, 17);
        double[] a = Random(m * k, seed: 3);
        double[] b = Random(k * n, seed: 4);
        double[] product1 = new double[m * n];
        Run<double>(product, a, b, product1, m, k, n, accumulate: false);
        double[] c = Random(m * n, seed: 5);
        double[] expected = [.. c.Select((value, i) => value + product1[i])];

        Run<double>(product, a, b, c, m, k, n, accumulate: true);

        for (int i = 0; i < c.Length; i++)
        {
            Assert.Equal(expected[i], c[i], 1e-12);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ZeroDepth_ClearsOrKeepsC(bool accumulate)
    {
        // k = 0: the product is the zero matrix, so C becomes 0 or stays as it was.
        double[] c = Random(6 * 9, seed: 6);
        double[] before = [.. c];

        Gemm.Multiply<double>([], [], c, 6, 0, 9, accumulate);

        Assert.Equal(accumulate ? before : new double[c.Length], c);
    }

    [Theory]
    [InlineData(Product.AB, false)]
    [InlineData(Product.AB, true)]
    [InlineData(Product.ABTransposed, false)]
    [InlineData(Product.ABTransposed, true)]
    public void DepthBands_SkipOnlyZerosOfB_SoTheProductIsUnchangedBitForBit(Product product, bool staircase)
    {
        // Every shape crosses a tile edge; k = 300 crosses the depth block KC = 256 too.
        foreach ((int m, int k, int n) in new[] { (13, 64, 64), (512, 64, 70), (7, 300, 33), (20, 9, 17) })
        {
            foreach (bool accumulate in new[] { false, true })
            {
                int seed = Seeds.Of(product, staircase, m, k, n);
                double[] a = Random(m * k, seed);
                byte[] keep = Mask(k, n, staircase, seed + 1); // keep[p, j]: B's entry in row p, column j is nonzero
                double[] b = Random(k * n, seed + 2);
                double[] mask = new double[k * n];
                for (int p = 0; p < k; p++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        int at = product == Product.AB ? (p * n) + j : (j * k) + p;
                        b[at] *= keep[(p * n) + j];
                        mask[at] = keep[(p * n) + j];
                    }
                }

                Bands depths = product == Product.AB ? Bands.OfColumns<double>(mask, k, n) : Bands.OfRows<double>(mask, n, k);
                double[] expected = Random(m * n, seed + 3);
                double[] actual = [.. expected];
                Run<double>(product, a, b, expected, m, k, n, accumulate);

                if (product == Product.AB)
                {
                    Gemm.Multiply<double>(a, b, actual, m, k, n, accumulate, depths);
                }
                else
                {
                    Gemm.MultiplyTransposedB<double>(a, b, actual, m, k, n, accumulate, depths);
                }

                Assert.Equal(expected, actual);
            }
        }
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public void NeededColumns_GiveTheNeededEntriesExactly_AndLeaveSkippedTilesUntouched(bool staircase, bool accumulate)
    {
        int unneededTiles = 0;
        foreach ((int m, int k, int n) in new[] { (64, 512, 64), (70, 33, 64), (13, 300, 9) })
        {
            int seed = Seeds.Of(staircase, m, k, n);
            double[] a = Random(k * m, seed);
            double[] b = Random(k * n, seed + 1);
            byte[] needed = Mask(m, n, staircase, seed + 2);
            double[] mask = [.. needed.Select(x => (double)x)];
            double[] before = Random(m * n, seed + 3);
            double[] expected = [.. before];
            double[] actual = [.. before];
            Gemm.MultiplyTransposedA<double>(a, b, expected, m, k, n, accumulate);

            Gemm.MultiplyTransposedA<double>(a, b, actual, m, k, n, accumulate, Bands.OfRows<double>(mask, m, n));

            int skipped = 0;
            for (int i = 0; i < actual.Length; i++)
            {
                Assert.True(actual[i] == expected[i] || (needed[i] == 0 && actual[i] == before[i]), $"C[{i / n}, {i % n}] is {actual[i]}.");
                skipped += actual[i] == before[i] ? 1 : 0;
            }

            // Where a staircase leaves whole tiles of C unneeded (tiles are wider at 512 bits), those must really be skipped.
            bool unneededTile = UnneededTileExists(needed, m, n, Gemm.NR<double>(VectorWidth.Current));
            Assert.True(!unneededTile || skipped > 0);
            unneededTiles += unneededTile ? 1 : 0;
        }

        Assert.True(!staircase || unneededTiles > 0, "No shape has a tile to skip.");
    }

    // Whether some MR × nr tile of C (as the kernels tile it) holds no needed entry.
    private static bool UnneededTileExists(byte[] needed, int m, int n, int nr)
    {
        for (int i0 = 0; i0 < m; i0 += Gemm.MR)
        {
            for (int j0 = 0; j0 < n; j0 += nr)
            {
                bool any = false;
                for (int i = i0; i < Math.Min(m, i0 + Gemm.MR); i++)
                {
                    for (int j = j0; j < Math.Min(n, j0 + nr); j++)
                    {
                        any |= needed[(i * n) + j] != 0;
                    }
                }

                if (!any)
                {
                    return true;
                }
            }
        }

        return false;
    }

    [Fact]
    public void SubMatrixProduct_EqualsTheProductOfTheCopiedBlocks_AndLeavesTheRestOfCUntouched()
    {
        foreach ((int m, int k, int n, int pad) in new[] { (13, 9, 3, 5), (512, 40, 2, 24), (7, 300, 20, 1) })
        {
            int seed = Seeds.Of(m, k, n, pad);
            (int lda, int ldb, int ldc) = (k + pad, k + (2 * pad), n + pad);
            double[] a = Random(m * lda, seed);
            double[] b = Random(n * ldb, seed + 1);
            double[] c = Random(m * ldc, seed + 2);
            double[] before = [.. c];
            double[] denseA = [.. Enumerable.Range(0, m * k).Select(i => a[((i / k) * lda) + (i % k)])];
            double[] denseB = [.. Enumerable.Range(0, n * k).Select(i => b[((i / k) * ldb) + (i % k)])];
            double[] expected = new double[m * n];
            Gemm.MultiplyTransposedB<double>(denseA, denseB, expected, m, k, n, accumulate: false);

            Gemm.MultiplyTransposedB<double>(a, lda, b, ldb, c, ldc, m, k, n, accumulate: false);

            for (int i = 0; i < m; i++)
            {
                Assert.Equal(expected.AsSpan(i * n, n).ToArray(), c.AsSpan(i * ldc, n).ToArray());
                Assert.Equal(before.AsSpan((i * ldc) + n, pad).ToArray(), c.AsSpan((i * ldc) + n, pad).ToArray());
            }
        }
    }

    [Fact]
    public void Epilogue_EqualsFillingCWithTheBiasAccumulatingAndTakingTheMaxWithZero_BitForBit()
    {
        EpilogueMatchesSeparatePasses<double>();
        EpilogueMatchesSeparatePasses<float>();
    }

    [Fact]
    public void SubMatrixEpilogue_EqualsSeparatePasses_AndAccumulatingWithReluClampsTheSum()
    {
        (int m, int k, int n, int pad) = (13, 9, 11, 3);
        (int lda, int ldb, int ldc) = (k + pad, k + pad, n + pad);
        double[] a = Random(m * lda, 1);
        double[] b = Random(n * ldb, 2);
        double[] bias = Random(n, 3);
        double[] c = Random(m * ldc, 4);
        double[] before = [.. c];
        double[] expected = [.. c];
        for (int i = 0; i < m; i++)
        {
            bias.CopyTo(expected.AsSpan(i * ldc, n));
        }

        Gemm.MultiplyTransposedB<double>(a, lda, b, ldb, expected, ldc, m, k, n, accumulate: true);
        Gemm.MultiplyTransposedB<double>(a, lda, b, ldb, expected, ldc, m, k, n, accumulate: true);
        for (int i = 0; i < m; i++)
        {
            Span<double> row = expected.AsSpan(i * ldc, n);
            System.Numerics.Tensors.TensorPrimitives.Max(row, 0.0, row);
        }

        Gemm.MultiplyTransposedB<double>(a, lda, b, ldb, c, ldc, m, k, n, accumulate: false, bias);
        Gemm.MultiplyTransposedB<double>(a, lda, b, ldb, c, ldc, m, k, n, accumulate: true, relu: true);

        Assert.Equal(expected, c);
        Assert.Contains(c, v => v == 0); // the ReLU did clamp something
        for (int i = 0; i < m; i++)
        {
            Assert.Equal(before.AsSpan((i * ldc) + n, pad).ToArray(), c.AsSpan((i * ldc) + n, pad).ToArray());
        }
    }

    // relu(bias + A·Bᵀ) with bands and the epilogue against the plain product into a bias-filled C and a separate max:
    // the same additions in the same order, so the same bits. Shapes cross tile edges and (k = 300) the depth block; the
    // staircase leaves tiles with no steps of k at all, which must still get their bias and ReLU; k = 0 is the bias alone.
    private static void EpilogueMatchesSeparatePasses<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach ((int m, int k, int n) in new[] { (13, 64, 64), (512, 8, 16), (7, 300, 33), (20, 9, 17), (5, 0, 9) })
        {
            foreach (bool relu in new[] { false, true })
            {
                int seed = Seeds.Of(typeof(T), m, k, n, relu);
                T[] a = Random(m * k, seed).Select(T.CreateTruncating).ToArray();
                byte[] keep = Mask(n, k, staircase: true, seed + 1);
                T[] b = Random(n * k, seed + 2).Select((v, i) => T.CreateTruncating(v * keep[i])).ToArray();
                T[] bias = Random(n, seed + 3).Select(T.CreateTruncating).ToArray();
                bias[0] = T.NaN;
                bias[n - 1] = T.NegativeZero;
                T[] expected = new T[m * n];
                for (int i = 0; i < m; i++)
                {
                    bias.CopyTo(expected.AsSpan(i * n, n));
                }

                Gemm.MultiplyTransposedB<T>(a, b, expected, m, k, n, accumulate: true);
                if (relu)
                {
                    System.Numerics.Tensors.TensorPrimitives.Max(expected, T.Zero, expected);
                }

                T[] actual = Random(m * n, seed + 4).Select(T.CreateTruncating).ToArray();
                Gemm.MultiplyTransposedB<T>(a, b, actual, m, k, n, accumulate: false, Bands.OfRows<T>([.. keep.Select(v => T.CreateTruncating(v))], n, k), bias, relu);

                Assert.Equal(expected.Select(BitsOf), actual.Select(BitsOf));
            }
        }
    }

    private static long BitsOf<T>(T value) where T : unmanaged, IFloatingPointIeee754<T>
        => typeof(T) == typeof(double) ? BitConverter.DoubleToInt64Bits(double.CreateTruncating(value)) : BitConverter.SingleToInt32Bits(float.CreateTruncating(value));

    // A 0/1 pattern: a staircase (entry (p, j) kept when p < its column's sorted cut, as MADE's sorted masks are), or
    // independent coin flips with some all-zero columns.
    private static byte[] Mask(int rows, int columns, bool staircase, int seed)
    {
        var random = new Random(seed);
        int[] cuts = [.. Enumerable.Range(0, columns).Select(_ => random.Next(rows + 1)).Order()];
        var mask = new byte[rows * columns];
        bool[] emptyColumn = [.. Enumerable.Range(0, columns).Select(_ => random.Next(5) == 0)];
        for (int p = 0; p < rows; p++)
        {
            for (int j = 0; j < columns; j++)
            {
                mask[(p * columns) + j] = (byte)(staircase ? (p < cuts[j] ? 1 : 0) : (!emptyColumn[j] && random.Next(2) == 0 ? 1 : 0));
            }
        }

        return mask;
    }

    private static void SweepEachDimension<T>(Product product, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int size = 0; size <= MaxSweptSize; size++)
        {
            foreach (int other1 in s_otherSizes)
            {
                foreach (int other2 in s_otherSizes)
                {
                    Check<T>(product, size, other1, other2, accumulate);
                    Check<T>(product, other1, size, other2, accumulate);
                    Check<T>(product, other1, other2, size, accumulate);
                }
            }
        }
    }

    // The rows of C are cut into the fewest blocks of at most MC rows, each a multiple of MR but the last, of nearly equal
    // size: a data-parallel block of 128 rows is one block in either type, and no last block is a sliver.
    [Fact]
    public void RowBlocks_AreTheFewestOfAtMostMC_AndNearlyEqual()
    {
        Assert.Equal(132, Gemm.RowBlock<double>(128));
        Assert.Equal(132, Gemm.RowBlock<float>(128));
        Check<double>(Gemm.RowBlock<double>(int.MaxValue / 2));
        Check<float>(Gemm.RowBlock<float>(int.MaxValue / 2));

        static void Check<T>(int mc)
        {
            for (int m = 1; m <= 3000; m++)
            {
                int block = Gemm.RowBlock<T>(m);
                int blocks = (m + block - 1) / block;
                Assert.True(block % Gemm.MR == 0 && block <= mc, $"m = {m}: block {block}");
                Assert.Equal((m + mc - 1) / mc, blocks);
                int last = m - ((blocks - 1) * block);
                Assert.True(last > block - (blocks * Gemm.MR), $"m = {m}: blocks of {block}, the last {last}");
            }
        }
    }

    // Rows of C are independent sums, so how the driver cuts them into row blocks changes no bit: products of row ranges
    // (cut at multiples of MR, as row blocks are) equal the whole product bit for bit, for m around the block size.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RowRanges_GiveTheBitsOfTheWholeProduct(bool accumulate)
    {
        Check<double>(accumulate);
        Check<float>(accumulate);

        static void Check<T>(bool accumulate)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            const int k = 300, n = 70;
            foreach (int m in new[] { 132, 133, 264, 265, 1000 })
            {
                T[] a = Random<T>(m * k, m);
                T[] b = Random<T>(k * n, m + 1);
                T[] start = Random<T>(m * n, m + 2);
                T[] whole = (T[])start.Clone();
                Gemm.Multiply<T>(a, b, whole, m, k, n, accumulate);
                foreach (int cut in new[] { Gemm.MR, 11 * Gemm.MR, 23 * Gemm.MR })
                {
                    T[] pieces = (T[])start.Clone();
                    for (int row = 0; row < m; row += cut)
                    {
                        int rows = Math.Min(cut, m - row);
                        Gemm.Multiply<T>(a.AsSpan(row * k), b, pieces.AsSpan(row * n), rows, k, n, accumulate);
                    }

                    Assert.Equal(whole, pieces);
                }
            }
        }
    }

    // The lane-major product of a sequential MADE pass must give, element for element, the bits of the row-major
    // sub-matrix product with its epilogue, at every width: narrow and wider outputs (1 to 13 columns, so every tile
    // width), depths of 0, within one block of k, at its edges and beyond it (KC = 256; 513 is three blocks), with and
    // without bias and ReLU, a first column inside a wider C, row counts that leave a panel partly padding, and the
    // values a ReLU must treat as the row-major one does (NaN, ±0, a bias of −0).
    [Theory]
    [InlineData(128)]
    [InlineData(256)]
    [InlineData(512)]
    public void LaneMajorProduct_GivesTheBitsOfTheRowMajorProduct(int bits)
    {
        using VectorWidth.Scope width = VectorWidth.Force(bits);
        LaneMajorMatches<double>(bits);
        LaneMajorMatches<float>(bits);
    }

    private static void LaneMajorMatches<T>(int bits) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lanes = Gemm.Lanes<T>(bits);
        int seed = 0;
        foreach (int m in new[] { 1, lanes - 1, lanes + 3, (3 * lanes) + 5 })
        {
            foreach (int k in new[] { 0, 1, 7, 64, 256, 257, 300, 513 })
            {
                foreach (int n in new[] { 1, 2, 5, 6, 7, 13 })
                {
                    foreach ((bool withBias, bool relu) in new[] { (true, true), (true, false), (false, false), (false, true) })
                    {
                        seed++;
                        const int First = 3;
                        int aWidth = k + 2;
                        int cWidth = n + First + 1;
                        T[] a = Random<T>(m * aWidth, seed);
                        T[] b = Random<T>(n * (k + 1), seed + 1000);
                        T[] bias = withBias ? Random<T>(n, seed + 2000) : [];
                        if (withBias)
                        {
                            bias[0] = -T.Zero;
                        }

                        if (k > 0)
                        {
                            a[0] = T.NaN; // row 0, p = 0: row 0 of C is NaN
                            a[((m - 1) * aWidth) + k - 1] = -T.Zero;
                            b[0] = T.Zero;
                        }
                        var expected = new T[m * cWidth];
                        Gemm.MultiplyTransposedB<T>(a, aWidth, b, k + 1, expected.AsSpan(First), cWidth, m, k, n, accumulate: false, bias, relu);

                        int padded = (m + lanes - 1) / lanes * lanes;
                        var aLanes = new T[padded * aWidth];
                        Gemm.ToLanes<T>(a, aWidth, m, aWidth, aLanes, lanes);
                        T[] cLanes = Random<T>(padded * cWidth, seed + 3000); // outside the written columns, left as is
                        T[] before = (T[])cLanes.Clone();
                        Gemm.MultiplyTransposedBLanes<T>(aLanes, aWidth, b, k + 1, cLanes, cWidth, First, m, k, n, bias, relu, bits);
                        var actual = new T[m * cWidth];
                        Gemm.FromLanes<T>(cLanes, m, cWidth, actual, lanes);
                        var untouched = new T[m * cWidth];
                        Gemm.FromLanes<T>(before, m, cWidth, untouched, lanes);
                        for (int i = 0; i < m; i++)
                        {
                            for (int j = 0; j < cWidth; j++)
                            {
                                bool written = j >= First && j < First + n;
                                T want = written ? expected[(i * cWidth) + j] : untouched[(i * cWidth) + j];
                                Assert.True(BitsOf(want) == BitsOf(actual[(i * cWidth) + j]),
                                    $"{typeof(T).Name} m {m} k {k} n {n} bias {withBias} relu {relu}: ({i}, {j}) is {actual[(i * cWidth) + j]}, expected {want}");
                            }
                        }
                    }
                }
            }
        }
    }

    private static void LargeShapes<T>(Product product, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Shapes that cross the cache blocks: k > KC = 256 (several depth passes), m > MC, n > NC = 4080, the packed-A
        // path (m·k·n > 2²²) with ragged tiles, and the benchmark's MADE-like shapes.
        Check<T>(product, 257, 129, 300, accumulate);
        Check<T>(product, 512, 64, 64, accumulate);
        Check<T>(product, 512, 8, 64, accumulate);
        Check<T>(product, 301, 517, 37, accumulate);
        Check<T>(product, 7, 5, 4200, accumulate);
        Check<T>(product, 250, 600, 45, accumulate);
    }

    private static void Check<T>(Product product, int m, int k, int n, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int seed = Seeds.Of(product, m, k, n, accumulate);
        T[] a = Random<T>(m * k, seed);
        T[] b = Random<T>(k * n, seed + 1);
        T[] c = Random<T>((m * n) + GuardLength, seed + 2);
        if (!accumulate)
        {
            // Garbage that must be overwritten; NaN would poison any read of it.
            Array.Fill(c, T.NaN, 0, m * n);
        }

        T[] before = [.. c];

        Run<T>(product, a, b, c, m, k, n, accumulate);

        double epsilon = Epsilon<T>();
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = accumulate ? double.CreateChecked(before[(i * n) + j]) : 0;
                double scale = Math.Abs(sum);
                for (int p = 0; p < k; p++)
                {
                    double x = double.CreateChecked(ElementOfA(product, a, i, p, m, k));
                    double y = double.CreateChecked(ElementOfB(product, b, p, j, k, n));
                    sum += x * y;
                    scale += Math.Abs(x * y);
                }

                double actual = double.CreateChecked(c[(i * n) + j]);
                double tolerance = (EpsilonsPerStep * (k + 2) * epsilon * scale) + double.Epsilon;
                if (!(Math.Abs(actual - sum) <= tolerance))
                {
                    Assert.Fail($"{product}<{typeof(T).Name}>(m: {m}, k: {k}, n: {n}, accumulate: {accumulate}): C[{i}, {j}] is {actual}, expected {sum} ± {tolerance}.");
                }
            }
        }

        for (int i = m * n; i < c.Length; i++)
        {
            Assert.True(
                c[i] == before[i],
                $"{product}<{typeof(T).Name}>(m: {m}, k: {k}, n: {n}, accumulate: {accumulate}): c[{i}], past the m·n = {m * n} elements of C, changed.");
        }
    }

    private static double Epsilon<T>()
        where T : unmanaged, IFloatingPointIeee754<T> =>
        typeof(T) == typeof(float) ? MathF.BitIncrement(1f) - 1f : Math.BitIncrement(1.0) - 1.0;

    // A is m×k for A·B and A·Bᵀ, k×m for Aᵀ·B; B is k×n for A·B and Aᵀ·B, n×k for A·Bᵀ.
    private static T ElementOfA<T>(Product product, T[] a, int i, int p, int m, int k) =>
        product == Product.ATransposedB ? a[(p * m) + i] : a[(i * k) + p];

    private static T ElementOfB<T>(Product product, T[] b, int p, int j, int k, int n) =>
        product == Product.ABTransposed ? b[(j * k) + p] : b[(p * n) + j];

    private static void Run<T>(Product product, T[] a, T[] b, T[] c, int m, int k, int n, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (product)
        {
            case Product.AB:
                Gemm.Multiply<T>(a, b, c, m, k, n, accumulate);
                break;
            case Product.ABTransposed:
                Gemm.MultiplyTransposedB<T>(a, b, c, m, k, n, accumulate);
                break;
            default:
                Gemm.MultiplyTransposedA<T>(a, b, c, m, k, n, accumulate);
                break;
        }
    }

    private static double[] Random(int length, int seed) => Random<double>(length, seed);

    private static T[] Random<T>(int length, int seed)
        where T : unmanaged, IFloatingPointIeee754<T>
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
