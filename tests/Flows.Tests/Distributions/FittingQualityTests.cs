using Flows.Bijectors;
using Flows.Distributions.Presets;
using Flows.Distributions;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Distributions;

/// <summary>
/// Fitting quality on real data against the figures of PEERS.md. These are the slowest tests of the suite (tens of
/// seconds each); they fix every seed, so they are deterministic.
/// </summary>
public sealed class FittingQualityTests
{
    [Fact]
    public void MaskedAutoregressiveFlow_OnTwoMoons_ReachesTheTargetTestLogLikelihood()
    {
        // One fit, as a zuko user would run it. With the default gradient clipping seeds 0–4 reach −0.329 … −0.358
        // (unclipped: −0.32 … −0.71, which is why this test once kept the best of three restarts).
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(2, transforms: 5, hiddenFeatures: [64, 64], seed: 0);
        FitMoons(flow, learningRate: 1e-3, epochs: 400, out double logLikelihood);

        // zuko's MAF with the same budget reaches −0.362; the issue asks for at least −0.40.
        Assert.True(logLikelihood >= -0.40, $"test log-likelihood {logLikelihood:F4} < −0.40");
    }

    [Fact]
    public void NeuralSplineFlow_OnTwoMoons_ReachesTheTargetTestLogLikelihood()
    {
        TransformedDistribution<double> flow = NeuralSplineFlow.Create<double>(2, transforms: 5, binCount: 8, hiddenFeatures: [64, 64], seed: 0);
        FitMoons(flow, learningRate: 1e-3, epochs: 60, out double logLikelihood);

        // zuko's NSF with the same budget reaches −0.319; the issue asks for at least −0.35.
        Assert.True(logLikelihood >= -0.35, $"test log-likelihood {logLikelihood:F4} < −0.35");
    }

    [Fact]
    public void MaskedAutoregressive_OnStandardizedIris_BeatsAFittedGaussianUnderFiveFoldCrossValidation()
    {
        double[,] iris = Standardized(TestData.LoadCsv("iris.csv"));
        int n = iris.GetLength(0);
        int[] order = [.. Enumerable.Range(0, n)];
        new Random(1).Shuffle(order);
        double flowTotal = 0;
        double gaussianTotal = 0;
        for (int fold = 0; fold < 5; fold++)
        {
            int[] testRows = [.. order.Where((_, k) => k % 5 == fold)];
            int[] trainRows = [.. order.Where((_, k) => k % 5 != fold)];
            double[,] train = Take(iris, trainRows);
            double[,] test = Take(iris, testRows);

            TransformedDistribution<double> gaussian = MultivariateNormal.Fit(train);
            // The autoregressive layer sits on the maximum-likelihood Gaussian (its L and μ, trained further): it starts
            // at the Gaussian's fit and learns the departures from it, which 120 rows can support.
            var flow = new TransformedDistribution<double>(
                new StandardNormal<double>(4),
                new Chain<double>(new MaskedAutoregressive<double>(4, [8, 8], seed: fold), MultivariateNormal.Fit(train).Bijector));
            flow.Fit(train, new FitOptions { Epochs = 1000, BatchSize = 32, ValidationFraction = 0.2, Patience = 50, Optimizer = new AdamOptions { LearningRate = 1e-2 }, Seed = fold });

            flowTotal += flow.DensityLn(test).Average();
            gaussianTotal += gaussian.DensityLn(test).Average();
        }

        Assert.True(flowTotal / 5 > gaussianTotal / 5, $"flow {flowTotal / 5:F4} vs Gaussian {gaussianTotal / 5:F4} nats per flower");
    }

    private static FitReport FitMoons(TransformedDistribution<double> flow, double learningRate, int epochs, out double testLogLikelihood)
    {
        double[,] train = TestData.LoadCsv("moons2d_train.csv");
        double[,] test = TestData.LoadCsv("moons2d_test.csv");
        FitReport report = flow.Fit(train, new FitOptions { Epochs = epochs, BatchSize = 256, Patience = 20, Optimizer = new AdamOptions { LearningRate = learningRate }, Seed = 1 });
        testLogLikelihood = flow.DensityLn(test).Average();
        return report;
    }

    private static double[,] Standardized(double[,] data)
    {
        int n = data.GetLength(0);
        int d = data.GetLength(1);
        var result = new double[n, d];
        for (int j = 0; j < d; j++)
        {
            double mean = Enumerable.Range(0, n).Average(i => data[i, j]);
            double sd = Math.Sqrt(Enumerable.Range(0, n).Average(i => (data[i, j] - mean) * (data[i, j] - mean)));
            for (int i = 0; i < n; i++)
            {
                result[i, j] = (data[i, j] - mean) / sd;
            }
        }

        return result;
    }

    private static double[,] Take(double[,] data, int[] rows)
    {
        var result = new double[rows.Length, data.GetLength(1)];
        for (int i = 0; i < rows.Length; i++)
        {
            for (int j = 0; j < data.GetLength(1); j++)
            {
                result[i, j] = data[rows[i], j];
            }
        }

        return result;
    }
}
