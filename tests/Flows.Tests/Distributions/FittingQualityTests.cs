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

    // Issue 13. The MAF preset at its defaults, fitted with the protocol zuko's figures were measured with (Adam 1e-3,
    // the whole training split as one batch, no clipping, 20 % held out for validation and checked every step, best
    // parameters restored), on a small real table: Iris under 5-fold cross-validation, 96 training rows per fit. Before
    // the presets started at the data's Gaussian and bounded their conditioners' inputs, the same fits ended 0.2 to 5
    // nats per flower below the fitted Gaussian, one flower 43 to 10⁷ nats below its Gaussian log-density
    // (benchmarks/Flows.Quality, seeds 0–4); now they end 0.13 to 0.23 nats above it, no flower more than 11 below.
    [Fact]
    public void MaskedAutoregressiveFlow_OnASmallTable_IsNoWorseThanTheFittedGaussian_AndNoHeldOutRowCollapses()
    {
        // A row may score below its Gaussian log-density, as a better model of the bulk of the data can put less
        // mass where one outlying row fell; 25 nats (a density ratio of 10⁻¹¹) bounds that without allowing a collapse.
        const double rowBound = 25;
        double[,] iris = TestData.LoadCsv("iris.csv");
        int n = iris.GetLength(0);
        int[] order = [.. Enumerable.Range(0, n)];
        new Random(1).Shuffle(order);
        double flowTotal = 0;
        double gaussianTotal = 0;
        for (int fold = 0; fold < 5; fold++)
        {
            (double[,] train, double[,] test) = StandardizedSplit(iris, [.. order.Where((_, k) => k % 5 != fold)], [.. order.Where((_, k) => k % 5 == fold)]);
            double[] gaussian = MultivariateNormal.Fit(train).DensityLn(test);
            TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(4, seed: fold);
            flow.Fit(train, new FitOptions { Epochs = 1000, ValidationFraction = 0.2, Patience = 200, MaxGradientNorm = null, Seed = fold });
            double[] logDensity = flow.DensityLn(test);

            for (int i = 0; i < logDensity.Length; i++)
            {
                Assert.True(logDensity[i] >= gaussian[i] - rowBound, $"fold {fold}, row {i}: {logDensity[i]:G6} vs the Gaussian's {gaussian[i]:G6}");
            }

            flowTotal += logDensity.Sum();
            gaussianTotal += gaussian.Sum();
        }

        Assert.True(flowTotal / n >= (gaussianTotal / n) - 0.02, $"flow {flowTotal / n:F4} vs Gaussian {gaussianTotal / n:F4} nats per flower");
    }

    private static FitReport FitMoons(TransformedDistribution<double> flow, double learningRate, int epochs, out double testLogLikelihood)
    {
        double[,] train = TestData.LoadCsv("moons2d_train.csv");
        double[,] test = TestData.LoadCsv("moons2d_test.csv");
        FitReport report = flow.Fit(train, new FitOptions { Epochs = epochs, BatchSize = 256, Patience = 20, Optimizer = new AdamOptions { LearningRate = learningRate }, Seed = 1 });
        testLogLikelihood = flow.DensityLn(test).Average();
        return report;
    }

    // The training rows standardized with their own mean and standard deviation, and the test rows with the same.
    private static (double[,] Train, double[,] Test) StandardizedSplit(double[,] data, int[] trainRows, int[] testRows)
    {
        double[,] train = Take(data, trainRows);
        double[,] test = Take(data, testRows);
        for (int j = 0; j < data.GetLength(1); j++)
        {
            double mean = Enumerable.Range(0, trainRows.Length).Average(i => train[i, j]);
            double sd = Math.Sqrt(Enumerable.Range(0, trainRows.Length).Average(i => (train[i, j] - mean) * (train[i, j] - mean)));
            foreach (double[,] part in new[] { train, test })
            {
                for (int i = 0; i < part.GetLength(0); i++)
                {
                    part[i, j] = (part[i, j] - mean) / sd;
                }
            }
        }

        return (train, test);
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
