using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Persistence;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

public sealed class ActNormTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("ActNorm(d=3)", s => BijectorCases.Randomized(ActNormTests.InitializedOnZeros(3), s), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("ActNorm", () => InitializedOnData<T>(3)),
    ];

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Constructor_ThrowsForNonPositiveDimension(int value)
        => Assert.Throws<ArgumentOutOfRangeException>("dimension", () => new ActNorm<double>(value));

    [Fact]
    public void FirstInverse_StandardizesItsBatch_PerFeature()
    {
        var bijector = new ActNorm<double>(3);
        double[,] x = Shifted(TestData.StandardNormal(200, 3, seed: 1), scale: [0.01, 3, 250], shift: [5, -2, 1e3]);

        double[,] z = bijector.Inverse(x).Output;

        Assert.True(bijector.IsInitialized);
        for (int j = 0; j < 3; j++)
        {
            (double mean, double std) = Moments(z, j);
            Assert.True(Math.Abs(mean) <= 1e-10, $"feature {j}: mean {mean:G3}");
            Assert.True(Math.Abs(std - 1) <= 1e-10, $"feature {j}: std {std:R}");
        }
    }

    [Fact]
    public void Initialization_HappensExactlyOnce()
    {
        var bijector = new ActNorm<double>(2);
        bijector.Inverse(TestData.StandardNormal(50, 2, seed: 2, scale: 4));
        double[] shift = [.. bijector.Shift.Values];
        double[] logScale = [.. bijector.LogScale.Values];

        bijector.Inverse(TestData.StandardNormal(50, 2, seed: 3, scale: 0.1));

        Assert.Equal(shift, bijector.Shift.Values);
        Assert.Equal(logScale, bijector.LogScale.Values);
        Assert.Throws<InvalidOperationException>(() => bijector.Initialize(new double[3, 2]));
    }

    [Fact]
    public void Forward_BeforeInitialization_IsTheIdentity_AndDoesNotInitialize()
    {
        var bijector = new ActNorm<double>(2);
        double[,] z = TestData.StandardNormal(5, 2, seed: 4);

        (double[,] x, double[] logDet) = bijector.Forward(z);

        AssertClose.Bitwise(z, x);
        Assert.All(logDet, v => Assert.Equal(0.0, v));
        Assert.False(bijector.IsInitialized);
    }

    [Fact]
    public void FirstInverse_OnATrainingTape_Initializes()
    {
        var bijector = new ActNorm<double>(2);
        double[,] x = TestData.StandardNormal(40, 2, seed: 9, scale: 3);
        var tape = new Tape<double>(isTraining: true);

        bijector.Inverse(tape, tape.Constant(TestData.Flatten(x), 40, 2));

        Assert.True(bijector.IsInitialized);
        Assert.All(bijector.LogScale.Values, s => Assert.NotEqual(0.0, s));
    }

    // A recording tape outside training differentiates something other than a fit to data — log q at q's own samples
    // under sticking-the-landing variational inference — so its input must not initialize the layer. The layer keeps its
    // current parameters (the identity) and counts as initialized, so that scoring data later cannot overwrite the
    // parameters that gradient steps learn from there.
    [Fact]
    public void FirstInverse_OnARecordingTapeOutsideTraining_IsTheIdentity_AndAdoptsItsParameters()
    {
        var bijector = new ActNorm<double>(2);
        double[,] x = TestData.StandardNormal(40, 2, seed: 10, scale: 3);
        var tape = new Tape<double>(); // recording, with training off (the default)

        (Node<double> z, Node<double> logDet) = bijector.Inverse(tape, tape.Variable(TestData.Flatten(x), 40, 2));

        Assert.Equal(new double[] { 0, 0 }, bijector.Shift.Values);
        Assert.Equal(new double[] { 0, 0 }, bijector.LogScale.Values);
        AssertClose.Bitwise(TestData.Flatten(x), z.Values);
        Assert.All(logDet.Values.ToArray(), v => Assert.Equal(0.0, v));
        Assert.True(bijector.IsInitialized);
        bijector.Inverse(TestData.StandardNormal(40, 2, seed: 11, scale: 5));
        Assert.Equal(new double[] { 0, 0 }, bijector.Shift.Values);
    }

    [Fact]
    public void EmptyBatch_DoesNotInitialize()
    {
        var bijector = new ActNorm<double>(2);
        bijector.Inverse(new double[0, 2]);
        Assert.False(bijector.IsInitialized);
    }

    [Fact]
    public void BatchOfOneRow_CentresWithoutScaling_NeverNaN()
    {
        var bijector = new ActNorm<double>(2);

        (double[,] z, double[] logDet) = bijector.Inverse(new double[,] { { 3, -7 } });

        Assert.Equal(new double[] { 3, -7 }, bijector.Shift.Values);
        Assert.Equal(new double[] { 0, 0 }, bijector.LogScale.Values);
        AssertClose.Bitwise(new double[,] { { 0, 0 } }, z);
        Assert.Equal(0.0, logDet[0]);
    }

    [Fact]
    public void ConstantFeature_IsCentredNotScaled_OtherFeaturesStandardized()
    {
        var bijector = new ActNorm<double>(2);
        double[,] x = TestData.StandardNormal(30, 2, seed: 5, scale: 2);
        for (int i = 0; i < 30; i++)
        {
            x[i, 1] = 0.1; // constant, and 0.1 is inexact so its computed mean may differ from it by an ulp
        }

        double[,] z = bijector.Inverse(x).Output;

        Assert.Equal(0.0, bijector.LogScale.Values[1]);
        AssertClose.Finite(z, "outputs");
        Assert.True(Math.Abs(Moments(z, 0).Std - 1) <= 1e-10);
        Assert.True(Math.Abs(z[0, 1]) <= 1e-15);
    }

    [Fact]
    public void Initialize_ThrowsForANonFiniteValue_NamingIt()
    {
        var bijector = new ActNorm<double>(2);
        var e = Assert.Throws<ArgumentException>("data", () => bijector.Initialize(new double[,] { { 1, 2 }, { double.NaN, 0 } }));
        Assert.Contains("data[1, 0]", e.Message, StringComparison.Ordinal);
        Assert.False(bijector.IsInitialized);
    }

    [Fact]
    public void SaveLoad_DoesNotReinitialize_AndGivesBitIdenticalDensitiesAndSamples()
    {
        var bijector = new ActNorm<double>(3);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(3), bijector);
        flow.DensityLn(TestData.StandardNormal(40, 3, seed: 6, scale: 3));
        using var stream = new MemoryStream();
        flow.Save(stream);
        stream.Position = 0;

        TransformedDistribution<double> loaded = FlowSerializer.Load<double>(stream);
        var loadedActNorm = (ActNorm<double>)loaded.Bijector;
        double[,] fresh = TestData.StandardNormal(16, 3, seed: 7, scale: 0.2);
        double[] loadedDensity = loaded.DensityLn(fresh);

        Assert.True(loadedActNorm.IsInitialized);
        Assert.Equal(bijector.Shift.Values, loadedActNorm.Shift.Values);
        Assert.Equal(bijector.LogScale.Values, loadedActNorm.LogScale.Values);
        AssertClose.Bitwise(flow.DensityLn(fresh), loadedDensity);
        AssertClose.Bitwise(flow.Sample(16, new Random(2)), loaded.Sample(16, new Random(2)));
    }

    [Fact]
    public void SaveLoad_OfAnUninitializedLayer_StillInitializesOnFirstData()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new ActNorm<double>(2));
        using var stream = new MemoryStream();
        flow.Save(stream);
        stream.Position = 0;

        TransformedDistribution<double> loaded = FlowSerializer.Load<double>(stream);
        loaded.DensityLn(TestData.StandardNormal(10, 2, seed: 8, scale: 5));

        Assert.True(((ActNorm<double>)loaded.Bijector).IsInitialized);
    }

    [Fact]
    public void ToString_IsConstructorLike() => Assert.Equal("ActNorm(dimension: 4)", new ActNorm<double>(4).ToString());

    private static double[,] Shifted(double[,] x, double[] scale, double[] shift)
    {
        for (int i = 0; i < x.GetLength(0); i++)
        {
            for (int j = 0; j < x.GetLength(1); j++)
            {
                x[i, j] = (x[i, j] * scale[j]) + shift[j];
            }
        }

        return x;
    }

    private static (double Mean, double Std) Moments(double[,] z, int column)
    {
        int n = z.GetLength(0);
        double mean = 0;
        for (int i = 0; i < n; i++)
        {
            mean += z[i, column];
        }

        mean /= n;
        double squares = 0;
        for (int i = 0; i < n; i++)
        {
            squares += (z[i, column] - mean) * (z[i, column] - mean);
        }

        return (mean, Math.Sqrt(squares / n));
    }

    // An ActNorm past its data-dependent initialization, so that the suite sees a fixed map.
    internal static ActNorm<double> InitializedOnZeros(int dimension)
    {
        var actNorm = new ActNorm<double>(dimension);
        actNorm.Initialize(new double[1, dimension]);
        return actNorm;
    }


    // ActNorm initializes from its first data batch; one that has seen its batch is what a trained model holds.
    internal static ActNorm<T> InitializedOnData<T>(int dimension) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var actNorm = new ActNorm<T>(dimension);
        var data = new T[5, dimension];
        for (int i = 0; i < 5; i++)
        {
            for (int j = 0; j < dimension; j++)
            {
                data[i, j] = T.CreateTruncating(Math.Sin((3 * i) + j) * (j + 1));
            }
        }

        actNorm.Initialize(data);
        return actNorm;
    }
}
