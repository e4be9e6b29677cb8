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
        }));

        Assert.True(actNorm.IsInitialized);
        double[] logDensity = flow.DensityLn(data);
        Assert.All(logDensity, v => Assert.True(double.IsFinite(v)));
        // Initialized from data centred at 50 with sd 3, the layer maps it to roughly standard scale.
        Assert.True(logDensity.Average() > -10, $"mean log-density {logDensity.Average()}: the layer was not restored initialized");
    }
}
