using Flows.Numerics;
using Flows.Tests.Testing;

namespace Flows.Tests.Numerics;

public sealed class ScalarTests
{
    // Relative error allowed against a series or exact reference: a few ulp.
    private const double FewUlp = 4e-16;

    public static TheoryData<double> SmallArguments => [1e-300, -1e-300, 1e-20, -1e-20, 1e-17, -1e-17, 1e-12, -1e-12, 1e-8, -1e-8, 1e-6, -1e-6];

    [Theory]
    [MemberData(nameof(SmallArguments))]
    public void LogP1_IsAccurateForSmallArguments(double x)
    {
        double expected = x - (x * x / 2) + (x * x * x / 3) - (x * x * x * x / 4);
        Assert.True(Math.Abs(Scalar.LogP1(x) - expected) <= FewUlp * Math.Abs(expected), $"log1p({x:R}) = {Scalar.LogP1(x):R}, series {expected:R}");
    }

    [Theory]
    [MemberData(nameof(SmallArguments))]
    public void ExpM1_IsAccurateForSmallArguments(double x)
    {
        double expected = x + (x * x / 2) + (x * x * x / 6) + (x * x * x * x / 24);
        Assert.True(Math.Abs(Scalar.ExpM1(x) - expected) <= FewUlp * Math.Abs(expected), $"expm1({x:R}) = {Scalar.ExpM1(x):R}, series {expected:R}");
    }

    [Fact]
    public void LogP1_HandlesItsDomainEdges()
    {
        Assert.Equal(double.NegativeInfinity, Scalar.LogP1(-1.0));
        Assert.True(double.IsNaN(Scalar.LogP1(-2.0)));
        Assert.Equal(double.PositiveInfinity, Scalar.LogP1(double.PositiveInfinity));
        Assert.Equal(Math.Log(1e300), Scalar.LogP1(1e300), Tolerance.ClosedForm);
    }

    [Fact]
    public void ExpM1_HandlesLargeArguments()
    {
        Assert.Equal(-1.0, Scalar.ExpM1(-800.0));
        Assert.Equal(double.PositiveInfinity, Scalar.ExpM1(800.0));
        AssertClose.Relative(Math.Exp(5) - 1, Scalar.ExpM1(5.0), Tolerance.ClosedForm, "expm1(5)");
    }

    [Theory]
    [InlineData(-700.0)]
    [InlineData(-100.0)]
    [InlineData(-40.0)]
    [InlineData(-20.0)]
    public void Softplus_KeepsRelativeAccuracyFarLeft(double x)
    {
        // softplus(x) = log1p(eˣ) = eˣ − e²ˣ/2 + … for x ≪ 0.
        double e = Math.Exp(x);
        double expected = e - (e * e / 2) + (e * e * e / 3);
        Assert.True(Math.Abs(Scalar.Softplus(x) - expected) <= FewUlp * expected, $"softplus({x}) = {Scalar.Softplus(x):R}, series {expected:R}");
    }

    [Fact]
    public void Softplus_IsExactFarRight() => Assert.Equal(1000.0, Scalar.Softplus(1000.0));

    [Theory]
    [InlineData(1e-300)]
    [InlineData(1e-12)]
    [InlineData(1e-6)]
    public void InverseSoftplus_IsAccurateNearZero(double y)
    {
        // log(expm1(y)) = log y + y/2 + y²/24 + … for small y.
        double expected = Math.Log(y) + (y / 2) + (y * y / 24);
        AssertClose.Relative(expected, Scalar.InverseSoftplus(y), FewUlp * 4, $"InverseSoftplus({y})");
    }
}
