using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Training;

/// <summary>
/// Which passes of the fitting loops run in training mode (<see cref="Tape{T}.IsTraining"/>): the steps of maximum
/// likelihood, and nothing else — not its validation, and never anything in variational inference.
/// </summary>
public sealed class TrainingModeTests
{
    // Progress<T> posts to the thread pool; the tests need the reports synchronously, in order.
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    // The identity, noting the mode of the tape of every call: what the layers of a flow see.
    private sealed class ModeSpy(int dimension) : Bijector<double>(dimension)
    {
        public List<(bool Inverse, bool IsRecording, bool IsTraining)> Calls { get; } = [];

        public override IReadOnlyList<Parameter<double>> Parameters { get; } = [];

        protected override (Node<double> Output, Node<double> LogDet) ForwardCore(Tape<double> tape, Node<double> z, Node<double>? context)
            => Identity(tape, z, inverse: false);

        protected override (Node<double> Output, Node<double> LogDet) InverseCore(Tape<double> tape, Node<double> x, Node<double>? context)
            => Identity(tape, x, inverse: true);

        private (Node<double> Output, Node<double> LogDet) Identity(Tape<double> tape, Node<double> input, bool inverse)
        {
            Calls.Add((inverse, tape.IsRecording, tape.IsTraining));
            return (input, tape.Constant(new double[input.Rows], input.Rows, 1));
        }
    }

    [Fact]
    public void MaximumLikelihoodFit_TrainsInTrainingMode_AndValidatesOutsideIt()
    {
        var spy = new ModeSpy(2);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Chain<double>(new Affine<double>(2), spy));

        flow.Fit(TestData.StandardNormal(200, 2, seed: 1), new FitOptions { Epochs = 2, BatchSize = 50, ValidationFraction = 0.25, Seed = 1 });

        Assert.Contains(spy.Calls, c => c.IsRecording);
        Assert.Contains(spy.Calls, c => !c.IsRecording);
        Assert.All(spy.Calls, c => Assert.True(c.IsRecording == c.IsTraining,
            $"a {(c.IsRecording ? "recording" : "non-recording")} pass ran with IsTraining {c.IsTraining}"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void VariationalFit_NeverUsesTrainingMode(bool stickingTheLanding)
    {
        var spy = new ModeSpy(2);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Chain<double>(new Affine<double>(2), spy));

        flow.Fit(ShiftedNormalTarget(1, -1), new VariationalOptions
        {
            Steps = 5,
            SamplesPerStep = 16,
            ImportanceSamples = 100,
            StickingTheLanding = stickingTheLanding,
        });

        Assert.Contains(spy.Calls, c => c.IsRecording && c.Inverse == stickingTheLanding);
        Assert.All(spy.Calls, c => Assert.False(c.IsTraining, $"an {(c.Inverse ? "inverse" : "forward")} pass ran in training mode"));
    }

    // Sticking the landing scores q's own samples through the inverse on a recording tape. Those samples are not data:
    // an ActNorm there must keep its parameters (the identity for a new layer) instead of standardizing them.
    [Fact]
    public void StickingTheLanding_DoesNotInitializeActNormFromTheSamplesOfQ()
    {
        var actNorm = new ActNorm<double>(2);
        Affine<double> affine = BijectorCases.Randomized(new Affine<double>(2), seed: 2, scale: 1);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Chain<double>(affine, actNorm));
        var objective = new VariationalObjective<double>(flow, ShiftedNormalTarget(1, -1), stickingTheLanding: true);

        objective.EstimateGradient(64, new Random(3));

        Assert.Equal(new double[] { 0, 0 }, actNorm.Shift.Values);
        Assert.Equal(new double[] { 0, 0 }, actNorm.LogScale.Values);
    }

