using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Numerics;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Training;

/// <summary>Fitting a continuous flow by flow matching and by maximum likelihood (adjoint gradients).</summary>
public sealed class FlowMatchingTests
{
    private static readonly ContinuousFlowOptions Small = new()
    {
        HiddenFeatures = [16],
        Solver = new OdeOptions { Method = OdeMethod.RungeKutta4, Steps = 8 },
    };

    [Fact]
    public void FlowMatching_FitsAnAffineGaussian_CloseToItsTrueLogLikelihood()
    {
        (double[,] train, double[,] test, double truth) = AffineGaussian(rows: 1000, seed: 1);
        TransformedDistribution<double> flow = ContinuousNormalizingFlow.Create<double>(2, options: Small, seed: 2);
        double before = flow.DensityLn(test).Average();

        FitReport report = flow.Fit(train, new FitOptions
        {
            Objective = FitObjective.FlowMatching,
            Epochs = 150,
            BatchSize = 100,
            Optimizer = new AdamOptions { LearningRate = 1e-2 },
            Seed = 3,
        });

        double after = flow.DensityLn(test).Average();
        Assert.True(report.BestLoss < report.InitialLoss, $"{report}");
        // The standard normal scores the data at about −4.1 nats; the fitted flow within a few hundredths of the truth.
        Assert.True(after > before + 1, $"before {before:F3}, after {after:F3}, truth {truth:F3}");
        Assert.True(Math.Abs(after - truth) < 0.08, $"after {after:F3}, truth {truth:F3}");
    }

    [Fact]
    public void FlowMatching_GivesTheSameBitsOnAnyNumberOfThreads()
    {
        (double[,] train, _, _) = AffineGaussian(rows: 600, seed: 4);
        double[] Fit(int threads)
        {
            TransformedDistribution<double> flow = ContinuousNormalizingFlow.Create<double>(2, options: Small, seed: 5);
            flow.Fit(train, new FitOptions { Objective = FitObjective.FlowMatching, Epochs = 3, BatchSize = 300, Seed = 6, MaxDegreeOfParallelism = threads });
            return [.. flow.Parameters.SelectMany(p => p.Values)];
        }

        AssertClose.Bitwise(Fit(1), Fit(2), "1 thread vs 2");
    }

    [Fact]
    public void FlowMatching_ThrowsForAFlowWithoutAContinuousFlow()
    {
        TransformedDistribution<double> flow = RealNvpFlow.Create<double>(2, transforms: 1, hiddenFeatures: [4]);

        var exception = Assert.Throws<ArgumentException>("flow",
            () => flow.Fit(new double[10, 2], new FitOptions { Objective = FitObjective.FlowMatching }));

        Assert.Contains("ContinuousFlow", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MaximumLikelihood_WithAdjointGradients_ImprovesTheHeldOutLogLikelihood()
    {
        (double[,] train, double[,] test, double truth) = AffineGaussian(rows: 300, seed: 7);
        TransformedDistribution<double> flow = ContinuousNormalizingFlow.Create<double>(2, options: Small with { HiddenFeatures = [8] }, seed: 8);
        double before = flow.DensityLn(test).Average();

        flow.Fit(train, new FitOptions { Epochs = 30, BatchSize = 60, Optimizer = new AdamOptions { LearningRate = 1e-2 }, Seed = 9 });

        double after = flow.DensityLn(test).Average();
        Assert.True(after > before + 0.5, $"before {before:F3}, after {after:F3}, truth {truth:F3}");
    }

    [Fact]
    public void FitOptions_RefuseAnUndefinedObjective()
        => Assert.Throws<ArgumentOutOfRangeException>("Objective",
            () => ContinuousNormalizingFlow.Create<double>(2).Fit(new double[4, 2], new FitOptions { Objective = (FitObjective)7 }));

    // x = μ + L z with z standard normal, and the mean log-density of the test rows under the true distribution.
    private static (double[,] Train, double[,] Test, double Truth) AffineGaussian(int rows, int seed)
    {
        double[] mu = [1.0, -0.5];
        double[,] l = { { 0.6, 0 }, { 0.5, 0.4 } };
        double[,] Draw(int count, int s)
        {
            double[,] z = TestData.StandardNormal(count, 2, s);
            var x = new double[count, 2];
            for (int i = 0; i < count; i++)
            {
                x[i, 0] = mu[0] + (l[0, 0] * z[i, 0]);
                x[i, 1] = mu[1] + (l[1, 0] * z[i, 0]) + (l[1, 1] * z[i, 1]);
            }

            return x;
        }

        double[,] test = Draw(2000, seed + 100);
        double logDet = Math.Log(l[0, 0] * l[1, 1]);
        double truth = 0;
        for (int i = 0; i < 2000; i++)
        {
            double z0 = (test[i, 0] - mu[0]) / l[0, 0];
            double z1 = (test[i, 1] - mu[1] - (l[1, 0] * z0)) / l[1, 1];
            truth += (-0.5 * ((z0 * z0) + (z1 * z1))) - Math.Log(2 * Math.PI) - logDet;
        }

        return (Draw(rows, seed), test, truth / 2000);
    }
}
