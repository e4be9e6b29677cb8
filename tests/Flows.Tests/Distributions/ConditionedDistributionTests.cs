using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Tests.Testing;

namespace Flows.Tests.Distributions;

public sealed class ConditionedDistributionTests
{
    // More than two of the flow's 512-row evaluation chunks, so that the broadcast is checked across chunk boundaries.
    private const int Rows = 1100;

    private static readonly double[] Observation = [0.8, -1.1];

    [Fact]
    public void Sample_EqualsSamplingWithTheContextOnEveryRow_BitForBit()
    {
        TransformedDistribution<double> flow = ConditionalFlow();

        double[,] expected = flow.Sample(Rows, new Random(3), Repeated(Observation, Rows));

        AssertClose.Bitwise(expected, flow.Given(Observation).Sample(Rows, new Random(3)));
    }

    [Fact]
    public void DensityLn_EqualsScoringWithTheContextOnEveryRow_BitForBit()
    {
        TransformedDistribution<double> flow = ConditionalFlow();
        double[,] thetas = TestData.StandardNormal(Rows, 3, seed: 4);

        double[] expected = flow.DensityLn(thetas, Repeated(Observation, Rows));

        AssertClose.Bitwise(expected, flow.Given(Observation).DensityLn(thetas));
    }

    [Fact]
    public void SpanMembers_EqualTheArrayMembers_BitForBit()
    {
        ConditionedDistribution<double> posterior = ConditionalFlow().Given(Observation);
        double[,] thetas = TestData.StandardNormal(Rows, 3, seed: 5);
        var densities = new double[Rows];
        var samples = new double[Rows * 3];

        posterior.DensityLn(TestData.Flatten(thetas), densities);
        posterior.Sample(samples, new Random(6));

        AssertClose.Bitwise(posterior.DensityLn(thetas), densities);
        AssertClose.Bitwise(TestData.Flatten(posterior.Sample(Rows, new Random(6))), samples);
    }

    [Fact]
    public void Density_IsTheExponentialOfDensityLn()
    {
        ConditionedDistribution<double> posterior = ConditionalFlow().Given(Observation);
        double[,] thetas = TestData.StandardNormal(50, 3, seed: 7);

        double[] logDensity = posterior.DensityLn(thetas);

        AssertClose.All(logDensity.Select(Math.Exp).ToArray(), posterior.Density(thetas), 1e-15);
    }

    // A one-feature MAF whose only non-zero weights are MADE's direct context weights: x | c ~ N(μ, e^{2s}) with
    // μ = 0.5c₀ − 0.25c₁ and s = 5·tanh((0.2c₀ + 0.1c₁)/5), the affine transform's soft-clamped log-scale.
    [Fact]
    public void DensityLn_OfAFlowWithAKnownConditional_IsTheNormalLogDensity()
    {
        var maf = new MaskedAutoregressive<double>(1, [4], contextDimension: 2, seed: 1);
        foreach (Parameter<double> p in maf.Parameters)
        {
            Array.Clear(p.Values);
        }

        Parameter<double> direct = maf.Parameters.Single(p => p.Name == "made.contextToOutput.weight");
        double[] weights = [0.5, -0.25, 0.2, 0.1]; // row 0: the shift's weights; row 1: the raw log-scale's
        weights.CopyTo(direct.Values, 0);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(1), maf);
        double[] c = [1.2, -0.4];
        double mean = (0.5 * c[0]) - (0.25 * c[1]);
        double logScale = 5 * Math.Tanh(((0.2 * c[0]) + (0.1 * c[1])) / 5);
        double[,] x = TestData.StandardNormal(20, 1, seed: 8);

        double[] logDensity = flow.Given(c).DensityLn(x);

