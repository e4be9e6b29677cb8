using Flows.Distributions;
using Flows.Tests.Testing;

namespace Flows.Tests.Distributions;

public sealed class UniformBoxTests
{
    [Fact]
    public void DensityLn_IsMinusDLogWidthInsideAndMinusInfinityOutside()
    {
        var box = new UniformBox<double>(2, -1, 3);
        double[] x = [0, 0, -1, 3, 3.0000001, 0, 0, -1.5];
        var destination = new double[4];

        box.DensityLn(x, destination);

        Assert.Equal(-2 * Math.Log(4), destination[0], 15);
        Assert.Equal(-2 * Math.Log(4), destination[1], 15);
        Assert.Equal(double.NegativeInfinity, destination[2]);
        Assert.Equal(double.NegativeInfinity, destination[3]);
    }

    [Fact]
    public void Samples_LieInTheBoxAndAreUniform()
    {
        var box = new UniformBox<float>(2, 2, 5);
        var samples = new float[2 * 10_000];
        box.Sample(samples, new Random(3));

        Assert.All(samples, v => Assert.InRange(v, 2f, 5f));
        // Each feature's mean is 3.5 and variance 0.75: the mean of 10,000 draws is within 4 standard errors (0.035).
        Assert.InRange(samples.Where((_, i) => i % 2 == 0).Average(v => (double)v), 3.465, 3.535);
        Assert.InRange(samples.Where((_, i) => i % 2 == 1).Average(v => (double)v), 3.465, 3.535);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(0, double.NaN)]
    [InlineData(0, double.PositiveInfinity)]
    public void Constructor_ThrowsForAnEmptyOrInfiniteBox(double lower, double upper)
        => Assert.Throws<ArgumentOutOfRangeException>(nameof(upper), () => new UniformBox<double>(2, lower, upper));

    [Fact]
    public void Constructor_ThrowsForAnInfiniteLowerBound()
        => Assert.Throws<ArgumentOutOfRangeException>("lower", () => new UniformBox<double>(2, double.NegativeInfinity, 1));
}
