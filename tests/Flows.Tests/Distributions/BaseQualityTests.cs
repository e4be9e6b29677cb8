using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Distributions;

/// <summary>
/// Issue 15's figures for the new bases, at unit-test size (the full-size figures come from
/// <c>benchmarks/Flows.Quality</c> with <c>--data gmm4-20000</c> and <c>--data student2-5000</c>, quoted in the README).
/// </summary>
public sealed class BaseQualityTests
{
    [Fact]
    public void GaussianMixtureBase_FitsFourSeparatedModesWithinFiveHundredthsOfANatWithOneLayer_WhereANormalBaseDoesNot()
    {
        double[,] train = GaussianMixtureTests.FourClusters(4000, seed: 11);
        double[,] test = GaussianMixtureTests.FourClusters(4000, seed: 12);
        double truth = FourClustersLogDensity(test);
        var options = new FitOptions { Epochs = 5, Seed = 3 };

        var mixtureBase = new TransformedDistribution<double>(new GaussianMixture<double>(2, 4, seed: 1),
            MaskedAutoregressiveFlow.Create<double>(2, transforms: 1, seed: 1).Bijector);
        mixtureBase.Fit(train, options);
        TransformedDistribution<double> normalBase = MaskedAutoregressiveFlow.Create<double>(2, transforms: 1, seed: 1);
        normalBase.Fit(train, options);

        double mixture = mixtureBase.DensityLn(test).Average();
        double normal = normalBase.DensityLn(test).Average();
        Assert.True(Math.Abs(mixture - truth) < 0.05, $"GMM base {mixture:F4}, truth {truth:F4}");
        Assert.True(normal < truth - 0.5, $"normal base {normal:F4}, truth {truth:F4}");
    }

    [Fact]
    public void StudentTBase_OnStudentT2Data_ScoresAtLeastTheNormalBase_LearnsTwoDegreesOfFreedom_WithFiniteLosses()
    {
        double[,] train = StudentT2(2000, seed: 21);
        double[,] test = StudentT2(4000, seed: 22);
        // 1,600 training rows in batches of 200: 8 steps an epoch, 250 epochs, no early stop (the benchmark runs 10,000 steps).
        var options = new FitOptions { Epochs = 250, Patience = 250, BatchSize = 200, Seed = 4, Optimizer = new AdamOptions { LearningRate = 1e-2 } };

        var tBase = new TransformedDistribution<double>(new StudentT<double>(2), new LowerTriangularAffine<double>(2));
        FitReport tReport = tBase.Fit(train, options);
        var normalBase = new TransformedDistribution<double>(new StandardNormal<double>(2), new LowerTriangularAffine<double>(2));
        normalBase.Fit(train, options with { Epochs = 100, Patience = 100 });

        Assert.Equal(2000, tReport.Steps);
        Assert.NotEqual(FitStatus.Diverged, tReport.Status);
        Assert.All(tReport.History, e => Assert.True(double.IsFinite(e.TrainLoss) && double.IsFinite(e.ValidationLoss!.Value)));
        double t = tBase.DensityLn(test).Average();
        double normal = normalBase.DensityLn(test).Average();
        Assert.True(t >= normal, $"t base {t:F4}, normal base {normal:F4}");
        double[] nu = ((StudentT<double>)tBase.BaseDistribution).DegreesOfFreedom;
        Assert.All(nu, v => Assert.InRange(v, 1.5, 3));
    }

    // x = (t₁ + 0.5 t₂, t₂), tⱼ ~ Student-t(2).
    private static double[,] StudentT2(int rows, int seed)
    {
        var random = new Random(seed);
        var x = new double[rows, 2];
        for (int i = 0; i < rows; i++)
        {
            double t1 = MathNet.Numerics.Distributions.StudentT.Sample(random, 0, 1, 2);
            double t2 = MathNet.Numerics.Distributions.StudentT.Sample(random, 0, 1, 2);
            x[i, 0] = t1 + (0.5 * t2);
            x[i, 1] = t2;
        }

        return x;
    }

    private static double FourClustersLogDensity(double[,] x)
    {
        double[] weights = [0.1, 0.2, 0.3, 0.4];
        return Enumerable.Range(0, x.GetLength(0)).Average(i => Math.Log(Enumerable.Range(0, 4).Sum(k =>
            weights[k] * MathNet.Numerics.Distributions.Normal.PDF(k % 2 == 0 ? -3 : 3, 0.5, x[i, 0])
                * MathNet.Numerics.Distributions.Normal.PDF(k < 2 ? -3 : 3, 0.5, x[i, 1]))));
    }
}
