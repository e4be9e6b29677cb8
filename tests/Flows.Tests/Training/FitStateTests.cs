using Flows.Bijectors;
using Flows.Distributions;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Training;

public sealed class FitStateTests
{
    // A fit that diverges in its first epoch restores its first snapshot. ActNorm has initialized itself from the data by
    // then, so the snapshot must hold the initialized values, not the zeros from before: a restored layer whose flag
    // says "initialized" but whose shift is 0 would never initialize again.
    [Fact]
    public void Fit_ThatDivergesInTheFirstEpoch_RestoresAnActNormInitializedFromTheData()
    {
        double[,] data = TestData.StandardNormal(400, 2, seed: 5, scale: 3);
        for (int i = 0; i < 400; i++)
        {
            data[i, 0] += 50;
        }

        var actNorm = new ActNorm<double>(2);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Chain<double>(new Affine<double>(2), actNorm));

        Assert.Throws<InvalidOperationException>(() => flow.Fit(data, new FitOptions
        {
            Epochs = 3,
            BatchSize = 50,
            Optimizer = new AdamOptions { LearningRate = 1e300 },
            Seed = 1,
            ThrowOnDivergence = true,
        }));

        Assert.True(actNorm.IsInitialized);
        double[] logDensity = flow.DensityLn(data);
        Assert.All(logDensity, v => Assert.True(double.IsFinite(v)));
        // Initialized from data centred at 50 with sd 3, the layer maps it to roughly standard scale.
        Assert.True(logDensity.Average() > -10, $"mean log-density {logDensity.Average()}: the layer was not restored initialized");
    }

    // Issue 12, fault 3: one probe DensityLn of a single row at (1e6, −1e6) before Fit initialized the ActNorm from that
    // row (a shift of 1e6), and the fit then reached a best loss of 4.9e11 without a word. One row cannot tell a
    // feature's spread; the flow refuses to initialize from it and says what to do instead.
    [Fact]
    public void DensityLn_OfOneRow_WithAnUninitializedActNorm_ThrowsNamingTheLayerAndTheFix()
    {
        var actNorm = new ActNorm<double>(2);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Chain<double>(new Affine<double>(2), actNorm));

        var exception = Assert.Throws<InvalidOperationException>(() => flow.DensityLn(new double[,] { { 1e6, -1e6 } }));

        Assert.Contains("ActNorm(dimension: 2)", exception.Message, StringComparison.Ordinal);
        Assert.Contains("1 row", exception.Message, StringComparison.Ordinal);
        Assert.Contains("Initialize", exception.Message, StringComparison.Ordinal);
        Assert.Contains("Fit", exception.Message, StringComparison.Ordinal);
        Assert.False(actNorm.IsInitialized);
    }

    // A stray evaluation of enough rows still initializes the layer (so that DensityLn of an untrained flow works), but
    // Fit then initializes it again from the training data: the fit is the one it would have been without the probe.
    [Fact]
    public void Fit_AfterAStrayEvaluation_InitializesActNormFromTheTrainingData()
    {
        double[,] data = TestData.Rows(TestData.LoadCsv("moons2d_train.csv"), 0, 400);
        var options = new FitOptions { Epochs = 3, BatchSize = 100, Seed = 2, Optimizer = new AdamOptions { LearningRate = 0.01 } };
        static (TransformedDistribution<double> Flow, ActNorm<double> ActNorm) Create()
        {
            var actNorm = new ActNorm<double>(2);
            return (new TransformedDistribution<double>(new StandardNormal<double>(2),
                new Chain<double>(new MaskedAutoregressive<double>(2, [8, 8], seed: 1), actNorm)), actNorm);
        }

        (TransformedDistribution<double> clean, ActNorm<double> _) = Create();
        FitReport cleanReport = clean.Fit(data, options);
        (TransformedDistribution<double> probed, ActNorm<double> probedActNorm) = Create();
        double[,] probe = TestData.StandardNormal(10, 2, seed: 3);
        for (int i = 0; i < 10; i++)
        {
            probe[i, 0] += 1e6;
            probe[i, 1] -= 1e6;
        }

        probed.DensityLn(probe);
        Assert.True(probedActNorm.IsInitialized, "precondition: the probe initialized the layer");
        FitReport probedReport = probed.Fit(data, options);

        Assert.Equal(cleanReport.History, probedReport.History);
        for (int p = 0; p < clean.Parameters.Count; p++)
        {
            AssertClose.Bitwise(clean.Parameters[p].Values, probed.Parameters[p].Values, clean.Parameters[p].Name);
        }
    }

    // A layer initialized on purpose (Initialize, or a previous fit) is kept: a second fit continues from it.
    [Fact]
    public void Fit_KeepsAnActNormInitializedOnPurpose()
    {
        var actNorm = new ActNorm<double>(2);
        actNorm.Initialize(new double[,] { { 1, 2 }, { 3, 5 }, { -1, 0 } });
        double[] shift = [.. actNorm.Shift.Values];
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Chain<double>(new Affine<double>(2), actNorm));

        flow.Fit(TestData.StandardNormal(200, 2, seed: 4), new FitOptions { Epochs = 1, Optimizer = new AdamOptions { LearningRate = 1e-12 } });

        AssertClose.All(shift, actNorm.Shift.Values, 1e-9, "shift after a fit with a negligible learning rate");
    }
}
