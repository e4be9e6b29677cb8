using Flows.Bijectors;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

// No chain case: the log-det jumps at 0, so beside a mixing layer an input of ±1e-300 can come back with the other
// sign after rounding, and the two directions' log-dets then differ by s (correctly for the points they saw).
public sealed class LeakyReLUTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("LeakyReLU(d=1)", s => BijectorCases.Randomized(new LeakyReLU<double>(1), s), OutputRange.Real, 1e3),
        new("LeakyReLU(d=3)", s => BijectorCases.Randomized(new LeakyReLU<double>(3), s), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("LeakyReLU", () => new LeakyReLU<T>(3)),
    ];

    [Fact]
    public void Constructor_ThrowsForNonPositiveDimension()
        => Assert.Throws<ArgumentOutOfRangeException>("dimension", () => new LeakyReLU<double>(0));

    [Fact]
    public void Forward_MatchesTheClosedForm_OnBothSides()
    {
        var bijector = new LeakyReLU<double>(2);
        bijector.LogSlope.Values[0] = Math.Log(0.25);
        bijector.LogSlope.Values[1] = Math.Log(3.0);

        (double[,] x, double[] logDet) = bijector.Forward(new[,] { { -2.0, 5.0 }, { 4.0, -1.0 }, { -8.0, -0.5 } });

        AssertClose.All(new[,] { { -0.5, 5.0 }, { 4.0, -3.0 }, { -2.0, -1.5 } }, x, 1e-15);
        AssertClose.All([Math.Log(0.25), Math.Log(3.0), Math.Log(0.25) + Math.Log(3.0)], logDet, 1e-15);
    }

    [Fact]
    public void ZeroParameters_GiveTheIdentity()
    {
        double[,] z = TestData.StandardNormal(16, 3, seed: 1);
        (double[,] x, double[] logDet) = new LeakyReLU<double>(3).Forward(z);
        AssertClose.Bitwise(z, x);
        Assert.All(logDet, v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void ToString_NamesTheDimension()
        => Assert.Equal("LeakyReLU(dimension: 4)", new LeakyReLU<double>(4).ToString());
}
