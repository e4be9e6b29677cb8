using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Tests.Testing;
using Flows.Training;
using MathNet.Numerics.LinearAlgebra;

namespace Flows.Tests.Training;

public sealed class VariationalInferenceTests
{
    // Tolerances of this file (Tolerance.cs holds the shared ones).
    private const double MomentRecovery = 1e-5;        // fitted μ, Σ vs the target's: STL's variance vanishes at the optimum, so Adam lands on it
    private const double LogNormalizerRecovery = 0.01; // log Ẑ against the exact log Z
    private const double StickingTheLandingZero = 1e-12; // |STL gradient| when q equals the target, relative to 1
    private const double ImportanceSampling = 1e-10;  // log Ẑ and ESS against a naive computation

    private static readonly double[] Mean = [1.0, -2.0, 0.5];

    private static readonly double[,] CholeskyFactor =
    {
        { 1.2, 0.0, 0.0 },
        { 0.5, 0.8, 0.0 },
        { -0.3, 0.4, 0.6 },
    };

    // log p̃ = log N(z; μ, Σ) + Offset, so log Z = Offset.
    private const double Offset = 3.7;

    [Fact]
    public void Fit_RecoversGaussianTarget_AndItsLogNormalizer()
    {
        var bijector = new LowerTriangularAffine<double>(3);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(3), bijector);

        VariationalReport report = flow.Fit(GaussianTarget(), new VariationalOptions
        {
            Steps = 3000,
            SamplesPerStep = 64,
            Optimizer = new AdamOptions { LearningRate = 0.01 },
            StickingTheLanding = true,
            Seed = 1,
        });

