using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Tests.Testing;
using Flows.Variational;

namespace Flows.Tests.Variational;

public sealed class VariationalAutoencoderTests
{
    private const double GradientTolerance = 1e-6;

    // One posterior trained on the linear-Gaussian model with the decoder fixed at the truth, shared by the tests that
    // compare it with the exact posterior and marginal likelihood.
    private static readonly Lazy<(LinearGaussianLatentModel Truth, VariationalAutoencoder<double> Vae, double[,] HeldOut)> Trained = new(TrainLinearGaussian);

    public static TheoryData<bool, AmortizedObjective> GradientCases => new()
    {
        { true, AmortizedObjective.Elbo },
        { false, AmortizedObjective.Elbo },
        { true, AmortizedObjective.ImportanceWeighted },
        { false, AmortizedObjective.ImportanceWeighted },
    };

    [Fact]
    public void FlowPosterior_OnLinearGaussianModel_HasMeanKlBelowFiveHundredthsOfANat()
    {
        (LinearGaussianLatentModel truth, VariationalAutoencoder<double> vae, double[,] heldOut) = Trained.Value;
        int samples = 400;
        var tape = new Tape<double>(isRecording: false);
        var random = new Random(5);
        double kl = 0;
        int rows = heldOut.GetLength(0);
        for (int i = 0; i < rows; i++)
        {
            tape.Reset();
            double[] x = TestData.Row(heldOut, i);
            (Node<double> z, Node<double> logQ) = vae.Posterior.SampleWithDensityLn(tape, tape.Constant(x, 1, truth.DataDimension), samples, random);
            for (int s = 0; s < samples; s++)
            {
                kl += logQ.Values[s] - truth.PosteriorDensityLn(x, z.Values.Slice(s * truth.LatentDimension, truth.LatentDimension));
            }
        }

        kl /= rows * samples;
        Assert.True(kl < 0.05, $"mean KL(q || p(z | x)) over {rows} held-out rows is {kl:G4} nats; expected < 0.05.");
    }

    [Fact]
    public void EstimateLogLikelihood_OnLinearGaussianModel_MatchesExactWithinThreeStandardErrors()
    {
        (LinearGaussianLatentModel truth, VariationalAutoencoder<double> vae, double[,] heldOut) = Trained.Value;
        MarginalLogLikelihoodEstimate estimate = vae.EstimateLogLikelihood(heldOut, importanceSamples: 500, seed: 3);
        double exact = 0;
        for (int i = 0; i < heldOut.GetLength(0); i++)
        {
            exact += truth.MarginalDensityLn(TestData.Row(heldOut, i));
        }

        exact /= heldOut.GetLength(0);
        // The same rows on both sides: the importance sampling's own error is what separates them.
        Assert.True(estimate.MonteCarloStandardError > 0, estimate.ToString());
        Assert.True(Math.Abs(estimate.Mean - exact) <= 3 * estimate.MonteCarloStandardError,
            $"estimate {estimate}; exact mean log p(x) {exact:F6}; difference {estimate.Mean - exact:G3}.");
        Assert.True(estimate.Elbo <= estimate.Mean, estimate.ToString());
    }

    [Theory]
    [MemberData(nameof(GradientCases))]
    public void LossGradient_MatchesCentralDifferences_ForEncoderFlowAndDecoder(bool bernoulli, AmortizedObjective objective)
    {
        (VariationalAutoencoder<double> vae, double[,] data) = SmallModel(bernoulli);
        int samples = objective == AmortizedObjective.Elbo ? 2 : 3;
        double Loss()
        {
            var tape = new Tape<double>(isRecording: false);
            return vae.Loss(tape, tape.Constant(TestData.Flatten(data), data.GetLength(0), data.GetLength(1)), samples, objective, new Random(11)).Values[0];
        }

        var recording = new Tape<double>();
        foreach (Parameter<double> p in vae.Parameters)
        {
            p.ZeroGradients();
        }

        recording.Backward(vae.Loss(recording, recording.Constant(TestData.Flatten(data), data.GetLength(0), data.GetLength(1)), samples, objective, new Random(11)));
        AssertGradients(vae.Posterior.Encoder.Parameters, Loss, "encoder");
        AssertGradients(vae.Posterior.Flow!.Parameters, Loss, "flow");
        AssertGradients(vae.Model.Parameters, Loss, "decoder");
    }

