using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Persistence;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Bijectors;

public sealed class BatchNormTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("BatchNorm(d=3, evaluation)", s => BijectorCases.Randomized(BatchNormTests.InEvaluation(3, s), s), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("BatchNorm", () => new BatchNorm<T>(3) { IsTraining = false }),
    ];

    [Theory]
    [InlineData(0)]
    [InlineData(-1.5)]
    [InlineData(1.5)]
    public void Constructor_ThrowsForMomentumOutside0To1(double momentum)
        => Assert.Throws<ArgumentOutOfRangeException>(nameof(momentum), () => new BatchNorm<double>(2, momentum: momentum));

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Constructor_ThrowsForEpsilonOutside0To1(double epsilon)
        => Assert.Throws<ArgumentOutOfRangeException>(nameof(epsilon), () => new BatchNorm<double>(2, epsilon: epsilon));

    [Fact]
    public void Constructor_ThrowsForNonPositiveDimension()
        => Assert.Throws<ArgumentOutOfRangeException>("dimension", () => new BatchNorm<double>(0));

    [Fact]
    public void NewLayer_IsTheIdentityInEvaluation()
    {
        var bijector = new BatchNorm<double>(3);
        double[,] x = TestData.StandardNormal(10, 3, seed: 1);

        (double[,] z, double[] logDet) = bijector.Inverse(x);

        AssertClose.All(x, z, 1e-15);
        Assert.All(logDet, v => Assert.True(Math.Abs(v) <= 1e-15));
    }

    [Fact]
    public void EvaluationInverse_MatchesTheClosedForm()
    {
        var bijector = new BatchNorm<double>(2) { IsTraining = false };
        double[] mean = [1.5, -2];
        double[] variance = [4, 0.25];
        mean.CopyTo(bijector.RunningMean);
        variance.CopyTo(bijector.RunningVariance);
        double[] logGamma = [0.3, -0.7];
        double[] beta = [0.1, 0.2];
        logGamma.CopyTo(bijector.LogGamma.Values, 0);
        beta.CopyTo(bijector.Beta.Values, 0);
        double[,] x = TestData.StandardNormal(5, 2, seed: 2);

        (double[,] z, double[] logDet) = bijector.Inverse(x);

        double eps = bijector.Epsilon;
        double expectedLogDet = 0;
        for (int j = 0; j < 2; j++)
        {
            expectedLogDet += logGamma[j] - (0.5 * Math.Log(variance[j] + eps));
            for (int i = 0; i < 5; i++)
            {
                double expected = (Math.Exp(logGamma[j]) * (x[i, j] - mean[j]) / Math.Sqrt(variance[j] + eps)) + beta[j];
                AssertClose.Relative(expected, z[i, j], 1e-14, $"z[{i}, {j}]");
            }
        }

        Assert.All(logDet, v => AssertClose.Relative(expectedLogDet, v, 1e-14, "log-det"));
    }

    [Fact]
    public void TrainingInverse_UsesBatchStatistics_AndUpdatesTheRunningAverages()
    {
        var bijector = new BatchNorm<double>(2, momentum: 0.25);
        double[,] x = TestData.StandardNormal(64, 2, seed: 3, scale: 3);
        var tape = new Tape<double>(isTraining: true);

        Node<double> z = bijector.Inverse(tape, tape.Constant(TestData.Flatten(x), 64, 2)).Output;

        double[,] zs = new double[64, 2];
        for (int k = 0; k < 128; k++)
        {
            zs[k / 2, k % 2] = z.Values[k];
        }

        for (int j = 0; j < 2; j++)
        {
            (double mean, double variance) = Moments(x, j);
            (double zMean, double zVariance) = Moments(zs, j);
            Assert.True(Math.Abs(zMean) <= 1e-14, $"feature {j}: mean {zMean:G3}");
            AssertClose.Relative(variance / (variance + bijector.Epsilon), zVariance, 1e-13, $"feature {j} variance");
            AssertClose.Relative(0.25 * mean, bijector.RunningMean[j], 1e-14, "running mean");
            AssertClose.Relative((0.75 * (1 - bijector.Epsilon)) + (0.25 * variance), bijector.RunningVariance[j], 1e-14, "running variance");
        }
    }

    [Fact]
    public void NonRecordingTape_UsesRunningStatistics_EvenInTraining()
    {
        var bijector = new BatchNorm<double>(2);
        double[,] x = TestData.StandardNormal(16, 2, seed: 4, scale: 5);

        double[,] z = bijector.Inverse(x).Output;

        AssertClose.All(x, z, 1e-15); // still the initial running statistics (0, 1 − ε): nothing was learned
        Assert.Equal(0.0, bijector.RunningMean[0]);
    }

    // Recording says only that gradients are wanted (the sticking-the-landing log q, a custom objective); the batch
    // statistics belong to training. So a recording tape outside training is the evaluation map, bit for bit.
    [Fact]
    public void RecordingTapeOutsideTraining_UsesRunningStatistics_BitEqualToANonRecordingEvaluation()
    {
        BatchNorm<double> bijector = SeededRunningStatistics(BijectorCases.Randomized(new BatchNorm<double>(3), seed: 12), seed: 13);
        double[] runningMean = bijector.RunningMean.ToArray();
        double[] runningVariance = bijector.RunningVariance.ToArray();
        double[,] x = TestData.StandardNormal(16, 3, seed: 14, scale: 4);
        (double[,] expected, double[] expectedLogDet) = bijector.Inverse(x);
        var tape = new Tape<double>(); // recording, with training off (the default)
        Node<double> input = tape.Variable(TestData.Flatten(x), 16, 3);

        (Node<double> z, Node<double> logDet) = bijector.Inverse(tape, input);

        Assert.True(tape.IsRecording && !tape.IsTraining, "precondition: a recording tape outside training");
        AssertClose.Bitwise(TestData.Flatten(expected), z.Values, "outputs");
        AssertClose.Bitwise(expectedLogDet, logDet.Values, "log-dets");
        Assert.Equal(runningMean, bijector.RunningMean.ToArray());
        Assert.Equal(runningVariance, bijector.RunningVariance.ToArray());
    }

    // Training mode, not recording, is what selects the batch statistics: a training pass without gradients (as under
    // PyTorch's no_grad in train mode) still standardizes its batch and updates the running averages.
    [Fact]
    public void TrainingTape_UsesBatchStatistics_EvenWhenNotRecording()
    {
        var bijector = new BatchNorm<double>(2, momentum: 0.5);
        double[,] x = TestData.StandardNormal(32, 2, seed: 15, scale: 3);
        var tape = new Tape<double>(isRecording: false, isTraining: true);

        Node<double> z = bijector.Inverse(tape, tape.Constant(TestData.Flatten(x), 32, 2)).Output;

        for (int j = 0; j < 2; j++)
        {
            (double mean, double variance) = Moments(x, j);
            double zMean = 0;
            for (int i = 0; i < 32; i++)
            {
                zMean += z.Values[(i * 2) + j];
            }

            Assert.True(Math.Abs(zMean / 32) <= 1e-14, $"feature {j}: mean {zMean / 32:G3}");
            AssertClose.Relative(0.5 * mean, bijector.RunningMean[j], 1e-14, "running mean");
            AssertClose.Relative((0.5 * (1 - bijector.Epsilon)) + (0.5 * variance), bijector.RunningVariance[j], 1e-14, "running variance");
        }
    }

    // The layer's own flag freezes it: with IsTraining false even a training tape sees the running statistics.
    [Fact]
    public void FrozenLayer_OnATrainingTape_UsesRunningStatistics()
    {
        BatchNorm<double> bijector = SeededRunningStatistics(BijectorCases.Randomized(new BatchNorm<double>(3), seed: 16), seed: 17);
        bijector.IsTraining = false;
        double[] runningMean = bijector.RunningMean.ToArray();
        double[,] x = TestData.StandardNormal(8, 3, seed: 18, scale: 2);
        var tape = new Tape<double>(isTraining: true);

        Node<double> z = bijector.Inverse(tape, tape.Constant(TestData.Flatten(x), 8, 3)).Output;

        AssertClose.Bitwise(TestData.Flatten(bijector.Inverse(x).Output), z.Values);
        Assert.Equal(runningMean, bijector.RunningMean.ToArray());
    }

    [Fact]
    public void BatchOfOneRow_InTraining_IsFinite()
    {
        var bijector = new BatchNorm<double>(2);
        var tape = new Tape<double>(isTraining: true);

        (Node<double> z, Node<double> logDet) = bijector.Inverse(tape, tape.Constant([3.0, -1.0], 1, 2));

        Assert.Equal(new double[] { 0, 0 }, z.Values.ToArray());
        AssertClose.Relative(-Math.Log(bijector.Epsilon), logDet.Values[0], 1e-14, "log-det = −2·½ log ε");
    }

    // The training-mode map couples the rows through the batch mean and variance; its gradients flow through them.
    [Fact]
    public void TrainingMode_ParameterAndInputGradients_EqualCentralDifferences()
    {
        var bijector = BijectorCases.Randomized(new BatchNorm<double>(3), seed: 5);
        var input = new Parameter<double>("input", 6, 3);
        TestData.StandardNormal(18, seed: 6, scale: 2).CopyTo(input.Values, 0);
        double[] w = TestData.StandardNormal(18, seed: 7);

        double Loss(bool backward)
        {
            var tape = new Tape<double>(isTraining: true);
            (Node<double> z, Node<double> logDet) = bijector.Inverse(tape, tape.Use(input));
            Node<double> loss = tape.Add(tape.Sum(tape.Multiply(z, tape.Constant(w, 6, 3))), tape.Sum(tape.StandardNormalLogDensity(z)));
            loss = tape.Add(loss, tape.Sum(logDet));
            if (backward)
            {
                tape.Backward(loss);
            }

            return loss.Values[0];
        }

        foreach (Parameter<double> p in bijector.Parameters.Append(input))
        {
            p.ZeroGradients();
        }

        Loss(backward: true);
        foreach (Parameter<double> p in bijector.Parameters.Append(input))
        {
            double[] expected = FiniteDifference.Gradient(() => Loss(backward: false), p.Values, Tolerance.FiniteDifferenceGradientStep);
            AssertClose.All(expected, p.Gradients, Tolerance.Gradient, $"∂/∂{p.Name}");
        }
    }

    [Fact]
    public void Fit_TrainsTheRunningStatistics_TowardsTheDataMoments()
    {
        var bijector = new BatchNorm<double>(2);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Chain<double>(bijector, new Affine<double>(2)));
        double[,] data = TestData.StandardNormal(2000, 2, seed: 8);
        for (int i = 0; i < 2000; i++)
        {
            data[i, 0] = (3 * data[i, 0]) + 5;
            data[i, 1] = (0.5 * data[i, 1]) - 1;
        }

        flow.Fit(data, new FitOptions { Epochs = 5, BatchSize = 200, ValidationFraction = 0, Optimizer = new AdamOptions { LearningRate = 1e-2 } });

        // After 45 steps with momentum 0.1, the initial (0, 1) weighs 0.9^45 ≈ 0.9 %.
        Assert.InRange(bijector.RunningMean[0], 4.8, 5.2);
        Assert.InRange(bijector.RunningMean[1], -1.1, -0.9);
        Assert.InRange(bijector.RunningVariance[0], 8.0, 10.0);
        Assert.InRange(bijector.RunningVariance[1], 0.2, 0.3);
    }

    [Fact]
    public void SaveLoad_KeepsRunningStatisticsAndMode_BitIdenticalDensitiesAndSamples()
    {
        BatchNorm<double> bijector = BijectorCases.Randomized(new BatchNorm<double>(3, momentum: 0.3, epsilon: 1e-4), seed: 9);
        var tape = new Tape<double>(isTraining: true);
        bijector.Inverse(tape, tape.Constant(TestData.Flatten(TestData.StandardNormal(20, 3, seed: 10, scale: 4)), 20, 3));
        bijector.IsTraining = false;
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(3), bijector);
        using var stream = new MemoryStream();
        flow.Save(stream);
        stream.Position = 0;

        TransformedDistribution<double> loaded = FlowSerializer.Load<double>(stream);
        var loadedBatchNorm = (BatchNorm<double>)loaded.Bijector;

        Assert.False(loadedBatchNorm.IsTraining);
        Assert.Equal(0.3, loadedBatchNorm.Momentum);
        Assert.Equal(1e-4, loadedBatchNorm.Epsilon);
        Assert.Equal(bijector.RunningMean.ToArray(), loadedBatchNorm.RunningMean.ToArray());
        Assert.Equal(bijector.RunningVariance.ToArray(), loadedBatchNorm.RunningVariance.ToArray());
        double[,] x = TestData.StandardNormal(16, 3, seed: 11);
        AssertClose.Bitwise(flow.DensityLn(x), loaded.DensityLn(x));
        AssertClose.Bitwise(flow.Sample(16, new Random(2)), loaded.Sample(16, new Random(2)));
    }

    [Fact]
    public void ToString_IsConstructorLike()
        => Assert.Equal("BatchNorm(dimension: 2, momentum: 0.1, epsilon: 1E-05)", new BatchNorm<double>(2).ToString());

    // Running statistics away from the initial (0, 1 − ε), so that they cannot be mistaken for a standardized batch.
    private static BatchNorm<double> SeededRunningStatistics(BatchNorm<double> bijector, int seed)
    {
        var random = new Random(seed);
        for (int j = 0; j < bijector.Dimension; j++)
        {
            bijector.RunningMean[j] = 2 * TestData.NextNormal(random);
            bijector.RunningVariance[j] = 0.5 + random.NextDouble();
        }

        return bijector;
    }

    private static (double Mean, double Variance) Moments(double[,] x, int column)
    {
        int n = x.GetLength(0);
        double mean = 0;
        for (int i = 0; i < n; i++)
        {
            mean += x[i, column];
        }

        mean /= n;
        double squares = 0;
        for (int i = 0; i < n; i++)
        {
            squares += (x[i, column] - mean) * (x[i, column] - mean);
        }

        return (mean, squares / n);
    }

    // A BatchNorm in evaluation mode with seeded running statistics: only this mode is a fixed, row-wise map.
    internal static BatchNorm<double> InEvaluation(int dimension, int seed)
    {
        var batchNorm = new BatchNorm<double>(dimension) { IsTraining = false };
        var random = new Random(seed + 1000);
        for (int j = 0; j < dimension; j++)
        {
            batchNorm.RunningMean[j] = TestData.NextNormal(random);
            batchNorm.RunningVariance[j] = Math.Exp(TestData.NextNormal(random));
        }

        return batchNorm;
    }
}