        for (int i = 0; i < 20; i++)
        {
            double u = (x[i, 0] - mean) / Math.Exp(logScale);
            Assert.Equal((-0.5 * u * u) - logScale - (0.5 * Math.Log(2 * Math.PI)), logDensity[i], 1e-12);
        }
    }

    [Fact]
    public void Given_CopiesTheContext()
    {
        TransformedDistribution<double> flow = ConditionalFlow();
        double[] context = [.. Observation];
        ConditionedDistribution<double> posterior = flow.Given(context);
        double[,] thetas = TestData.StandardNormal(10, 3, seed: 9);
        double[] before = posterior.DensityLn(thetas);

        context[0] = 5;

        AssertClose.Bitwise(before, posterior.DensityLn(thetas));
        Assert.Equal(Observation, posterior.Context.ToArray());
    }

    [Fact]
    public void Given_FollowsTheFlowsParameters()
    {
        TransformedDistribution<double> flow = ConditionalFlow();
        ConditionedDistribution<double> posterior = flow.Given(Observation);
        double[,] thetas = TestData.StandardNormal(10, 3, seed: 10);
        double[] before = posterior.DensityLn(thetas);

        flow.Parameters[^1].Values[0] += 0.5;

        Assert.NotEqual(before, posterior.DensityLn(thetas));
        AssertClose.Bitwise(flow.DensityLn(thetas, Repeated(Observation, 10)), posterior.DensityLn(thetas));
    }

    [Fact]
    public void AsTheBaseOfAnotherFlow_ScoresWithTheFixedContext()
    {
        TransformedDistribution<double> flow = ConditionalFlow();
        var affine = BijectorCases.Randomized(new Affine<double>(3), seed: 11);
        var outer = new TransformedDistribution<double>(flow.Given(Observation), affine);
        double[,] x = TestData.StandardNormal(30, 3, seed: 12);

        (double[,] z, double[] logDet) = affine.Inverse(x);
        double[] inner = flow.DensityLn(z, Repeated(Observation, 30));

        Assert.Equal(0, outer.ContextDimension);
        AssertClose.All(inner.Zip(logDet, (a, b) => a + b).ToArray(), outer.DensityLn(x), 1e-13);
    }

    [Fact]
    public void Given_ThrowsForAnUnconditionalFlow()
    {
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(2, transforms: 1, hiddenFeatures: [4]);

        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => flow.Given([1.0]));
        Assert.Contains("ContextDimension 0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_ThrowsForAContextOfTheWrongLength()
    {
        ArgumentException e = Assert.Throws<ArgumentException>("context", () => ConditionalFlow().Given([1.0, 2.0, 3.0]));
        Assert.Contains("context has 3 values but the flow has ContextDimension 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_ThrowsForANonFiniteContext()
    {
        ArgumentException e = Assert.Throws<ArgumentException>("context", () => ConditionalFlow().Given([1.0, double.NaN]));
        Assert.Contains("NaN", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Members_ThrowForASecondContext()
    {
        ConditionedDistribution<double> posterior = ConditionalFlow().Given(Observation);
        var tape = new Tape<double>(isRecording: false);

        Assert.Throws<ArgumentException>("context", () => posterior.DensityLn(new double[3], new double[1], new double[2]));
        Assert.Throws<ArgumentException>("context", () => posterior.Sample(new double[3], new Random(1), new double[2]));
        Assert.Throws<ArgumentException>("context", () => posterior.DensityLn(tape, tape.Constant(new double[3], 1, 3), tape.Constant(new double[2], 1, 2)));
        Assert.Throws<ArgumentException>("context", () => posterior.SampleWithDensityLn(tape, 1, new Random(1), tape.Constant(new double[2], 1, 2)));
    }

    // The row is named in the whole batch, not in the chunk being evaluated.
    [Fact]
    public void DensityLn_NamesTheRowOfANonFiniteValueInTheWholeBatch()
    {
        ConditionedDistribution<double> posterior = ConditionalFlow().Given(Observation);
        double[,] thetas = TestData.StandardNormal(Rows, 3, seed: 13);
        thetas[700, 1] = double.PositiveInfinity;

        ArgumentException e = Assert.Throws<ArgumentException>("x", () => posterior.DensityLn(thetas));
        Assert.Contains("x[700, 1]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DensityLn_ThrowsForTheWrongNumberOfColumns()
        => Assert.Throws<ArgumentException>("x", () => ConditionalFlow().Given(Observation).DensityLn(new double[4, 2]));

    [Fact]
    public void ToString_NamesTheFlowAndTheContext()
        => Assert.EndsWith(", context: [0.8, -1.1])", ConditionalFlow().Given(Observation).ToString(), StringComparison.Ordinal);

    // A conditional MAF and spline layer with every parameter, MADE's direct context weights included, non-zero.
    internal static TransformedDistribution<double> ConditionalFlow()
    {
        var flow = new TransformedDistribution<double>(
            new StandardNormal<double>(3),
            new Chain<double>(
                new MaskedAutoregressive<double>(3, [8, 8], [1, 2, 0], contextDimension: 2, seed: 1),
                new MaskedAutoregressive<double>(3, [6], contextDimension: 2, transform: new RationalQuadraticTransform<double>(binCount: 4), seed: 2)));
        BijectorCases.Randomized(flow.Bijector, seed: 3, scale: 0.3);
        return flow;
    }

    private static double[,] Repeated(double[] row, int rows)
    {
        var result = new double[rows, row.Length];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < row.Length; j++)
            {
                result[i, j] = row[j];
            }
        }

        return result;
    }
}