    [Fact]
    public void LossGradient_ThroughAnExternalJointDensity_MatchesCentralDifferences()
    {
        var truth = new LinearGaussianLatentModel(dataDimension: 3, latentDimension: 2, noise: 0.7, seed: 2);
        var posterior = new AmortizedPosterior<double>(3, 2, [4], new Inverted<double>(new MaskedAutoregressive<double>(2, [4], contextDimension: 2, seed: 1)), seed: 3);
        var vae = new VariationalAutoencoder<double>(posterior, new ExternalLatentVariableModel<double>(3, 2, truth.JointDensityLn));
        Perturb(vae.Parameters, seed: 4);
        double[,] data = truth.Sample(5, seed: 6);
        double Loss()
        {
            var tape = new Tape<double>(isRecording: false);
            return vae.Loss(tape, tape.Constant(TestData.Flatten(data), 5, 3), 2, AmortizedObjective.Elbo, new Random(11)).Values[0];
        }

        var recording = new Tape<double>();
        recording.Backward(vae.Loss(recording, recording.Constant(TestData.Flatten(data), 5, 3), 2, AmortizedObjective.Elbo, new Random(11)));
        AssertGradients(vae.Parameters, Loss, "posterior");
    }

    [Fact]
    public void Fit_WithTheSameSeed_GivesTheSameParametersBitForBit()
    {
        double[] First() => FitSmall(AmortizedObjective.Elbo).Vae.Parameters.SelectMany(p => p.Values).ToArray();
        AssertClose.Bitwise(First(), First());
    }

    [Fact]
    public void Fit_ImportanceWeighted_ReportsABoundAtLeastTheElboEveryEpoch()
    {
        AmortizedFitReport report = FitSmall(AmortizedObjective.ImportanceWeighted).Report;
        Assert.All(report.Epochs, e => Assert.True(e.Objective >= e.Elbo, e.ToString()));
        Assert.Contains(report.Epochs, e => e.Objective > e.Elbo);
    }

    [Fact]
    public void Fit_ReportsElboAsReconstructionMinusKl()
    {
        AmortizedFitReport report = FitSmall(AmortizedObjective.Elbo).Report;
        Assert.Equal(Flows.Training.FitStatus.Completed, report.Status);
        Assert.All(report.Epochs, e => Assert.Equal(e.Reconstruction - e.KullbackLeibler, e.Elbo, 1e-9));
        Assert.True(report.Final.Elbo > report.Epochs[0].Elbo, $"ELBO {report.Epochs[0].Elbo} → {report.Final.Elbo}");
    }

    // Joint training: encoder, flow and decoder from the same start, fitted together and with the decoder held fixed. The
    // new decoder's last layer is zero (p = ½ for every feature whatever z), so with it fixed no posterior can raise the
    // ELBO above −D log 2; trained with the posterior it must learn the data's two clusters and pass that bound by far
    // (measured −3.31 against −4.16). The KL warm-up keeps the joint fit out of the collapsed optimum that ignores z,
    // where 30 epochs without it stayed (−4.13).
    [Fact]
    public void Fit_TrainingTheDecoderWithThePosterior_RaisesTheHeldOutElboPastAnyFixedDecodersBound()
    {
        const int d = 6;
        double[,] train = BinaryData(200, d, seed: 21);
        double[,] heldOut = BinaryData(100, d, seed: 22);
        (VariationalAutoencoder<double> joint, AmortizedFitReport report) = FitJointSmall(train, trainModel: true);
        (VariationalAutoencoder<double> fixedDecoder, _) = FitJointSmall(train, trainModel: false);

        double jointElbo = joint.EstimateLogLikelihood(heldOut, importanceSamples: 20, seed: 23).Elbo;
        double fixedElbo = fixedDecoder.EstimateLogLikelihood(heldOut, importanceSamples: 20, seed: 23).Elbo;

        double bound = -d * Math.Log(2);
        Assert.True(fixedElbo <= bound + 0.05, $"fixed decoder: held-out ELBO {fixedElbo:F4}, bound {bound:F4}");
        Assert.True(jointElbo > bound + 0.5, $"joint: held-out ELBO {jointElbo:F4}, fixed decoder's bound {bound:F4}");
        Assert.True(report.Final.Elbo > report.Epochs[0].Elbo + 0.5, $"training ELBO {report.Epochs[0].Elbo:F4} → {report.Final.Elbo:F4}");
    }

    [Fact]
    public void Fit_TrainsEncoderFlowAndDecoder_OrThePosteriorAloneWhenTrainModelIsFalse()
    {
        double[,] train = BinaryData(200, 6, seed: 21);
        VariationalAutoencoder<double> start = JointSmallModel();
        (VariationalAutoencoder<double> joint, _) = FitJointSmall(train, trainModel: true);
        (VariationalAutoencoder<double> fixedDecoder, _) = FitJointSmall(train, trainModel: false);

        Assert.False(SameValues(start.Posterior.Encoder.Parameters, joint.Posterior.Encoder.Parameters), "joint fit: encoder unchanged");
        Assert.False(SameValues(start.Posterior.Flow!.Parameters, joint.Posterior.Flow!.Parameters), "joint fit: flow unchanged");
        Assert.False(SameValues(start.Model.Parameters, joint.Model.Parameters), "joint fit: decoder unchanged");
        Assert.False(SameValues(start.Posterior.Flow!.Parameters, fixedDecoder.Posterior.Flow!.Parameters), "posterior-only fit: flow unchanged");
        Assert.True(SameValues(start.Model.Parameters, fixedDecoder.Model.Parameters), "posterior-only fit: decoder changed");
    }

