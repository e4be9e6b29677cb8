using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Distributions;

public sealed class GaussianMixtureTests
{
    // Four well-separated clusters in 2-D (centres (±3, ±3), σ 0.5), weights 0.1, 0.2, 0.3, 0.4.
    internal static double[,] FourClusters(int rows, int seed)
    {
        var random = new Random(seed);
        var data = new double[rows, 2];
        for (int i = 0; i < rows; i++)
        {
            double u = random.NextDouble();
            int k = u < 0.1 ? 0 : u < 0.3 ? 1 : u < 0.6 ? 2 : 3;
            data[i, 0] = (k % 2 == 0 ? -3 : 3) + (0.5 * TestData.NextNormal(random));
            data[i, 1] = (k < 2 ? -3 : 3) + (0.5 * TestData.NextNormal(random));
        }

        return data;
    }

    private static GaussianMixture<double> Randomized()
    {
        var mixture = new GaussianMixture<double>(2, 3, seed: 4);
        mixture.Initialize(TestData.StandardNormal(50, 2, seed: 5));
        TestData.StandardNormal(3, seed: 6).CopyTo(mixture.Logits.Values, 0);
        TestData.StandardNormal(2, seed: 7, scale: 0.3).CopyTo(Diagonal(mixture, 1).LogStandardDeviation.Values, 0);
        return mixture;
    }

    [Fact]
    public void DensityLn_EqualsTheWeightedSumOfNormalDensities()
    {
        GaussianMixture<double> mixture = Randomized();
        AssertDensityIsTheWeightedSum(mixture, (k, x0, x1) =>
            MathNet.Numerics.Distributions.Normal.PDF(Diagonal(mixture, k).Mean.Values[0], Math.Exp(Diagonal(mixture, k).LogStandardDeviation.Values[0]), x0)
            * MathNet.Numerics.Distributions.Normal.PDF(Diagonal(mixture, k).Mean.Values[1], Math.Exp(Diagonal(mixture, k).LogStandardDeviation.Values[1]), x1),
            Tolerance.ClosedForm);
    }

    [Fact]
    public void Gradients_EqualCentralDifferences()
        => DistributionGradients.AssertMatchFiniteDifferences(Randomized(), TestData.StandardNormal(10, 2, seed: 9, scale: 2));

    [Fact]
    public void FullCovariance_DensityLn_EqualsTheWeightedSumOfMultivariateNormalDensities()
    {
        GaussianMixture<double> mixture = RandomizedFull();
        AssertDensityIsTheWeightedSum(mixture, (k, x0, x1) =>
        {
            var affine = (LowerTriangularAffine<double>)((TransformedDistribution<double>)mixture.Components[k]).Bijector;
            var lower = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfArray(affine.GetScaleMatrix());
            var normal = new MathNet.Numerics.Distributions.MatrixNormal(
                MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfColumnArrays(affine.Shift.Values),
                lower * lower.Transpose(), MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseIdentity(1));
            return normal.Density(MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfColumnArrays([x0, x1]));
        }, 1e-10);
    }

    [Fact]
    public void FullCovariance_Gradients_EqualCentralDifferences()
        => DistributionGradients.AssertMatchFiniteDifferences(RandomizedFull(), TestData.StandardNormal(10, 2, seed: 9, scale: 2));

    [Fact]
    public void FullCovariance_Initialize_FindsEachClustersCorrelation()
    {
        // Two clusters at (±4, 0), with correlations +0.8 and −0.8 between the features.
        var random = new Random(3);
        var data = new double[4000, 2];
        for (int i = 0; i < 4000; i++)
        {
            double sign = i % 2 == 0 ? 1 : -1;
            double a = TestData.NextNormal(random);
            double b = TestData.NextNormal(random);
            data[i, 0] = (4 * sign) + a;
            data[i, 1] = sign * ((0.8 * a) + (0.6 * b));
        }

        var mixture = new GaussianMixture<double>(2, 2, fullCovariance: true);
        mixture.Initialize(data);

        foreach (IDistribution<double> component in mixture.Components)
        {
            var affine = (LowerTriangularAffine<double>)((TransformedDistribution<double>)component).Bijector;
            double[,] l = affine.GetScaleMatrix();
            double covariance = l[1, 0] * l[0, 0];
            Assert.InRange(Math.Abs(covariance), 0.75, 0.85);
            Assert.Equal(Math.Sign(affine.Shift.Values[0]), Math.Sign(covariance));
        }
    }