    // After variational fitting the ActNorm holds parameters learned by gradient from the identity; the first data
    // scored afterwards must not overwrite them with a data-dependent initialization.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void VariationalFit_ThenScoringData_KeepsTheLearnedActNorm(bool stickingTheLanding)
    {
        var actNorm = new ActNorm<double>(2);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Chain<double>(new Affine<double>(2), actNorm));
        flow.Fit(ShiftedNormalTarget(2, -1), new VariationalOptions
        {
            Steps = 50,
            SamplesPerStep = 32,
            Optimizer = new AdamOptions { LearningRate = 0.05 },
            ImportanceSamples = 0,
            StickingTheLanding = stickingTheLanding,
            Seed = 4,
        });
        double[] shift = [.. actNorm.Shift.Values];
        double[] logScale = [.. actNorm.LogScale.Values];
        Assert.True(shift.Any(v => v != 0), "precondition: the fit moved the layer");

        flow.DensityLn(TestData.StandardNormal(100, 2, seed: 5, scale: 10));

        Assert.True(actNorm.IsInitialized);
        Assert.Equal(shift, actNorm.Shift.Values);
        Assert.Equal(logScale, actNorm.LogScale.Values);
    }

    // With a learning rate of 1e-8 the parameters barely move, so an ActNorm that re-initialized from later batches would
    // show it as jumps of the size of the batch-to-batch spread of the mean (~0.3 here) between epochs.
    [Fact]
    public void MaximumLikelihoodFit_InitializesActNormOnce_AndUpdatesBatchNormRunningStatistics()
    {
        var actNorm = new ActNorm<double>(2);
        var batchNorm = new BatchNorm<double>(2);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Chain<double>(actNorm, batchNorm));
        double[,] data = TestData.StandardNormal(400, 2, seed: 6, scale: 3);
        for (int i = 0; i < 400; i++)
        {
            data[i, 0] += 5;
            data[i, 1] -= 3;
        }

        var shiftAfterEachEpoch = new List<double[]>();
        flow.Fit(data, new FitOptions
        {
            Epochs = 3,
            BatchSize = 100,
            ValidationFraction = 0,
            Patience = 3,
            Optimizer = new AdamOptions { LearningRate = 1e-8 },
            Seed = 7,
            Progress = new SynchronousProgress<EpochReport>(_ => shiftAfterEachEpoch.Add([.. actNorm.Shift.Values])),
            // The start scores best here (the running statistics are still far from the data's), and restoring it would
            // restore the running statistics too; this test is about what the training steps did to them.
            RestoreBest = false,
        });

        // BatchNorm sits next to the data and starts as the identity, so ActNorm initialized from the data themselves.
        Assert.True(actNorm.IsInitialized);
        Assert.InRange(actNorm.Shift.Values[0], 4, 6);
        Assert.InRange(actNorm.Shift.Values[1], -4, -2);
        for (int epoch = 1; epoch < shiftAfterEachEpoch.Count; epoch++)
        {
            AssertClose.All(shiftAfterEachEpoch[0], shiftAfterEachEpoch[epoch], 1e-6, $"ActNorm shift after epoch {epoch + 1}");
        }

        // Twelve training steps with momentum 0.1 move the running mean 1 − 0.9¹² ≈ 72 % of the way to the data's (5, −3).
        Assert.InRange(batchNorm.RunningMean[0], 3, 4.5);
        Assert.InRange(batchNorm.RunningMean[1], -2.7, -1.8);
        Assert.InRange(batchNorm.RunningVariance[0], 5, 9);
    }

    // log p̃(z) = −½|z − μ|² (a unit normal at μ, unnormalized) and its gradient μ − z.
    private static LogDensityWithGradient<double> ShiftedNormalTarget(double mean0, double mean1)
        => (z, logDensity, gradient) =>
        {
            double[] mean = [mean0, mean1];
            for (int i = 0; i < logDensity.Length; i++)
            {
                double sum = 0;
                for (int j = 0; j < 2; j++)
                {
                    double difference = z[(i * 2) + j] - mean[j];
                    sum += difference * difference;
                    gradient[(i * 2) + j] = -difference;
                }

                logDensity[i] = -0.5 * sum;
            }
        };
}
