using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Tests.Testing;

namespace Flows.Tests.Distributions;

/// <summary>Every <see cref="IDistribution{T}"/> of the library: the array-level members agree with the tape-level ones.</summary>
public sealed class DistributionContractTests
{
    private static readonly Dictionary<string, Func<IDistribution<double>>> Distributions = new()
    {
        ["StandardNormal"] = () => new StandardNormal<double>(3),
        ["DiagonalNormal"] = () =>
        {
            var normal = new DiagonalNormal<double>(3);
            TestData.StandardNormal(3, 1, scale: 0.5).CopyTo(normal.Mean.Values, 0);
            TestData.StandardNormal(3, 2, scale: 0.5).CopyTo(normal.LogStandardDeviation.Values, 0);
            return normal;
        },
        ["TransformedDistribution"] = () => new TransformedDistribution<double>(
            new StandardNormal<double>(3), BijectorCases.Randomized(new Chain<double>(new SinhArcsinh<double>(3), new LowerTriangularAffine<double>(3)), 3)),
        ["ConditionedDistribution"] = () => ConditionedDistributionTests.ConditionalFlow().Given([0.8, -1.1]),        ["StudentT"] = () =>
        {
            var t = new StudentT<double>(3, degreesOfFreedom: 3);
            TestData.StandardNormal(3, 1, scale: 0.5).CopyTo(t.Location.Values, 0);
            TestData.StandardNormal(3, 2, scale: 0.5).CopyTo(t.LogScale.Values, 0);
            return t;
        },
        ["UniformBox"] = () => new UniformBox<double>(3, -2, 2),
        ["GaussianMixture"] = () =>
        {
            var mixture = new GaussianMixture<double>(3, 4, seed: 3);
            mixture.Initialize(TestData.StandardNormal(200, 3, seed: 9));
            return mixture;
        },
        ["GaussianMixture(full)"] = () =>
        {
            var mixture = new GaussianMixture<double>(3, 2, seed: 3, fullCovariance: true);
            mixture.Initialize(TestData.StandardNormal(200, 3, seed: 9));
            return mixture;
        },
        ["Mixture"] = () =>
        {
            var mixture = new Mixture<double>(
                new TransformedDistribution<double>(new StandardNormal<double>(3), BijectorCases.Randomized(new SinhArcsinh<double>(3), 3)),
                new StudentT<double>(3));
            mixture.Logits.Values[0] = 0.7;
            return mixture;
        },
    };

    public static TheoryData<string> Names => [.. Distributions.Keys];

    [Theory]
    [MemberData(nameof(Names))]
    public void ArrayDensityLn_EqualsTapeDensityLn(string name)
    {
        IDistribution<double> distribution = Distributions[name]();
        double[] x = TestData.Flatten(TestData.StandardNormal(20, 3, seed: 4));
        var destination = new double[20];

        distribution.DensityLn(x, destination);

        var tape = new Tape<double>(isRecording: false);
        AssertClose.Bitwise(distribution.DensityLn(tape, tape.Constant(x, 20, 3)).Values, destination, name);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void ArraySample_EqualsTheSamplesOfSampleWithDensityLn(string name)
    {
        IDistribution<double> distribution = Distributions[name]();
        var destination = new double[20 * 3];

        distribution.Sample(destination, new Random(5));

        var tape = new Tape<double>(isRecording: false);
        AssertClose.Bitwise(distribution.SampleWithDensityLn(tape, 20, new Random(5)).X.Values, destination, name);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void SampleWithDensityLn_EqualsDensityLnOfTheSamples(string name)
    {
        IDistribution<double> distribution = Distributions[name]();
        var tape = new Tape<double>(isRecording: false);

        (Node<double> x, Node<double> logDensity) = distribution.SampleWithDensityLn(tape, 20, new Random(6));

        var expected = new double[20];
        distribution.DensityLn(x.Values, expected);
        AssertClose.All(expected, logDensity.Values, Tolerance.SampleDensity, name);
    }

    [Theory]
    [InlineData("StandardNormal")]
    [InlineData("DiagonalNormal")]
    [InlineData("StudentT")]
    [InlineData("UniformBox")]
    [InlineData("GaussianMixture")]
    [InlineData("Mixture")]
    public void BaseDistributions_ThrowForAContext(string name)
    {
        IDistribution<double> distribution = Distributions[name]();

        Assert.Throws<ArgumentException>("context", () => distribution.DensityLn(new double[3], new double[1], new double[2]));
        Assert.Throws<ArgumentException>("context", () => distribution.Sample(new double[3], new Random(1), new double[2]));
    }

    [Theory]
    [InlineData("StandardNormal")]
    [InlineData("DiagonalNormal")]
    [InlineData("StudentT")]
    [InlineData("UniformBox")]
    [InlineData("GaussianMixture")]
    [InlineData("Mixture")]
    public void BaseDistributions_ThrowForTheWrongWidth(string name)
    {
        IDistribution<double> distribution = Distributions[name]();
        var tape = new Tape<double>(isRecording: false);

        Assert.Throws<ArgumentException>("x", () => distribution.DensityLn(tape, tape.Constant(new double[4], 2, 2)));
        Assert.Throws<ArgumentException>("x", () => distribution.DensityLn(new double[4], new double[1]));
    }
}