    private static GaussianMixture<double> RandomizedFull()
    {
        var mixture = new GaussianMixture<double>(2, 3, seed: 4, fullCovariance: true);
        mixture.Initialize(TestData.StandardNormal(50, 2, seed: 5));
        TestData.StandardNormal(3, seed: 6).CopyTo(mixture.Logits.Values, 0);
        var affine = (LowerTriangularAffine<double>)((TransformedDistribution<double>)mixture.Components[1]).Bijector;
        affine.PackedScale.Values[1] = 0.6;
        return mixture;
    }

    // log Σₖ wₖ pₖ(x) at 20 points against the mixture's DensityLn, pₖ given by an oracle.
    private static void AssertDensityIsTheWeightedSum(GaussianMixture<double> mixture, Func<int, double, double, double> componentDensity, double tolerance)
    {
        double[,] x = TestData.StandardNormal(20, 2, seed: 8, scale: 2);
        var actual = new double[20];
        mixture.DensityLn(TestData.Flatten(x), actual);
        double[] weights = mixture.Weights;
        for (int i = 0; i < 20; i++)
        {
            double expected = Enumerable.Range(0, mixture.ComponentCount).Sum(k => weights[k] * componentDensity(k, x[i, 0], x[i, 1]));
            AssertClose.Relative(Math.Log(expected), actual[i], tolerance, $"row {i}");
        }
    }

    private static DiagonalNormal<double> Diagonal(GaussianMixture<double> mixture, int k) => (DiagonalNormal<double>)mixture.Components[k];

    [Fact]
    public void Initialize_FindsTheClustersTheirSpreadsAndTheirWeights()
    {
        var mixture = new GaussianMixture<double>(2, 4);
        mixture.Initialize(FourClusters(4000, seed: 1));

        double[] weights = mixture.Weights;
        var found = mixture.Components.Cast<DiagonalNormal<double>>().Select((c, k) => (X: c.Mean.Values[0], Y: c.Mean.Values[1], Sigma: Math.Exp(c.LogStandardDeviation.Values[0]), W: weights[k]))
            .OrderBy(c => Math.Round(c.Y)).ThenBy(c => c.X).ToArray();
        double[] expectedWeights = [0.1, 0.2, 0.3, 0.4];
        for (int k = 0; k < 4; k++)
        {
            Assert.InRange(found[k].X, (k % 2 == 0 ? -3 : 3) - 0.1, (k % 2 == 0 ? -3 : 3) + 0.1);
            Assert.InRange(found[k].Y, (k < 2 ? -3 : 3) - 0.1, (k < 2 ? -3 : 3) + 0.1);
            Assert.InRange(found[k].Sigma, 0.45, 0.55);
            Assert.InRange(found[k].W, expectedWeights[k] - 0.03, expectedWeights[k] + 0.03);
        }
    }

    [Fact]
    public void Initialize_IsDeterministicGivenTheSeed()
    {
        double[,] data = FourClusters(500, seed: 2);
        var a = new GaussianMixture<double>(2, 4, seed: 3);
        var b = new GaussianMixture<double>(2, 4, seed: 3);
        a.Initialize(data);
        b.Initialize(data);

        for (int p = 0; p < a.Parameters.Count; p++)
        {
            AssertClose.Bitwise(a.Parameters[p].Values, b.Parameters[p].Values, a.Parameters[p].Name);
        }
    }

    [Fact]
    public void Fit_InitializesTheBaseByKMeansOnTheDataMappedToBaseSpace()
    {
        // An affine layer that halves the data: the base sees clusters at (±1.5, ±1.5) once Fit has initialized it.
        var affine = new Affine<double>(2);
        affine.LogScale.Values.AsSpan().Fill(Math.Log(2));
        var flow = new TransformedDistribution<double>(new GaussianMixture<double>(2, 4), affine);

        flow.Fit(FourClusters(1000, seed: 3), new FitOptions { Epochs = 1, Seed = 1, BatchSize = 256 });

        var mixture = (GaussianMixture<double>)flow.BaseDistribution;
        Assert.True(mixture.IsInitialized);
        Assert.All(mixture.Components.Cast<DiagonalNormal<double>>(), c => Assert.InRange(Math.Abs(c.Mean.Values[0]), 1.2, 1.8));
    }

