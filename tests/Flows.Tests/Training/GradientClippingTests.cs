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

    // A fit's norm and clipping run one parameter per item on its threads: at any degree, the bits of the one-thread
    // static methods, and the norm within rounding of a plain sum of squares.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void GradientNorm_OnAnyNumberOfThreads_GivesTheBitsOfTheStaticMethods(int degree)
    {
        Parameter<double>[] reference = RandomGradients();
        Parameter<double>[] parallel = RandomGradients();
        var gradientNorm = new GradientNorm<double>(parallel);
        double norm = gradientNorm.Compute(degree);
        Assert.Equal(GradientClipping.GlobalNorm(reference), norm);
        Assert.Equal(Math.Sqrt(reference.Sum(p => p.Gradients.Sum(g => g * g))), norm, 1e-12);

        Assert.Equal(norm, GradientClipping.ClipByGlobalNorm(reference, 1.5));
        gradientNorm.Clip(1.5, norm, degree);
        for (int p = 0; p < reference.Length; p++)
        {
            Assert.Equal(reference[p].Gradients, parallel[p].Gradients);
        }

        Assert.Equal(1.5, gradientNorm.Compute(degree), 1e-12);
        // Below the limit nothing changes.
        gradientNorm.Clip(2.0, 1.5, degree);
        Assert.Equal(reference[0].Gradients, parallel[0].Gradients);
    }

    private static Parameter<double>[] RandomGradients()
    {
        var random = new Random(5);
        Parameter<double>[] parameters = [new("w1", 300, 200), new("b1", 1, 3), new("w2", 70, 90), new("b2", 1, 1)];
        foreach (Parameter<double> p in parameters)
        {
            for (int i = 0; i < p.Gradients.Length; i++)
            {
                p.Gradients[i] = random.NextDouble() - 0.5;
            }
        }

        return parameters;
    }
}