    [Fact]
    public void Fit_ThrowsForBernoulliDataOutsideZeroOne()
    {
        (VariationalAutoencoder<double> vae, double[,] data) = SmallModel(bernoulli: true);
        data[2, 1] = 2;
        ArgumentException e = Assert.Throws<ArgumentException>("data", () => vae.Fit(data, new AmortizedFitOptions { Epochs = 1 }));
        Assert.Contains("data[2, 1]", e.Message);
    }

    [Fact]
    public void Fit_ThrowsForTheWrongWidth()
    {
        (VariationalAutoencoder<double> vae, _) = SmallModel(bernoulli: true);
        Assert.Throws<ArgumentException>("data", () => vae.Fit(new double[4, 2], new AmortizedFitOptions { Epochs = 1 }));
    }

    [Fact]
    public void Fit_ThrowsForWarmupWithTheImportanceWeightedBound()
    {
        (VariationalAutoencoder<double> vae, double[,] data) = SmallModel(bernoulli: true);
        Assert.Throws<ArgumentException>("options", () => vae.Fit(data, new AmortizedFitOptions { Objective = AmortizedObjective.ImportanceWeighted, WarmupEpochs = 2 }));
    }

    [Fact]
    public void Constructor_ThrowsForAFlowOfAnotherDimension()
        => Assert.Throws<ArgumentException>("flow", () => new AmortizedPosterior<double>(3, 2, flow: new Planar<double>(3)));

    [Fact]
    public void Constructor_ThrowsForAModelOfAnotherLatentDimension()
        => Assert.Throws<ArgumentException>("model", () => new VariationalAutoencoder<double>(
            new AmortizedPosterior<double>(3, 2), LatentVariableModel<double>.WithStandardNormalPrior(new BernoulliDecoder<double>(3, 3))));

    private static (VariationalAutoencoder<double> Vae, AmortizedFitReport Report) FitSmall(AmortizedObjective objective)
    {
        (VariationalAutoencoder<double> vae, _) = SmallModel(bernoulli: true);
        double[,] data = BinaryData(60, 3, seed: 8);
        AmortizedFitReport report = vae.Fit(data, new AmortizedFitOptions
        {
            Epochs = 8, BatchSize = 20, Objective = objective, SamplesPerRow = objective == AmortizedObjective.Elbo ? 1 : 4, Seed = 5,
            Optimizer = new Flows.Training.AdamOptions { LearningRate = 1e-2 },
        });
        return (vae, report);
    }

    // A small VAE as a user builds it (new encoder, IAF and Sylvester layers, new decoder), unperturbed.
    private static VariationalAutoencoder<double> JointSmallModel()
    {
        IBijector<double> flow = new Chain<double>(
            new Inverted<double>(new MaskedAutoregressive<double>(2, [8], contextDimension: 4, seed: 1)),
            new AmortizedSylvester<double>(2, contextDimension: 4, reversed: true, seed: 2));
        var posterior = new AmortizedPosterior<double>(6, 2, [16], flow, seed: 3);
        return new VariationalAutoencoder<double>(posterior, LatentVariableModel<double>.WithStandardNormalPrior(new BernoulliDecoder<double>(2, 6, [16], seed: 4)));
    }

    private static (VariationalAutoencoder<double> Vae, AmortizedFitReport Report) FitJointSmall(double[,] train, bool trainModel)
    {
        VariationalAutoencoder<double> vae = JointSmallModel();
        AmortizedFitReport report = vae.Fit(train, new AmortizedFitOptions
        {
            Epochs = 40, BatchSize = 50, WarmupEpochs = 20, TrainModel = trainModel, Seed = 5, Optimizer = new Flows.Training.AdamOptions { LearningRate = 1e-2 },
        });
        return (vae, report);
    }

    private static bool SameValues(IReadOnlyList<Parameter<double>> a, IReadOnlyList<Parameter<double>> b)
        => a.Count == b.Count && a.Zip(b).All(pair => pair.First.Values.AsSpan().SequenceEqual(pair.Second.Values));

