using Flows.Inference;
using Flows.Tests.Testing;
using MathNet.Numerics.Distributions;

namespace Flows.Tests.Inference;

public sealed class PriorTests
{
    [Fact]
    public void UniformPrior_DensityLn_IsMinusTheLogVolumeInside_AndMinusInfinityOutside()
    {
        var prior = new UniformPrior<double>([-1.0, 0.0], [1.0, 0.5]);
        double[] theta = [0.0, 0.25, 1.0, 0.5, 1.01, 0.25];
        var logDensity = new double[3];

        prior.DensityLn(theta, logDensity);

        Assert.Equal(-Math.Log(2 * 0.5), logDensity[0], Tolerance.ClosedForm);
        Assert.Equal(-Math.Log(2 * 0.5), logDensity[1], Tolerance.ClosedForm);
        Assert.Equal(double.NegativeInfinity, logDensity[2]);
    }

    [Fact]
    public void UniformPrior_Sample_FillsTheBoxEvenly()
    {
        var prior = new UniformPrior<double>([-1.0, 2.0], [1.0, 3.0]);
        var draws = new double[20_000 * 2];

        prior.Sample(draws, new Random(1));

        Assert.All(draws.Where((_, i) => i % 2 == 0), v => Assert.InRange(v, -1.0, 1.0));
        Assert.All(draws.Where((_, i) => i % 2 == 1), v => Assert.InRange(v, 2.0, 3.0));
        Assert.Equal(0.0, draws.Where((_, i) => i % 2 == 0).Average(), 0.02);   // standard error 0.004
        Assert.Equal(2.5, draws.Where((_, i) => i % 2 == 1).Average(), 0.01);   // standard error 0.002
    }

    [Fact]
    public void NormalPrior_DensityLn_IsTheSumOfNormalLogDensities()
    {
        var prior = new NormalPrior<double>([1.0, -2.0], [0.5, 3.0]);
        var logDensity = new double[1];

        prior.DensityLn([0.2, 1.0], logDensity);

        Assert.Equal(Normal.PDFLn(1.0, 0.5, 0.2) + Normal.PDFLn(-2.0, 3.0, 1.0), logDensity[0], Tolerance.ClosedForm);
    }

    [Fact]
    public void NormalPrior_Sample_HasTheMeanAndStandardDeviation()
    {
        var prior = new NormalPrior<double>([1.0], [2.0]);
        var draws = new double[40_000];

        prior.Sample(draws, new Random(2));

        double mean = draws.Average();
        Assert.Equal(1.0, mean, 0.05);                                                          // standard error 0.01
        Assert.Equal(2.0, Math.Sqrt(draws.Average(v => (v - mean) * (v - mean))), 0.05);       // standard error 0.007
    }

    [Fact]
    public void UniformPrior_ThrowsForAnEmptyBox()
        => Assert.Throws<ArgumentException>("upper", () => new UniformPrior<double>([0.0, 1.0], [1.0, 1.0]));

    [Fact]
    public void NormalPrior_ThrowsForANonPositiveStandardDeviation()
        => Assert.Throws<ArgumentException>("standardDeviation", () => new NormalPrior<double>([0.0], [0.0]));

    [Fact]
    public void BoxSupport_Contains_RejectsNaN()
        => Assert.False(new BoxSupport<double>([0.0], [1.0]).Contains([double.NaN]));
}
