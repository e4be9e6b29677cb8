using Flows.Bijectors;
using Flows.Distributions;
using Flows.Tests.Testing;
using MathNet.Numerics.Distributions;

namespace Flows.Tests.Bijectors;

public sealed class AffineTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("Affine(d=1)", s => BijectorCases.Randomized(new Affine<double>(1), s), OutputRange.Real, 1e3),
        new("Affine(d=3)", s => BijectorCases.Randomized(new Affine<double>(3), s), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("Affine", () => new Affine<T>(3)),
    ];

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Constructor_ThrowsForNonPositiveDimension(int value)
        => Assert.Throws<ArgumentOutOfRangeException>("dimension", () => new Affine<double>(value));

    [Fact]
    public void ZeroParameters_GiveTheIdentity()
    {
        var bijector = new Affine<double>(3);
        double[,] z = TestData.StandardNormal(16, 3, seed: 1);

        (double[,] x, double[] forwardLogDet) = bijector.Forward(z);
        (double[,] zAgain, double[] inverseLogDet) = bijector.Inverse(z);

        AssertClose.Bitwise(z, x);
        AssertClose.Bitwise(z, zAgain);
        Assert.All(forwardLogDet, v => Assert.Equal(0.0, v));
        Assert.All(inverseLogDet, v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void Forward_IsShiftPlusScaledInput_WithLogDetSumOfLogScales()
    {
        Affine<double> bijector = BijectorCases.Randomized(new Affine<double>(3), seed: 2, scale: 1);
        double[,] z = TestData.StandardNormal(16, 3, seed: 3);

        (double[,] x, double[] logDet) = bijector.Forward(z);

        double sumLogScale = bijector.LogScale.Values.Sum();
        for (int i = 0; i < 16; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                AssertClose.Relative(bijector.Shift.Values[j] + (Math.Exp(bijector.LogScale.Values[j]) * z[i, j]), x[i, j], Tolerance.ClosedForm, $"x[{i}, {j}]");
            }

            AssertClose.Relative(sumLogScale, logDet[i], Tolerance.ClosedForm, $"log-det of row {i}");
        }
    }

    [Fact]
    public void DensityLn_OnAStandardNormalBase_EqualsTheProductOfMathNetNormals()
    {
        Affine<double> bijector = BijectorCases.Randomized(new Affine<double>(3), seed: 4, scale: 1);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(3), bijector);
        double[,] x = TestData.StandardNormal(32, 3, seed: 5, scale: 3);

        double[] logDensity = flow.DensityLn(x);

        for (int i = 0; i < 32; i++)
        {
            double expected = 0;
            for (int j = 0; j < 3; j++)
            {
                expected += Normal.PDFLn(bijector.Shift.Values[j], Math.Exp(bijector.LogScale.Values[j]), x[i, j]);
            }

            AssertClose.Relative(expected, logDensity[i], Tolerance.ClosedForm, $"row {i}");
        }
    }

    [Fact]
    public void ToString_IsConstructorLike() => Assert.Equal("Affine(dimension: 3)", new Affine<double>(3).ToString());
}
