using System.Numerics;
using System.Text.Json.Nodes;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Persistence;
using Flows.Tests.Testing;

namespace Flows.Tests.Persistence;

/// <summary>The bases beyond the normal (StudentT, UniformBox, UniformAngles, GaussianMixture, Mixture) saved and loaded bit for bit.</summary>
public sealed class BaseDistributionPersistenceTests
{
    private static IDistribution<T> Base<T>(string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (name)
        {
            case "StudentT":
                var t = new StudentT<T>(3, degreesOfFreedom: 2.7);
                t.Location.Values[1] = T.CreateTruncating(0.3);
                t.LogScale.Values[2] = T.CreateTruncating(-0.2);
                t.RawDegreesOfFreedom.Values[0] = T.CreateTruncating(1.1);
                return t;
            case "UniformBox":
                return new UniformBox<T>(3, -0.1, 1.3);
            case "UniformAngles":
                return new UniformAngles<T>([true, false, true]);
            case "GaussianMixture" or "GaussianMixture(full)":
                var gaussians = new GaussianMixture<T>(3, 3, seed: 5, fullCovariance: name == "GaussianMixture(full)");
                var data = new T[60, 3];
                double[] values = TestData.StandardNormal(180, seed: 2, scale: 2);
                for (int i = 0; i < 180; i++)
                {
                    data[i / 3, i % 3] = T.CreateTruncating(values[i]);
                }

                gaussians.Initialize(data);
                return gaussians;
            default:
                // A mixture of a flow (itself on a GaussianMixture base), a StudentT and a DiagonalNormal.
                var mixture = new Mixture<T>(
                    new TransformedDistribution<T>(Base<T>("GaussianMixture"), new SinhArcsinh<T>(3)),
                    Base<T>("StudentT"),
                    new DiagonalNormal<T>(3));
                mixture.Logits.Values[0] = T.CreateTruncating(0.4);
                mixture.Logits.Values[2] = T.CreateTruncating(-1.2);
                return mixture;
        }
    }

    public static TheoryData<string> Names => ["StudentT", "UniformBox", "UniformAngles", "GaussianMixture", "GaussianMixture(full)", "Mixture"];

    [Theory]
    [MemberData(nameof(Names))]
    public void SaveLoad_GivesBitIdenticalParametersDensitiesAndSamples_Double(string name) => AssertRoundTripIsExact<double>(name);

    [Theory]
    [MemberData(nameof(Names))]
    public void SaveLoad_GivesBitIdenticalParametersDensitiesAndSamples_Float(string name) => AssertRoundTripIsExact<float>(name);

    [Fact]
    public void SaveLoad_KeepsTheGaussianMixturesInitializedFlag()
    {
        var uninitialized = new TransformedDistribution<double>(new GaussianMixture<double>(2, 3, seed: 4), new Affine<double>(2));
        Assert.False(((GaussianMixture<double>)RoundTrip(uninitialized).BaseDistribution).IsInitialized);
        var initialized = (TransformedDistribution<double>)Flow<double>("GaussianMixture");
        var loaded = (GaussianMixture<double>)RoundTrip(initialized).BaseDistribution;
        Assert.True(loaded.IsInitialized);
        Assert.Equal(5, loaded.Seed);
    }

    [Fact]
    public void Load_RejectsAGaussianMixtureComponentOfAnotherType()
    {
        var stream = new MemoryStream();
        Flow<double>("GaussianMixture").Save(stream);
        JsonNode root = JsonNode.Parse(stream.ToArray())!;
        root["flow"]!["base"]!["components"]![1]!["type"] = "StandardNormal";
        FlowFormatException e = Assert.Throws<FlowFormatException>(() => FlowSerializer.Load<double>(SavedFiles.Resigned(root)));
        Assert.Contains("$.flow.base.components[1]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RejectsAnEmptyUniformBox()
    {
        var stream = new MemoryStream();
        Flow<double>("UniformBox").Save(stream);
        JsonNode root = JsonNode.Parse(stream.ToArray())!;
        root["flow"]!["base"]!["upper"] = -0.1;
        FlowFormatException e = Assert.Throws<FlowFormatException>(() => FlowSerializer.Load<double>(SavedFiles.Resigned(root)));
        Assert.Contains("upper", e.Message, StringComparison.Ordinal);
    }

    private static TransformedDistribution<T> Flow<T>(string name) where T : unmanaged, IFloatingPointIeee754<T>
        => new(Base<T>(name), name switch
        {
            "UniformBox" => new Chain<T>(new Affine<T>(3), Elementwise.Sigmoid<T>(3)),
            "UniformAngles" => new CircularShift<T>([true, false, true]),
            _ => new SinhArcsinh<T>(3),
        });

    private static TransformedDistribution<T> RoundTrip<T>(TransformedDistribution<T> flow) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var stream = new MemoryStream();
        flow.Save(stream);
        stream.Position = 0;
        return FlowSerializer.Load<T>(stream);
    }

    private static void AssertRoundTripIsExact<T>(string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TransformedDistribution<T> original = Flow<T>(name);
        TransformedDistribution<T> loaded = RoundTrip(original);

        Assert.Equal(original.ToString(), loaded.ToString());
        Assert.Equal(original.Parameters.Count, loaded.Parameters.Count);
        for (int p = 0; p < original.Parameters.Count; p++)
        {
            Assert.Equal(original.Parameters[p].Name, loaded.Parameters[p].Name);
            Assert.Equal(original.Parameters[p].Values, loaded.Parameters[p].Values);
        }

        T[,] samples = original.Sample(64, new Random(9));
        Assert.Equal(samples, loaded.Sample(64, new Random(9)));
        Assert.Equal(original.DensityLn(samples), loaded.DensityLn(samples));
    }
}
