using Flows.Bijectors;
using Flows.Neural;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

public sealed class HouseholderTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("Householder(d=4, k=3)", s => BijectorCases.Randomized(new Householder<double>(4, 3), s), OutputRange.Real, 1e3),
        new("Householder(d=1)", s => BijectorCases.Randomized(new Householder<double>(1), s), OutputRange.Real, 1e3),
        // Between autoregressive layers in place of a permutation, as the issue asks. Batteries to 10, as other chains that
        // mix features: the MAF stretches a 1e3 entry to ~1e5, and rotating it into an O(1) feature cancels its digits.
        new("Chain(MaskedAutoregressive, Householder, MaskedAutoregressive)(d=3)",
            s => BijectorCases.Randomized(new Chain<double>(
                new MaskedAutoregressive<double>(3, [8], seed: s), new Householder<double>(3), new MaskedAutoregressive<double>(3, [8], Orders.Reversed(3), seed: s + 1)), s, 0.3),
            OutputRange.Real, 10, 10),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("Householder", () => new Householder<T>(3, 2, seed: 5)),
    ];

    // Q against the product of the reflections formed one by one as dense matrices: an oracle sharing no code with the op.
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 3)]
    [InlineData(5, 2)]
    [InlineData(4, 7)]
    public void Matrix_EqualsTheProductOfDenseReflections(int d, int k)
    {
        var householder = BijectorCases.Randomized(new Householder<double>(d, k), seed: 3);
        double[] v = householder.Parameters[0].Values;
        double[,] expected = Identity(d);
        for (int r = 0; r < k; r++)
        {
            double norm = 0;
            for (int i = 0; i < d; i++)
            {
                norm += v[(r * d) + i] * v[(r * d) + i];
            }

            var reflection = Identity(d);
            for (int i = 0; i < d; i++)
            {
                for (int j = 0; j < d; j++)
                {
                    reflection[i, j] -= 2 * v[(r * d) + i] * v[(r * d) + j] / norm;
                }
            }

            expected = Product(expected, reflection); // H₁ ⋯ H_r
        }

        AssertClose.All(expected, householder.Matrix(), 1e-14, $"d = {d}, k = {k}");
    }

    [Theory]
    [InlineData(3, 3)]
    [InlineData(6, 2)]
    public void Matrix_IsOrthogonal_WithDeterminantSignOfTheReflectionCount(int d, int k)
    {
        double[,] q = BijectorCases.Randomized(new Householder<double>(d, k), seed: 9).Matrix();
        double[,] qtq = Product(Transposed(q), q);
        AssertClose.All(Identity(d), qtq, 1e-14, "QᵀQ");
        Assert.Equal(Math.Pow(-1, k), Determinant(q), 1e-12);
    }

    [Fact]
    public void Forward_InOneDimension_Negates()
    {
        var householder = new Householder<double>(1, seed: 2);
        (double[,] x, double[] logDet) = householder.Forward(new double[,] { { 1.5 }, { -0.25 } });
        Assert.Equal(new double[,] { { -1.5 }, { 0.25 } }, x);
        Assert.Equal([0.0, 0.0], logDet);
    }

    [Fact]
    public void Forward_IsQTimesEachRow()
    {
        var householder = BijectorCases.Randomized(new Householder<double>(3, 2), seed: 4);
        double[,] q = householder.Matrix();
        double[,] z = TestData.StandardNormal(5, 3, seed: 6);
        double[,] x = householder.Forward(z).Output;
        AssertClose.All(Transposed(Product(q, Transposed(z))), x, 1e-14, "x = Q z");
    }

    [Fact]
    public void Constructor_ThrowsForNegativeReflectionCount()
        => Assert.Throws<ArgumentOutOfRangeException>("reflectionCount", () => new Householder<double>(3, -1));

    [Fact]
    public void Constructor_ThrowsForNonPositiveDimension()
        => Assert.Throws<ArgumentOutOfRangeException>("dimension", () => new Householder<double>(0));

    // Gaussian elimination with partial pivoting.
    private static double Determinant(double[,] matrix)
    {
        var a = (double[,])matrix.Clone();
        int d = a.GetLength(0);
        double det = 1;
        for (int c = 0; c < d; c++)
        {
            int pivot = c;
            for (int r = c + 1; r < d; r++)
            {
                if (Math.Abs(a[r, c]) > Math.Abs(a[pivot, c]))
                {
                    pivot = r;
                }
            }

            if (pivot != c)
            {
                det = -det;
                for (int j = 0; j < d; j++)
                {
                    (a[c, j], a[pivot, j]) = (a[pivot, j], a[c, j]);
                }
            }

            det *= a[c, c];
            for (int r = c + 1; r < d; r++)
            {
                double factor = a[r, c] / a[c, c];
                for (int j = c; j < d; j++)
                {
                    a[r, j] -= factor * a[c, j];
                }
            }
        }

        return det;
    }

    private static double[,] Identity(int d)
    {
        var m = new double[d, d];
        for (int i = 0; i < d; i++)
        {
            m[i, i] = 1;
        }

        return m;
    }

    private static double[,] Transposed(double[,] a)
    {
        var t = new double[a.GetLength(1), a.GetLength(0)];
        for (int i = 0; i < a.GetLength(0); i++)
        {
            for (int j = 0; j < a.GetLength(1); j++)
            {
                t[j, i] = a[i, j];
            }
        }

        return t;
    }

    private static double[,] Product(double[,] a, double[,] b)
    {
        var c = new double[a.GetLength(0), b.GetLength(1)];
        for (int i = 0; i < a.GetLength(0); i++)
        {
            for (int j = 0; j < b.GetLength(1); j++)
            {
                for (int l = 0; l < a.GetLength(1); l++)
                {
                    c[i, j] += a[i, l] * b[l, j];
                }
            }
        }

        return c;
    }
}
