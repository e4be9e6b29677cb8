using Flows.Autodiff;
using Flows.Training;

namespace Flows.Tests.Training;

public sealed class GradientClippingTests
{
    private static Parameter<double>[] WithGradients(double[] first, double[] second)
    {
        var a = new Parameter<double>("a", 1, first.Length);
        var b = new Parameter<double>("b", 1, second.Length);
        first.CopyTo(a.Gradients, 0);
        second.CopyTo(b.Gradients, 0);
        return [a, b];
    }

    [Fact]
    public void GlobalNorm_IsTheEuclideanNormOfAllGradientsTogether()
        => Assert.Equal(Math.Sqrt(9 + 16 + 144), GradientClipping.GlobalNorm(WithGradients([3, 4], [12])), 1e-15);

    [Fact]
    public void ClipByGlobalNorm_ScalesAllGradientsTogetherToTheLimit()
    {
        Parameter<double>[] parameters = WithGradients([3, 4], [12]); // norm 13

        double before = GradientClipping.ClipByGlobalNorm(parameters, 6.5);

        Assert.Equal(13, before, 1e-15);
        Assert.Equal(6.5, GradientClipping.GlobalNorm(parameters), 1e-14);
        Assert.Equal([1.5, 2.0], parameters[0].Gradients);
        Assert.Equal([6.0], parameters[1].Gradients);
    }

    [Fact]
    public void ClipByGlobalNorm_LeavesGradientsBelowTheLimitUnchanged()
    {
        Parameter<double>[] parameters = WithGradients([0.3, -0.4], [1.2]);

        GradientClipping.ClipByGlobalNorm(parameters, 10.0);

        Assert.Equal([0.3, -0.4], parameters[0].Gradients);
        Assert.Equal([1.2], parameters[1].Gradients);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    public void ClipByGlobalNorm_RejectsANonPositiveLimit(double limit)
        => Assert.Throws<ArgumentOutOfRangeException>("maxNorm", () => GradientClipping.ClipByGlobalNorm(WithGradients([1], [1]), limit));
}
