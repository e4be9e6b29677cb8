using Flows.Numerics;
using Flows.Tests.Testing;
using MathNet.Numerics.LinearAlgebra;

namespace Flows.Tests.Numerics;

/// <summary>
/// The small m × m products and the dot product: bit for bit against a naive loop in the documented summation order,
/// and against MathNet as an independent oracle, for every m from 0 to 17.
/// </summary>
public sealed class SmallMatrixTests
{
    /// <summary>Which of the three products a test runs.</summary>
    public enum Product
    {
        /// <summary><c>C = AB</c>.</summary>
        AB,

        /// <summary><c>C = AᵀB</c>.</summary>
        ATransposedB,

        /// <summary><c>C = ABᵀ</c>.</summary>
        ABTransposed,
    }

    private const int MaxOrder = 17;

    // Elements after the m·m of C that must come back untouched.
    private const int GuardLength = 5;

    public static TheoryData<Product> Products() => [.. Enum.GetValues<Product>()];

    [Theory]
    [MemberData(nameof(Products))]
    public void Product_EqualsTheNaiveLoopInItsSummationOrder_Bitwise_ForEveryOrderFrom0To17(Product product)
    {
        for (int m = 0; m <= MaxOrder; m++)
        {
            double[] a = TestData.StandardNormal(m * m, Seeds.Of(product, m, 1));
            double[] b = TestData.StandardNormal(m * m, Seeds.Of(product, m, 2));
            double[] expected = NaiveProduct(product, a, b, m);

            // The destination is longer than m·m and pre-filled, so a stray write past C shows up too.
            double[] c = new double[(m * m) + GuardLength];
            Array.Fill(c, double.NaN);
            Run(product, a, b, c, m);

            AssertClose.Bitwise(expected, c.AsSpan(0, m * m), $"{product}, m = {m}");
            Assert.All(c[(m * m)..], value => Assert.True(double.IsNaN(value), $"{product}, m = {m}: wrote past C"));
        }
    }

    [Theory]
    [MemberData(nameof(Products))]
    public void Product_MatchesMathNet_ForEveryOrderFrom0To17(Product product)
    {
        for (int m = 0; m <= MaxOrder; m++)
        {
            double[] a = TestData.StandardNormal(m * m, Seeds.Of(product, m, 3));
            double[] b = TestData.StandardNormal(m * m, Seeds.Of(product, m, 4));
            Matrix<double> ma = FromRowMajor(a, m);
            Matrix<double> mb = FromRowMajor(b, m);
            Matrix<double> expected = product switch
            {
                Product.AB => ma * mb,
                Product.ATransposedB => ma.TransposeThisAndMultiply(mb),
                _ => ma.TransposeAndMultiply(mb),
            };

            double[] c = new double[m * m];
            Run(product, a, b, c, m);

            AssertClose.All(expected.ToRowMajorArray(), c, Tolerance.SmallMatrixProduct, $"{product}, m = {m}");
        }
    }

    [Fact]
    public void Dot_EqualsTheNaiveLoop_Bitwise_ForEveryLengthFrom0To17()
    {
        for (int length = 0; length <= MaxOrder; length++)
        {
            double[] a = TestData.StandardNormal(length, Seeds.Of(length, 5));
            double[] b = TestData.StandardNormal(length, Seeds.Of(length, 6));
            double expected = 0;
            for (int j = 0; j < length; j++)
            {
                expected += a[j] * b[j];
            }

            AssertClose.Bitwise([expected], [SmallMatrix.Dot<double>(a, b)], $"length {length}");
        }
    }

    [Fact]
    public void Dot_MatchesMathNet_ForEveryLengthFrom0To17()
    {
        for (int length = 0; length <= MaxOrder; length++)
        {
            double[] a = TestData.StandardNormal(length, Seeds.Of(length, 7));
            double[] b = TestData.StandardNormal(length, Seeds.Of(length, 8));
            double expected = Vector<double>.Build.DenseOfArray(a).DotProduct(Vector<double>.Build.DenseOfArray(b));

            AssertClose.Relative(expected, SmallMatrix.Dot<double>(a, b), Tolerance.SmallMatrixProduct, $"length {length}");
        }
    }

    [Fact]
    public void Float_Product_EqualsTheNaiveLoopInItsSummationOrder_Bitwise()
    {
        // The generic code in float rounds every product and sum in float, in the same order.
        const int m = 7;
        float[] a = [.. TestData.StandardNormal(m * m, seed: 9).Select(v => (float)v)];
        float[] b = [.. TestData.StandardNormal(m * m, seed: 10).Select(v => (float)v)];
        float[] c = new float[m * m];
        SmallMatrix.Multiply<float>(a, b, c, m);

        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < m; j++)
            {
                float sum = 0;
                for (int l = 0; l < m; l++)
                {
                    sum += a[(i * m) + l] * b[(l * m) + j];
                }

                Assert.Equal(BitConverter.SingleToInt32Bits(sum), BitConverter.SingleToInt32Bits(c[(i * m) + j]));
            }
        }
    }

    private static void Run(Product product, double[] a, double[] b, Span<double> c, int m)
    {
        switch (product)
        {
            case Product.AB:
                SmallMatrix.Multiply<double>(a, b, c, m);
                break;
            case Product.ATransposedB:
                SmallMatrix.MultiplyTransposedLeft<double>(a, b, c, m);
                break;
            default:
                SmallMatrix.MultiplyTransposedRight<double>(a, b, c, m);
                break;
        }
    }

    // c_ij = ((x_i0·y_0j + x_i1·y_1j) + …), each product and sum rounded, l ascending: the order SmallMatrix documents.
    private static double[] NaiveProduct(Product product, double[] a, double[] b, int m)
    {
        var c = new double[m * m];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < m; j++)
            {
                double sum = 0;
                for (int l = 0; l < m; l++)
                {
                    double left = product == Product.ATransposedB ? a[(l * m) + i] : a[(i * m) + l];
                    double right = product == Product.ABTransposed ? b[(j * m) + l] : b[(l * m) + j];
                    sum += left * right;
                }

                c[(i * m) + j] = sum;
            }
        }

        return c;
    }

    private static Matrix<double> FromRowMajor(double[] values, int m) => Matrix<double>.Build.Dense(m, m, (i, j) => values[(i * m) + j]);
}
