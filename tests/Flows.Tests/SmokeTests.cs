using Flows.Bijectors;
using Flows.Distributions;

namespace Flows.Tests;

public sealed class SmokeTests
{
    [Fact]
    public void AffineFlow_DensityOfStandardNormalAtZero()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Affine<double>(2));
        double[] logp = flow.DensityLn(new double[,] { { 0, 0 } });
        Assert.Equal(-Math.Log(2 * Math.PI), logp[0], 1e-14);
    }
}
