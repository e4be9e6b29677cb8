using Flows.Numerics;
using Flows.Tests.Testing;
using MathNet.Numerics.LinearAlgebra;
using Xunit.Sdk;

namespace Flows.Tests.Numerics;

/// <summary>
/// log|det M| by pivoted LU and M⁻¹ by Gauss–Jordan, against MathNet and exact values, with errors bounded per unit of
/// the condition number κ(M) (backward stability).
/// </summary>
public sealed class DenseDeterminantTests
{
    // Exponents of the diagonal of U in the ill-conditioned case: det M = 2^−Σe exactly, κ(M) ≈ 1e9 or more.
    private static readonly int[] s_exponents = [0, 3, 7, 11, 15, 20, 25, 30];

    public static TheoryData<int> Orders => [1, 2, 3, 5, 8, 16];

    [Theory]
    [MemberData(nameof(Orders))]
    public void LogAbs_MatchesMathNet_ForRandomMatrices(int d)
    {
        double[,] m = TestData.StandardNormal(d, d, Seeds.Of(d, 1));
        Matrix<double> oracle = Matrix<double>.Build.DenseOfArray(m);
        double expected = Math.Log(Math.Abs(oracle.Determinant()));

        double actual = DenseDeterminant.LogAbs<double>(TestData.Flatten(m), d, default);

        AssertWithin(expected, actual, Tolerance.DenseLuPerConditionNumber * oracle.ConditionNumber(), $"d = {d}");
    }

    [Theory]
    [MemberData(nameof(Orders))]
    public void Inverse_MatchesMathNet_ForRandomMatrices(int d)
    {
        double[,] m = TestData.StandardNormal(d, d, Seeds.Of(d, 2));

        AssertInverseMatchesMathNet(m, $"d = {d}");
    }

    [Fact]
    public void LogAbs_OfAnIllConditionedMatrix_MatchesItsExactLogDeterminant()
    {
        double[,] m = IllConditioned();
        double condition = Matrix<double>.Build.DenseOfArray(m).ConditionNumber();
        Assert.True(condition > 1e8, $"precondition: κ = {condition:G3} should exceed 1e8");
        double expected = -Math.Log(2) * s_exponents.Sum();

        double actual = DenseDeterminant.LogAbs<double>(TestData.Flatten(m), s_exponents.Length, default);

        AssertWithin(expected, actual, Tolerance.DenseLuPerConditionNumber * condition, $"κ = {condition:G3}");
    }

    [Fact]
    public void Inverse_OfAnIllConditionedMatrix_MatchesMathNet()
    {
        double[,] m = IllConditioned();

        AssertInverseMatchesMathNet(m, "ill-conditioned");
    }

    [Fact]
    public void LogAbs_WithAZeroLeadingEntry_Pivots()
    {
        // Without a row swap the first pivot would be 0 and the result −∞ or NaN; det M = −5.
        double[,] m = { { 0, 2, 1 }, { 1, 1, 0 }, { 3, 0, 1 } };
        double condition = Matrix<double>.Build.DenseOfArray(m).ConditionNumber();

        double actual = DenseDeterminant.LogAbs<double>(TestData.Flatten(m), 3, default);

        AssertWithin(Math.Log(5), actual, Tolerance.DenseLuPerConditionNumber * condition, "log|det M|");
    }

    [Fact]
    public void Inverse_WithAZeroLeadingEntry_Pivots()
    {
        AssertInverseMatchesMathNet(new double[,] { { 0, 2, 1 }, { 1, 1, 0 }, { 3, 0, 1 } }, "zero leading entry");
    }

    [Theory]
    [MemberData(nameof(Orders))]
    public void LogAbs_IsTheSameWithAndWithoutTheInverse_Bitwise(int d)
    {
        // The inverse only adds eliminations above each pivot, which never touch a later pivot.
        double[] m = TestData.StandardNormal(d * d, Seeds.Of(d, 3));
        double[] copy = [.. m];

        double alone = DenseDeterminant.LogAbs<double>(m, d, default);
        double withInverse = DenseDeterminant.LogAbs<double>(copy, d, new double[d * d]);

        AssertClose.Bitwise([alone], [withInverse], $"d = {d}");
    }

    [Fact]
    public void LogAbs_OfTheEmptyMatrix_IsZero()
    {
        Assert.Equal(0.0, DenseDeterminant.LogAbs<double>([], 0, default));
    }

    [Fact]
    public void LogAbs_OfASingularMatrix_IsNotFinite()
    {
        double[] m = [1, 2, 2, 4];

        double actual = DenseDeterminant.LogAbs<double>(m, 2, default);

        Assert.False(double.IsFinite(actual), $"got {actual:R}");
    }

    // M = L·U with L unit lower-triangular and U upper-triangular, both with small integer entries off the diagonal and
    // U's diagonal 2^−e: every entry of M is exact in double, det M = Π 2^−e exactly, and M is badly conditioned.
    private static double[,] IllConditioned()
    {
        int d = s_exponents.Length;
        var random = new Random(Seeds.Of("ill-conditioned"));
        var l = new double[d, d];
        var u = new double[d, d];
        for (int i = 0; i < d; i++)
        {
            l[i, i] = 1;
            u[i, i] = Math.Pow(2, -s_exponents[i]);
            for (int j = 0; j < i; j++)
            {
                l[i, j] = random.Next(-3, 4);
                u[j, i] = random.Next(-3, 4);
            }
        }

        return (Matrix<double>.Build.DenseOfArray(l) * Matrix<double>.Build.DenseOfArray(u)).ToArray();
    }

    private static void AssertInverseMatchesMathNet(double[,] m, string because)
    {
        int d = m.GetLength(0);
        Matrix<double> oracle = Matrix<double>.Build.DenseOfArray(m);
        double[] expected = oracle.Inverse().ToRowMajorArray();
        double scale = expected.Max(Math.Abs);
        double tolerance = Tolerance.DenseLuPerConditionNumber * oracle.ConditionNumber() * scale;
        double[] inverse = new double[d * d];

        DenseDeterminant.LogAbs<double>(TestData.Flatten(m), d, inverse);

        for (int k = 0; k < expected.Length; k++)
        {
            AssertWithin(expected[k], inverse[k], tolerance, $"{because}: M⁻¹[{k / d}, {k % d}]");
        }
    }

    private static void AssertWithin(double expected, double actual, double tolerance, string because)
    {
        if (!(Math.Abs(actual - expected) <= tolerance))
        {
            throw new XunitException($"{because}: expected {expected:R}, got {actual:R} (difference {actual - expected:G3}, tolerance {tolerance:G3}).");
        }
    }
}
