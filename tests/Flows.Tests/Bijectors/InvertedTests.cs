using Flows.Bijectors;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

public sealed class InvertedTests
{
    [Fact]
    public void Forward_IsTheInnerInverse_Bitwise()
    {
        SinhArcsinh<double> inner = BijectorCases.Randomized(new SinhArcsinh<double>(3), seed: 1);
        var inverted = new Inverted<double>(inner);
        double[,] z = TestData.StandardNormal(16, 3, seed: 2);

        (double[,] expected, double[] expectedLogDet) = inner.Inverse(z);
        (double[,] actual, double[] actualLogDet) = inverted.Forward(z);

        AssertClose.Bitwise(expected, actual);
        AssertClose.Bitwise(expectedLogDet, actualLogDet);
    }

    [Fact]
    public void Inverse_IsTheInnerForward_Bitwise()
    {
        LowerTriangularAffine<double> inner = BijectorCases.Randomized(new LowerTriangularAffine<double>(3), seed: 3);
        var inverted = new Inverted<double>(inner);
        double[,] x = TestData.StandardNormal(16, 3, seed: 4);

        (double[,] expected, double[] expectedLogDet) = inner.Forward(x);
        (double[,] actual, double[] actualLogDet) = inverted.Inverse(x);

        AssertClose.Bitwise(expected, actual);
        AssertClose.Bitwise(expectedLogDet, actualLogDet);
    }

    [Fact]
    public void Parameters_AreSharedWithTheInner()
    {
        var inner = new Affine<double>(2);
        Assert.Same(inner.Parameters, new Inverted<double>(inner).Parameters);
    }

    [Fact]
    public void Constructor_RejectsNull()
        => Assert.Throws<ArgumentNullException>("inner", () => new Inverted<double>(null!));
}
