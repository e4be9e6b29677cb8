using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Bijectors;

public sealed class StandardizationTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("Standardization(d=3)", _ => InitializedOnData<double>(3), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("Standardization", () => InitializedOnData<T>(3)),
        new("Standardization(uninitialized)", () => new Standardization<T>(2)),
    ];

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Constructor_ThrowsForNonPositiveDimension(int value)
        => Assert.Throws<ArgumentOutOfRangeException>("dimension", () => new Standardization<double>(value));

    [Fact]
    public void FirstInverse_StandardizesItsBatch_WithTheLogScalesAsItsLogDeterminant_AndHasNoParameters()
    {
        var layer = new Standardization<double>(3);
        double[,] x = Scaled(TestData.StandardNormal(200, 3, seed: 1), [0.01, 3, 250], [5, -2, 1e3]);

        (double[,] z, double[] logDet) = layer.Inverse(x);

        Assert.True(layer.IsInitialized);
        Assert.Empty(layer.Parameters);
        double expectedLogDet = -layer.Scale.ToArray().Sum(Math.Log);
        for (int j = 0; j < 3; j++)
        {
            double[] column = [.. Enumerable.Range(0, 200).Select(i => z[i, j])];
            double mean = column.Average();
            double std = Math.Sqrt(column.Average(v => (v - mean) * (v - mean)));
            Assert.True(Math.Abs(mean) <= 1e-12 && Math.Abs(std - 1) <= 1e-12, $"feature {j}: mean {mean:G3}, std {std:R}");
        }

        Assert.All(logDet, v => AssertClose.Relative(expectedLogDet, v, 1e-14, "log|det J| of the inverse"));
        Assert.InRange(Math.Exp(-expectedLogDet), 0.01 * 3 * 250 * 0.8, 0.01 * 3 * 250 * 1.2);
    }

    [Fact]
    public void ConstantColumn_IsCentredButNotScaled()
    {
        var layer = new Standardization<double>(2);
        double[,] x = TestData.StandardNormal(50, 2, seed: 2);
        for (int i = 0; i < 50; i++)
        {
            x[i, 1] = 1e6;
        }

        layer.Initialize(x);

        Assert.Equal(1e6, layer.Mean[1]);
        Assert.Equal(1.0, layer.Scale[1]);
        Assert.True(layer.Scale[0] is > 0.5 and < 2);
    }

    // Fuzz finding: a spread of subnormals scaled by 2^1074 overflowed to NaN moments; a scale that is not a normal
    // number of T would also overflow the layer's reciprocal. Both count as constant features.
    [Fact]
    public void SubnormalSpread_CountsAsConstant_AndGivesFiniteResults()
    {
        var layer = new Standardization<double>(2);
        layer.Initialize(new[,] { { 5e-324, 1.0 }, { 0.0, 2.0 }, { 1e-323, 3.0 } });
        Assert.Equal(1.0, layer.Scale[0]);
        Assert.True(double.IsFinite(layer.Mean[0]));

        var single = new Standardization<float>(1);
        single.Initialize(new[,] { { 1e-44f }, { 0f }, { 3e-44f } });
        Assert.Equal(1f, single.Scale[0]);
        Assert.True(float.IsFinite(single.Inverse(new[,] { { 2e-44f } }).Output[0, 0]), "float inverse");

        var actNorm = new ActNorm<double>(1);
        actNorm.Initialize(new[,] { { 5e-324 }, { 0.0 } });
        Assert.Equal(0.0, actNorm.LogScale.Values[0]);
    }

    // Review finding: a constant-feature rule of 1e-10 · max |x| called real data constant: Unix times near 1.7e9 s
    // varying by 0.1 s (6e-11 of their magnitude, 2.6e5 ulps in double). The rule is now 64 ulps.
    [Fact]
    public void TimestampsThatVaryByATenthOfASecond_AreScaled_AndTheirGaussianFits()
    {
        double[,] data = TestData.StandardNormal(200, 2, seed: 7, scale: 0.1);
        for (int i = 0; i < 200; i++)
        {
            data[i, 0] += 1.7e9;
            data[i, 1] = (3 * data[i, 1]) + (data[i, 0] - 1.7e9);
        }

        var layer = new Standardization<double>(2);
        layer.Initialize(data);
        Assert.InRange(layer.Scale[0], 0.08, 0.12);

        MultivariateNormal.Fit(data); // singular under the old rule
    }

    [Fact]
    public void Initialization_HappensExactlyOnce_AndForwardBeforeItIsTheIdentity()
    {
        var layer = new Standardization<double>(2);
        double[,] z = TestData.StandardNormal(5, 2, seed: 3);
        AssertClose.Bitwise(z, layer.Forward(z).Output, "forward before initialization");

        layer.Inverse(TestData.StandardNormal(50, 2, seed: 4, scale: 4));
        double[] mean = layer.Mean.ToArray();
        layer.Inverse(TestData.StandardNormal(50, 2, seed: 5, scale: 0.1));

        Assert.Equal(mean, layer.Mean.ToArray());
        Assert.Throws<InvalidOperationException>(() => layer.Initialize(new double[3, 2]));
    }

    [Fact]
    public void Initialize_RejectsNonFiniteData_NamingTheCell()
    {
        var data = new double[4, 2];
        data[2, 1] = double.NaN;

        var e = Assert.Throws<ArgumentException>("data", () => new Standardization<double>(2).Initialize(data));
        Assert.Contains("2", e.Message, StringComparison.Ordinal);
    }

    // Issue 15: the presets' Gaussian start once had a trainable shift in the data's units next to the data, so at a
    // scale of 1e-4 each Adam step of 1e-3 moved it by ten standard deviations (two moons, NSF: -2.00 nats per row at
    // 1e-4 against -0.40 at 1). Every trainable layer now works in standardized units, and the held-out log-likelihood
    // changes by exactly the change of units, up to rounding carried through the fit.
    [Theory]
    [InlineData("MAF")]
    [InlineData("NSF")]
    public void Presets_FittedToTheSameDataInOtherUnits_GiveTheSameLogLikelihood_ShiftedByTheChangeOfUnits(string preset)
    {
        double[,] moons = TestData.LoadCsv("moons2d_train.csv");
        double[,] train = TestData.Rows(moons, 0, 400);
        double[,] test = TestData.Rows(moons, 400, 1000);
        var logLikelihoods = new List<double>();
        foreach (double scale in (double[])[1e-4, 1, 1e4])
        {
            TransformedDistribution<double> flow = preset == "MAF"
                ? MaskedAutoregressiveFlow.Create<double>(2, transforms: 2, hiddenFeatures: [16, 16], seed: 1)
                : NeuralSplineFlow.Create<double>(2, transforms: 2, hiddenFeatures: [16, 16], seed: 1);
            flow.Fit(Scaled(train, [scale, scale], [3 * scale, -scale]), new FitOptions { Epochs = 100, Seed = 2 });
            double[,] scaledTest = Scaled(test, [scale, scale], [3 * scale, -scale]);
            logLikelihoods.Add(flow.DensityLn(scaledTest).Average() + (2 * Math.Log(scale)));
        }

        Assert.True(logLikelihoods.Max() - logLikelihoods.Min() <= 0.02,
            $"{preset}: held-out log-likelihood in unit-scale nats at scales 1e-4, 1, 1e4: {string.Join(", ", logLikelihoods.Select(v => v.ToString("F4")))}");
    }

    internal static Standardization<T> InitializedOnData<T>(int dimension) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var layer = new Standardization<T>(dimension);
        double[,] data = Scaled(TestData.StandardNormal(40, dimension, seed: 11), [.. Enumerable.Range(0, dimension).Select(j => 0.5 + (2.0 * j))],
            [.. Enumerable.Range(0, dimension).Select(j => 3.0 - j)]);
        var values = new T[40, dimension];
        for (int i = 0; i < 40; i++)
        {
            for (int j = 0; j < dimension; j++)
            {
                values[i, j] = T.CreateTruncating(data[i, j]);
            }
        }

        layer.Initialize(values);
        return layer;
    }

    private static double[,] Scaled(double[,] x, double[] scale, double[] shift)
    {
        var result = (double[,])x.Clone();
        for (int i = 0; i < result.GetLength(0); i++)
        {
            for (int j = 0; j < result.GetLength(1); j++)
            {
                result[i, j] = (result[i, j] * scale[j]) + shift[j];
            }
        }

        return result;
    }
}