    // A small VAE with every kind of parameter: encoder, a conditional IAF layer, a planar layer, amortized planar,
    // Sylvester (a fixed permutation, and a per-row Q, orthogonal and Householder) and radial layers, a conditional
    // autoregressive spline layer (per-row parameters from the encoder), decoder; all moved off their identity starts so
    // that no gradient is zero by construction.
    private static (VariationalAutoencoder<double> Vae, double[,] Data) SmallModel(bool bernoulli)
    {
        IBijector<double> flow = new Chain<double>(
            new Inverted<double>(new MaskedAutoregressive<double>(2, [4], contextDimension: 2, seed: 1)),
            new Planar<double>(2, seed: 2),
            new AmortizedPlanar<double>(2, contextDimension: 2, seed: 7),
            new AmortizedSylvester<double>(2, contextDimension: 2, reversed: true, seed: 8),
            new AmortizedRadial<double>(2, contextDimension: 2, seed: 9),
            new AmortizedSylvester<double>(2, contextDimension: 2, SylvesterVariant.Orthogonal, seed: 11, amortizeQ: true),
            new AmortizedSylvester<double>(2, contextDimension: 2, SylvesterVariant.Householder, reflectionCount: 2, seed: 12, amortizeQ: true),
            new Inverted<double>(new MaskedAutoregressive<double>(2, [4], contextDimension: 2, transform: new RationalQuadraticTransform<double>(binCount: 4), seed: 10)));
        var posterior = new AmortizedPosterior<double>(3, 2, [5], flow, seed: 3);
        IDecoder<double> decoder = bernoulli ? new BernoulliDecoder<double>(2, 3, [4], seed: 4) : new GaussianDecoder<double>(2, 3, [4], seed: 4);
        var vae = new VariationalAutoencoder<double>(posterior, LatentVariableModel<double>.WithStandardNormalPrior(decoder));
        Perturb(vae.Parameters, seed: 9);
        return (vae, bernoulli ? BinaryData(5, 3, seed: 6) : TestData.StandardNormal(5, 3, seed: 6));
    }

    private static double[,] BinaryData(int rows, int columns, int seed)
    {
        var random = new Random(seed);
        var data = new double[rows, columns];
        for (int i = 0; i < rows; i++)
        {
            // Two clusters, so that the latent code carries information.
            bool cluster = random.NextDouble() < 0.5;
            for (int j = 0; j < columns; j++)
            {
                data[i, j] = random.NextDouble() < (cluster ^ (j % 2 == 0) ? 0.85 : 0.15) ? 1 : 0;
            }
        }

        return data;
    }

    private static void Perturb(IReadOnlyList<Parameter<double>> parameters, int seed)
    {
        var random = new Random(seed);
        foreach (Parameter<double> p in parameters)
        {
            for (int i = 0; i < p.Values.Length; i++)
            {
                p.Values[i] += 0.3 * TestData.NextNormal(random);
            }
        }
    }

    private static void AssertGradients(IReadOnlyList<Parameter<double>> parameters, Func<double> loss, string group)
    {
        Assert.NotEmpty(parameters);
        foreach (Parameter<double> p in parameters)
        {
            double[] analytic = [.. p.Gradients];
            double[] numeric = FiniteDifference.Gradient(loss, p.Values, 1e-6);
            for (int i = 0; i < analytic.Length; i++)
            {
                Assert.True(Math.Abs(analytic[i] - numeric[i]) <= GradientTolerance * (1 + Math.Abs(numeric[i])),
                    $"{group} {p.Name}[{i}]: tape {analytic[i]:G10}, central differences {numeric[i]:G10}.");
            }
        }
    }

    private static (LinearGaussianLatentModel, VariationalAutoencoder<double>, double[,]) TrainLinearGaussian()
    {
        var truth = new LinearGaussianLatentModel(dataDimension: 5, latentDimension: 2, noise: 0.5, seed: 1);
        // A linear encoder suffices (the exact posterior mean is linear in x); the triangular layer gives the posterior's
        // correlation, the conditional IAF layer is the amortized flow under test.
        IBijector<double> flow = new Chain<double>(
            new Inverted<double>(new MaskedAutoregressive<double>(2, [16], contextDimension: 2, seed: 2)),
            new LowerTriangularAffine<double>(2));
        var posterior = new AmortizedPosterior<double>(5, 2, hiddenFeatures: [], flow, seed: 3);
        var vae = new VariationalAutoencoder<double>(posterior, LatentVariableModel<double>.WithStandardNormalPrior(truth.Decoder()));
        vae.Fit(truth.Sample(1000, seed: 4), new AmortizedFitOptions
        {
            Epochs = 80, BatchSize = 100, SamplesPerRow = 4, TrainModel = false, Seed = 5,
            Optimizer = new Flows.Training.AdamOptions { LearningRate = 1e-2 },
        });
        return (truth, vae, truth.Sample(50, seed: 6));
    }
}