        Matrix<double> l = Matrix<double>.Build.DenseOfArray(bijector.GetScaleMatrix());
        Matrix<double> sigma = Matrix<double>.Build.DenseOfArray(CholeskyFactor);
        sigma = sigma * sigma.Transpose();
        AssertClose.All(Mean, bijector.Shift.Values, MomentRecovery, "μ");
        AssertClose.All(sigma.ToArray(), (l * l.Transpose()).ToArray(), MomentRecovery, "Σ");
        LogNormalizerEstimate estimate = report.LogNormalizer!;
        Assert.InRange(estimate.LogNormalizer, Offset - LogNormalizerRecovery, Offset + LogNormalizerRecovery);
        Assert.InRange(report.FinalElbo, Offset - LogNormalizerRecovery, Offset + LogNormalizerRecovery);
        Assert.InRange(estimate.EffectiveSampleSizeFraction, 0.999, 1.0);
    }

    [Fact]
    public void StickingTheLanding_GradientIsZero_WhenQEqualsTheTarget_WhileTheStandardOneIsNot()
    {
        TransformedDistribution<double> flow = ExactGaussianFlow();
        var stl = new VariationalObjective<double>(flow, GaussianTarget(), stickingTheLanding: true);
        var standard = new VariationalObjective<double>(flow, GaussianTarget());
        var standardNorms = new List<double>();

        for (int seed = 1; seed <= 5; seed++)
        {
            double stlElbo = stl.EstimateGradient(32, new Random(seed));
            Assert.All(AllGradients(flow), g => Assert.InRange(g, -StickingTheLandingZero, StickingTheLandingZero));

            double standardElbo = standard.EstimateGradient(32, new Random(seed));
            standardNorms.Add(Math.Sqrt(AllGradients(flow).Sum(g => g * g)));

            // Both estimate the same ELBO, which is log Z exactly for every sample when q equals the target.
            AssertClose.Relative(Offset, stlElbo, 1e-12, "STL ELBO");
            AssertClose.Relative(Offset, standardElbo, 1e-12, "standard ELBO");
        }

        Assert.All(standardNorms, n => Assert.True(n > 1e-2, $"standard gradient norm {n}"));
        Assert.True(standardNorms.Distinct().Count() == standardNorms.Count, "the standard estimate varies with the draw");
    }

    [Fact]
    public void EstimateGradient_MatchesFiniteDifferencesOfTheFixedSampleElbo()
    {
        TransformedDistribution<double> flow = SmallFlow();
        var objective = new VariationalObjective<double>(flow, BananaTarget);
        objective.EstimateGradient(8, new Random(5));
        double[][] tape = [.. flow.Parameters.Select(p => (double[])p.Gradients.Clone())];

        // −ELBO of the same 8 base draws through the array-level API: sampling and density by separate code paths.
        double Loss()
        {
            double[,] x = flow.Sample(8, new Random(5));
            double[] logQ = flow.DensityLn(x);
            double[] logP = BananaLogDensity(x);
            return -Enumerable.Range(0, 8).Average(i => logP[i] - logQ[i]);
        }

        for (int p = 0; p < flow.Parameters.Count; p++)
        {
            double[] fd = FiniteDifference.Gradient(Loss, flow.Parameters[p].Values, Tolerance.FiniteDifferenceGradientStep);
            AssertClose.All(fd, tape[p], Tolerance.Gradient, flow.Parameters[p].Name);
        }
    }

    [Fact]
    public void StickingTheLanding_MatchesFiniteDifferencesOfTheElboWithLogQParametersHeldFixed()
    {
        TransformedDistribution<double> flow = SmallFlow();
        var objective = new VariationalObjective<double>(flow, BananaTarget, stickingTheLanding: true);
        objective.EstimateGradient(8, new Random(5));
        double[][] tape = [.. flow.Parameters.Select(p => (double[])p.Gradients.Clone())];
        double[][] fixedValues = [.. flow.Parameters.Select(p => (double[])p.Values.Clone())];

        // f(θ) = −mean[log p̃(T_θ(ε)) − log q_θ₀(T_θ(ε))]: the samples move with θ, the density that scores them does not.
        double Loss()
        {
            double[,] x = flow.Sample(8, new Random(5));
            double[][] moved = [.. flow.Parameters.Select(p => (double[])p.Values.Clone())];
            SetValues(flow, fixedValues);
            double[] logQ = flow.DensityLn(x);
            SetValues(flow, moved);
            double[] logP = BananaLogDensity(x);
            return -Enumerable.Range(0, 8).Average(i => logP[i] - logQ[i]);
        }

        for (int p = 0; p < flow.Parameters.Count; p++)
        {
            double[] fd = FiniteDifference.Gradient(Loss, flow.Parameters[p].Values, Tolerance.FiniteDifferenceGradientStep);
            AssertClose.All(fd, tape[p], Tolerance.Gradient, flow.Parameters[p].Name);
        }
    }

    [Fact]
    public void Fit_IsReproducibleWithASeed()
    {
        var options = new VariationalOptions { Steps = 100, SamplesPerStep = 16, Seed = 3, ImportanceSamples = 500 };
        TransformedDistribution<double> first = SmallFlow();
        TransformedDistribution<double> second = SmallFlow();

        VariationalReport a = first.Fit(BananaTarget, options);
        VariationalReport b = second.Fit(BananaTarget, options);
        VariationalReport c = SmallFlow().Fit(BananaTarget, options with { Seed = 4 });

        AssertClose.Bitwise(a.Elbo.ToArray(), b.Elbo.ToArray(), "ELBO trace");
        AssertClose.Bitwise(AllValues(first), AllValues(second), "parameters");
        Assert.Equal(a.LogNormalizer, b.LogNormalizer);
        Assert.NotEqual(a.Elbo.ToArray(), c.Elbo.ToArray());
    }

    [Fact]
    public void Fit_ThrowsAndRestoresTheInitialParameters_WhenTheTargetReturnsNaN()
    {
        TransformedDistribution<double> flow = SmallFlow();
        double[] initial = AllValues(flow);

        var error = Assert.Throws<InvalidOperationException>(() => flow.Fit(
            (z, logDensity, gradient) => { logDensity.Fill(double.NaN); gradient.Clear(); },
            new VariationalOptions { Steps = 10, ThrowOnDivergence = true }));

        Assert.Contains("log p̃ = NaN", error.Message, StringComparison.Ordinal);
        Assert.Contains("step 1)", error.Message, StringComparison.Ordinal);
        AssertClose.Bitwise(initial, AllValues(flow), "parameters");
    }

    [Fact]
    public void Fit_ThrowsAndRestoresFiniteBestParameters_WhenTheTargetTurnsNaNLater()
    {
        TransformedDistribution<double> flow = SmallFlow();
        double[] initial = AllValues(flow);
        int calls = 0;

        var error = Assert.Throws<InvalidOperationException>(() => flow.Fit(
            (z, logDensity, gradient) =>
            {
                BananaTarget(z, logDensity, gradient);
                if (++calls > 30)
                {
                    logDensity[3] = double.NaN;
                }
            },
            new VariationalOptions { Steps = 100, SamplesPerStep = 8, Optimizer = new AdamOptions { LearningRate = 0.01 }, ThrowOnDivergence = true }));

        Assert.Contains("sample 3", error.Message, StringComparison.Ordinal);
        Assert.Contains("step 31)", error.Message, StringComparison.Ordinal);
        double[] restored = AllValues(flow);
        AssertClose.Finite(restored, "parameters");
        Assert.NotEqual(initial, restored);
    }

    [Fact]
    public void Fit_ThrowsWhenCancelled_AndLeavesTheParametersAsTheyWere()
    {
        TransformedDistribution<double> flow = SmallFlow();
        double[] initial = AllValues(flow);
        using var source = new CancellationTokenSource();
        source.Cancel();

        Assert.Throws<FitCanceledException<VariationalReport>>(() => flow.Fit(BananaTarget, new VariationalOptions { Steps = 10 }, source.Token));

        AssertClose.Bitwise(initial, AllValues(flow), "parameters");
    }

    // Issue 12, fault 1, for variational fitting: with learning rate 0.3 a 2-layer MAF went from an ELBO of 2.13 to
    // −2e4 on the banana and Fit returned normally, keeping the last step's parameters.
    [Fact]
    public void Fit_WithATooLargeLearningRate_NeverEndsWorseThanItStarted_AndReportsDivergence()
    {
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(2, transforms: 2, seed: 0);
        double start = flow.EstimateLogNormalizer(BananaTarget, 1000, new Random(1)).Elbo;

        VariationalReport report = flow.Fit(BananaTarget, new VariationalOptions
        {
            Steps = 200,
            Optimizer = new AdamOptions { LearningRate = 0.3 },
            ImportanceSamples = 0,
        });

        double end = flow.EstimateLogNormalizer(BananaTarget, 1000, new Random(1)).Elbo;
        Assert.True(end >= start, $"ELBO {start:G6} at the start, {end:G6} after the fit ({report})");
        Assert.Equal(FitStatus.Diverged, report.Status);
        Assert.Equal(0, report.KeptStep);
        Assert.Contains("smoothed ELBO fell to", report.Divergence, StringComparison.Ordinal);
        Assert.Null(report.LogNormalizer);
    }

    // Issue 12 fuzz finding: a valid learning rate whose step overflows (here α/(1 − β₁) = +∞) left NaN parameters after
    // Fit returned normally, since a step's result was only ever judged by the next step's ELBO.
    [Fact]
    public void Fit_WhoseStepMakesAParameterNonFinite_ReportsDivergence_AndRestoresTheStart()
    {
        TransformedDistribution<double> flow = SmallFlow();
        double[] initial = AllValues(flow);

        VariationalReport report = flow.Fit(BananaTarget, new VariationalOptions
        {
            Steps = 1,
            Optimizer = new AdamOptions { LearningRate = double.MaxValue },
            ImportanceSamples = 0,
        });

        Assert.Equal(FitStatus.Diverged, report.Status);
        Assert.Equal(0, report.KeptStep);
        Assert.Contains("The Adam step made a parameter non-finite at step 1", report.Divergence, StringComparison.Ordinal);
        AssertClose.Bitwise(initial, AllValues(flow), "parameters");
    }

    // Issue 12 fuzz finding: the last step is never scored by a later one, so a fit of one step at learning rate 1e10
    // returned Completed with log-scales of ±1e10, whose samples are ±∞ (or collapse to the shift) and whose ELBO is
    // not finite (or billions of nats below the start's).
    [Fact]
    public void Fit_WhoseLastStepWrecksTheFlow_ReportsDivergence_AndRestoresTheStart()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Affine<double>(2));
        double[] initial = AllValues(flow);

        VariationalReport report = flow.Fit(BananaTarget, new VariationalOptions
        {
            Steps = 1,
            Optimizer = new AdamOptions { LearningRate = 1e10 },
            ImportanceSamples = 0,
        });

        Assert.Equal(FitStatus.Diverged, report.Status);
        Assert.Equal(0, report.KeptStep);
        Assert.Contains("after the last step (step 1)", report.Divergence, StringComparison.Ordinal);
        AssertClose.Bitwise(initial, AllValues(flow), "parameters");
        AssertClose.Finite(flow.Sample(100, new Random(1)), "samples");
    }

    [Fact]
    public void Fit_ThatCompletes_KeepsTheLastStep_AndSaysSo()
    {
        VariationalReport report = SmallFlow().Fit(BananaTarget, new VariationalOptions
        {
            Steps = 300,
            Optimizer = new AdamOptions { LearningRate = 0.01 },
            ImportanceSamples = 0,
        });

        Assert.Equal(FitStatus.Completed, report.Status);
        Assert.Equal(300, report.KeptStep);
        Assert.Null(report.Divergence);
        Assert.True(report.FinalElbo >= report.InitialElbo, report.ToString());
    }

    [Fact]
    public void Fit_WhenTheTargetReturnsNaN_ReportsDivergenceWithoutThrowing_ByDefault()
    {
        TransformedDistribution<double> flow = SmallFlow();
        double[] initial = AllValues(flow);

        VariationalReport report = flow.Fit((z, logDensity, gradient) => { logDensity.Fill(double.NaN); gradient.Clear(); },
            new VariationalOptions { Steps = 10 });

        Assert.Equal(FitStatus.Diverged, report.Status);
        Assert.Contains("log p̃ = NaN", report.Divergence, StringComparison.Ordinal);
        Assert.Equal(0, report.Steps);
        Assert.True(double.IsNaN(report.FinalElbo));
        AssertClose.Bitwise(initial, AllValues(flow), "parameters");
    }

    [Fact]
    public void Fit_WhenCancelled_CarriesTheReportOnTheException()
    {
        TransformedDistribution<double> flow = SmallFlow();
        using var source = new CancellationTokenSource();
        var options = new VariationalOptions
        {
            Steps = 100,
            ProgressInterval = 10,
            Progress = new SynchronousProgress<VariationalProgress>(p =>
            {
                if (p.Step == 20)
                {
                    source.Cancel();
                }
            }),
        };

        var exception = Assert.Throws<FitCanceledException<VariationalReport>>(() => flow.Fit(BananaTarget, options, source.Token));

        VariationalReport report = Assert.IsType<VariationalReport>(exception.Report);
        Assert.Equal(FitStatus.Cancelled, report.Status);
        Assert.Equal(20, report.Steps);
    }

    // Progress<T> posts to the thread pool; the tests need the reports synchronously.
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    [Fact]
    public void EstimateLogNormalizer_EqualsANaiveComputationOnTheSameDraws()
    {
        TransformedDistribution<double> flow = SmallFlow();

        LogNormalizerEstimate estimate = flow.EstimateLogNormalizer(BananaTarget, 500, new Random(9));

        double[,] x = flow.Sample(500, new Random(9));
        double[] logQ = flow.DensityLn(x);
        double[] logP = BananaLogDensity(x);
        double[] w = [.. Enumerable.Range(0, 500).Select(i => Math.Exp(logP[i] - logQ[i]))];
        double ess = w.Sum() * w.Sum() / w.Sum(v => v * v);
        AssertClose.Relative(Math.Log(w.Average()), estimate.LogNormalizer, ImportanceSampling, "log Z");
        AssertClose.Relative(ess, estimate.EffectiveSampleSize, ImportanceSampling, "ESS");
        AssertClose.Relative(Enumerable.Range(0, 500).Average(i => logP[i] - logQ[i]), estimate.Elbo, ImportanceSampling, "ELBO");
        double sd = Math.Sqrt(w.Sum(v => (v - w.Average()) * (v - w.Average())) / 499);
        AssertClose.Relative(sd / (w.Average() * Math.Sqrt(500)), estimate.StandardError, 1e-8, "standard error");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EstimateGradient_AllocatesNothingAfterTheFirstCall(bool stickingTheLanding)
    {
        TransformedDistribution<double> flow = SmallFlow();
        var objective = new VariationalObjective<double>(flow, BananaTarget, stickingTheLanding);
        var random = new Random(1);
        objective.EstimateGradient(32, random);
        objective.EstimateGradient(32, random);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            objective.EstimateGradient(32, random);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Options_RejectOutOfRangeSettings()
    {
        TransformedDistribution<double> flow = SmallFlow();
        Assert.Throws<ArgumentOutOfRangeException>("Steps", () => flow.Fit(BananaTarget, new VariationalOptions { Steps = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>("SamplesPerStep", () => flow.Fit(BananaTarget, new VariationalOptions { SamplesPerStep = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>("ImportanceSamples", () => flow.Fit(BananaTarget, new VariationalOptions { ImportanceSamples = -1 }));
    }

    // log N(z; μ, Σ) + Offset and its gradient −Σ⁻¹(z − μ), through MathNet: no code shared with the flow.
    private static LogDensityWithGradient<double> GaussianTarget()
    {
        Matrix<double> l = Matrix<double>.Build.DenseOfArray(CholeskyFactor);
        Matrix<double> precision = (l * l.Transpose()).Inverse();
        double logNormal = -(1.5 * Math.Log(2 * Math.PI)) - Math.Log(l.Diagonal().Aggregate(1.0, (a, b) => a * b));
        return (z, logDensity, gradient) =>
        {
            for (int i = 0; i < logDensity.Length; i++)
            {
                Vector<double> r = Vector<double>.Build.Dense(3);
                for (int j = 0; j < 3; j++)
                {
                    r[j] = z[(i * 3) + j] - Mean[j];
                }

                Vector<double> pr = precision * r;
                logDensity[i] = Offset + logNormal - (0.5 * r.DotProduct(pr));
                for (int j = 0; j < 3; j++)
                {
                    gradient[(i * 3) + j] = -pr[j];
                }
            }
        };
    }

    // A LowerTriangularAffine whose N(μ, LLᵀ) is the target's normalized density.
    private static TransformedDistribution<double> ExactGaussianFlow()
    {
        var bijector = new LowerTriangularAffine<double>(3);
        Mean.CopyTo(bijector.Shift.Values, 0);
        int k = 0;
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                bijector.PackedScale.Values[k++] = i == j ? Math.Log(CholeskyFactor[i, j]) : CholeskyFactor[i, j];
            }
        }

        return new TransformedDistribution<double>(new StandardNormal<double>(3), bijector);
    }

    private static TransformedDistribution<double> SmallFlow()
        => new(new StandardNormal<double>(2), BijectorCases.Randomized(
            new Chain<double>(new LowerTriangularAffine<double>(2), new SinhArcsinh<double>(2), new LowerTriangularAffine<double>(2)), seed: 2, scale: 0.3));

    // A banana: z₁ ~ N(0, 2²), z₂ | z₁ ~ N(z₁²/4, 1), unnormalized by dropping the constants.
    private static void BananaTarget(ReadOnlySpan<double> z, Span<double> logDensity, Span<double> gradient)
    {
        for (int i = 0; i < logDensity.Length; i++)
        {
            double a = z[2 * i];
            double r = z[(2 * i) + 1] - (a * a / 4);
            logDensity[i] = -(a * a / 8) - (r * r / 2);
            gradient[2 * i] = -(a / 4) + (r * a / 2);
            gradient[(2 * i) + 1] = -r;
        }
    }

    private static double[] BananaLogDensity(double[,] x)
    {
        int n = x.GetLength(0);
        var logDensity = new double[n];
        BananaTarget(TestData.Flatten(x), logDensity, new double[2 * n]);
        return logDensity;
    }

    private static double[] AllGradients(TransformedDistribution<double> flow) => [.. flow.Parameters.SelectMany(p => p.Gradients)];

    private static double[] AllValues(TransformedDistribution<double> flow) => [.. flow.Parameters.SelectMany(p => p.Values)];

    private static void SetValues(TransformedDistribution<double> flow, double[][] values)
    {
        for (int p = 0; p < flow.Parameters.Count; p++)
        {
            values[p].CopyTo(flow.Parameters[p].Values, 0);
        }
    }
}