    [Fact]
    public void Fit_IsDeterministicGivenTheFitSeed_AndTheKMeansStartDependsOnIt()
    {
        double[,] data = FourClusters(600, seed: 6);
        TransformedDistribution<double> Fitted(int seed)
        {
            var flow = new TransformedDistribution<double>(new GaussianMixture<double>(2, 4), new Affine<double>(2));
            flow.Fit(data, new FitOptions { Epochs = 1, Seed = seed });
            return flow;
        }

        TransformedDistribution<double> a = Fitted(1);
        TransformedDistribution<double> b = Fitted(1);
        for (int p = 0; p < a.Parameters.Count; p++)
        {
            AssertClose.Bitwise(a.Parameters[p].Values, b.Parameters[p].Values, a.Parameters[p].Name);
        }

        // Another fit seed shuffles and splits the rows differently, so k-means sees other rows.
        Assert.NotEqual(a.Parameters[1].Values, Fitted(2).Parameters[1].Values);
    }

    [Fact]
    public void SampleGradient_ReachesTheMeansButNotTheLogits()
    {
        GaussianMixture<double> mixture = Randomized();
        var tape = new Tape<double>();
        Node<double> x = mixture.SampleWithDensityLn(tape, 200, new Random(3)).X;
        tape.Backward(tape.Sum(x));

        Assert.All(mixture.Logits.Gradients, g => Assert.Equal(0, g));
        // ∂Σx/∂μₖ = the number of rows drawn from component k, per feature; together every row.
        Assert.Equal(400, mixture.Components.Cast<DiagonalNormal<double>>().Sum(c => c.Mean.Gradients.Sum()), 10);
    }

    [Fact]
    public void DensityLn_InFloat_AgreesWithDouble()
    {
        double[,] data = FourClusters(300, seed: 4);
        var single = new GaussianMixture<float>(2, 4);
        var twice = new GaussianMixture<double>(2, 4);
        var singleData = new float[300, 2];
        for (int i = 0; i < 300; i++)
        {
            singleData[i, 0] = (float)data[i, 0];
            singleData[i, 1] = (float)data[i, 1];
        }

        single.Initialize(singleData);
        twice.Initialize(data);
        var expected = new double[300];
        twice.DensityLn(TestData.Flatten(data), expected);
        var actual = new float[300];
        single.DensityLn(TestData.Flatten(data).Select(v => (float)v).ToArray(), actual);
        AssertClose.All(expected, [.. actual.Select(v => (double)v)], 1e-5, "float vs double");
    }

    [Fact]
    public void Constructor_ThrowsForNonPositiveComponentCount()
        => Assert.Throws<ArgumentOutOfRangeException>("componentCount", () => new GaussianMixture<double>(2, 0));

    [Fact]
    public void Initialize_ThrowsForDataOfTheWrongWidth()
        => Assert.Throws<ArgumentException>("data", () => new GaussianMixture<double>(2, 3).Initialize(new double[5, 3]));

    [Fact]
    public void DensityLn_OfAnUninitializedMixtureOnItsOwn_Refuses_InsteadOfClusteringTheRowsItScores()
    {
        // One row at (1e6, −1e6) used to become all three means (review finding).
        var mixture = new GaussianMixture<double>(2, 3, seed: 1);
        var destination = new double[1];

        var exception = Assert.Throws<InvalidOperationException>(() => mixture.DensityLn([1e6, -1e6], destination));

        Assert.Contains("not initialized", exception.Message, StringComparison.Ordinal);
        Assert.False(mixture.IsInitialized);
    }

    [Fact]
    public void Initialize_AClusterConstantInAFeature_TakesAThousandthOfAllRowsSpreadThere_NotOne()
    {
        // Two clusters far apart at scale 1e-4; in the first, feature 1 is constant (review finding: σ started at 1).
        var random = new Random(4);
        var data = new double[100, 2];
        for (int i = 0; i < 100; i++)
        {
            bool first = i < 50;
            data[i, 0] = (first ? 0 : 1e-2) + (1e-4 * random.NextDouble());
            data[i, 1] = first ? 3e-3 : 3e-3 + (1e-4 * random.NextDouble());
        }

        var mixture = new GaussianMixture<double>(2, 2, seed: 1);
        mixture.Initialize(data);

        double mean = Enumerable.Range(0, 100).Average(i => data[i, 1]);
        double overall = Math.Sqrt(Enumerable.Range(0, 100).Average(i => (data[i, 1] - mean) * (data[i, 1] - mean)));
        var constant = (DiagonalNormal<double>)mixture.Components.Single(c => ((DiagonalNormal<double>)c).Mean.Values[0] < 5e-3);
        Assert.Equal(1e-3 * overall, Math.Exp(constant.LogStandardDeviation.Values[1]), 1e-9 * overall);
    }
}

