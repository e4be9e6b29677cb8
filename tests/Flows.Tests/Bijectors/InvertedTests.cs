using Flows.Bijectors;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

public sealed class InvertedTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("Inverted(SinhArcsinh)(d=2)", s => BijectorCases.Randomized(new Inverted<double>(new SinhArcsinh<double>(2)), s), OutputRange.Real, 1e3),
        new("Inverted(LowerTriangularAffine)(d=3)", s => BijectorCases.Randomized(new Inverted<double>(new LowerTriangularAffine<double>(3)), s), OutputRange.Real, 1e3),
        new("Inverted(MaskedAutoregressive)(d=3)",
            s => BijectorCases.Randomized(new Inverted<double>(new MaskedAutoregressive<double>(3, [7], seed: s)), s, 0.3), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("Inverted(SinhArcsinh)", () => new Inverted<T>(new SinhArcsinh<T>(2))),
        new("Inverted(MaskedAutoregressive)", () => new Inverted<T>(new MaskedAutoregressive<T>(3, [5], transform: new AffineTransform<T>(2.5), seed: 4))),
    ];

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
