using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Persistence;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Distributions;

/// <summary>A flow whose base is another flow: the same distribution as one flat chain of all the bijectors.</summary>
public sealed class NestedFlowTests
{
    // The inner flow, Chain(MAF, SinhArcsinh) on a trainable diagonal normal; the outer bijector, Chain(LowerTriangularAffine,
    // AffineCoupling); the flat flow, the four bijectors (the same instances) in one chain on the same base.
    private sealed record Case(
        TransformedDistribution<double> Inner, IBijector<double> Outer, TransformedDistribution<double> Nested, TransformedDistribution<double> Flat);

    private static Case Build(int seed)
    {
        var normal = new DiagonalNormal<double>(3);
        TestData.StandardNormal(3, seed, scale: 0.3).CopyTo(normal.Mean.Values, 0);
        TestData.StandardNormal(3, seed + 1, scale: 0.3).CopyTo(normal.LogStandardDeviation.Values, 0);
        IBijector<double> maf = BijectorCases.Randomized(new MaskedAutoregressive<double>(3, [8, 8], seed: seed), seed, 0.3);
        IBijector<double> sinhArcsinh = BijectorCases.Randomized(new SinhArcsinh<double>(3), seed + 2);
        IBijector<double> triangular = BijectorCases.Randomized(new LowerTriangularAffine<double>(3), seed + 3);
        IBijector<double> coupling = BijectorCases.Randomized(
            new AffineCoupling<double>(Coupling<double>.AlternatingMask(3, 0), [8], seed: seed), seed + 4, 0.3);
        var inner = new TransformedDistribution<double>(normal, new Chain<double>(maf, sinhArcsinh));
        var outer = new Chain<double>(triangular, coupling);
        return new Case(
            inner,
            outer,
            new TransformedDistribution<double>(inner, outer),
            new TransformedDistribution<double>(normal, new Chain<double>(maf, sinhArcsinh, triangular, coupling)));
    }

    [Fact]
    public void DensityLn_IsTheOuterLogDetPlusTheInnerFlowsDensity()
    {
        Case c = Build(seed: 1);
        double[,] x = TestData.StandardNormal(64, 3, seed: 2, scale: 1.5);

        double[] logDensity = c.Nested.DensityLn(x);

        (double[,] z, double[] outerLogDet) = c.Outer.Inverse(x);
        double[] innerLogDensity = c.Inner.DensityLn(z);
        for (int i = 0; i < logDensity.Length; i++)
        {
            AssertClose.Relative(innerLogDensity[i] + outerLogDet[i], logDensity[i], Tolerance.DensityIdentity, $"row {i}");
        }
    }

    [Fact]
    public void DensityLn_AgreesWithOneFlatChain()
    {
        Case c = Build(seed: 3);
        double[,] x = TestData.StandardNormal(64, 3, seed: 4, scale: 1.5);

        AssertClose.All(c.Flat.DensityLn(x), c.Nested.DensityLn(x), Tolerance.ChainAdditivity, "nested vs flat log p");
    }

    [Fact]
    public void Sample_AgreesWithOneFlatChain()
    {
        Case c = Build(seed: 5);

        // The same base draws pass through the same bijectors in the same order.
        AssertClose.All(c.Flat.Sample(64, new Random(6)), c.Nested.Sample(64, new Random(6)), Tolerance.ChainAdditivity, "nested vs flat samples");
    }

    [Fact]
    public void SampleWithDensityLn_EqualsDensityLnOfTheSamples()
    {
        Case c = Build(seed: 7);
        var tape = new Tape<double>();

        (Node<double> x, Node<double> logDensity) = c.Nested.SampleWithDensityLn(tape, 64, new Random(8));

        AssertClose.All(Densities(c.Nested, x), logDensity.Values, Tolerance.SampleDensity, "log q of the drawn samples");
    }

    [Fact]
    public void Parameters_HoldTheInnerFlowsAndTheOuterBijectorsParameters()
    {
        Case c = Build(seed: 9);

        Assert.Equal([.. c.Inner.Parameters, .. c.Outer.Parameters], c.Nested.Parameters);
        Assert.Equal(c.Flat.Parameters.Count, c.Nested.Parameters.Count);
    }

    [Fact]
    public void Fit_TrainsTheInnerFlowsParameters_AndTheLossFalls()
    {
        TransformedDistribution<double> inner = MaskedAutoregressiveFlow.Create<double>(2, transforms: 2, hiddenFeatures: [16, 16], seed: 1);
        var nested = new TransformedDistribution<double>(inner, new LowerTriangularAffine<double>(2));
        double[,] data = Banana(rows: 512, seed: 2);
        double[][] before = [.. inner.Parameters.Select(p => p.Values.ToArray())];
        double lossBefore = -nested.DensityLn(data).Average();

        nested.Fit(data, new FitOptions { Epochs = 30, BatchSize = 128, Seed = 3 });

        double lossAfter = -nested.DensityLn(data).Average();
        Assert.True(lossAfter < lossBefore - 0.1, $"The mean NLL went from {lossBefore} to {lossAfter}.");
        Assert.Contains(inner.Parameters.Select((p, k) => (p, k)), pk => !pk.p.Values.AsSpan().SequenceEqual(before[pk.k]));
    }

    [Fact]
    public void Save_RoundTripsANestedFlow()
    {
        Case c = Build(seed: 11);
        double[,] x = TestData.StandardNormal(32, 3, seed: 12);
        using var stream = new MemoryStream();

        c.Nested.Save(stream);
        TransformedDistribution<double> loaded = FlowSerializer.Load<double>(stream.ToArray());

        Assert.IsType<TransformedDistribution<double>>(loaded.BaseDistribution);
        Assert.Equal(c.Nested.ToString(), loaded.ToString());
        AssertClose.Bitwise(c.Nested.DensityLn(x), loaded.DensityLn(x), "log p after a round trip");
    }

    [Fact]
    public void Save_ThrowsNotSupported_ForABaseWithNoSavedForm()
    {
        var flow = new TransformedDistribution<double>(
            new TransformedDistribution<double>(new UniformSquare(), new Affine<double>(2)), new Affine<double>(2));

        NotSupportedException e = Assert.Throws<NotSupportedException>(() => flow.Save(new MemoryStream()));
        Assert.Contains(nameof(UniformSquare), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConditionalInnerFlow_MakesTheNestedFlowConditional()
    {
        TransformedDistribution<double> inner = MaskedAutoregressiveFlow.Create<double>(2, transforms: 2, hiddenFeatures: [8, 8], contextDimension: 3, seed: 4);
        BijectorCases.Randomized(inner.Bijector, 5, 0.3);
        Affine<double> outer = BijectorCases.Randomized(new Affine<double>(2), 6);
        var nested = new TransformedDistribution<double>(inner, outer);
        double[,] x = TestData.StandardNormal(16, 2, seed: 7);
        double[,] context = TestData.StandardNormal(16, 3, seed: 8);

        double[] logDensity = nested.DensityLn(x, context);

        Assert.Equal(3, nested.ContextDimension);
        (double[,] z, double[] outerLogDet) = outer.Inverse(x);
        double[] innerLogDensity = inner.DensityLn(z, context);
        for (int i = 0; i < logDensity.Length; i++)
        {
            AssertClose.Relative(innerLogDensity[i] + outerLogDet[i], logDensity[i], Tolerance.DensityIdentity, $"row {i}");
        }
    }

    [Fact]
    public void Constructor_ThrowsWhenBaseAndBijectorTakeDifferentContexts()
    {
        TransformedDistribution<double> inner = MaskedAutoregressiveFlow.Create<double>(2, transforms: 1, hiddenFeatures: [4], contextDimension: 3);

        Assert.Throws<ArgumentException>("bijector",
            () => new TransformedDistribution<double>(inner, new MaskedAutoregressive<double>(2, [4], contextDimension: 2)));
    }

    private static double[] Densities(TransformedDistribution<double> flow, Node<double> x)
    {
        var result = new double[x.Rows];
        flow.DensityLn(x.Values, result);
        return result;
    }

    // x₂ = x₁²/2 + noise: curved, so a single affine layer cannot fit it.
    private static double[,] Banana(int rows, int seed)
    {
        double[,] data = TestData.StandardNormal(rows, 2, seed);
        for (int i = 0; i < rows; i++)
        {
            data[i, 1] = (0.5 * data[i, 0] * data[i, 0]) + (0.3 * data[i, 1]);
        }

        return data;
    }

    // A distribution of the caller's, with no saved form: uniform on [0, 1]².
    private sealed class UniformSquare : IDistribution<double>
    {
        public int Dimension => 2;

        public int ContextDimension => 0;

        public IReadOnlyList<Parameter<double>> Parameters => [];

        public void DensityLn(ReadOnlySpan<double> x, Span<double> destination, ReadOnlySpan<double> context = default) => destination.Clear();

        public void Sample(Span<double> destination, Random random, ReadOnlySpan<double> context = default)
        {
            for (int i = 0; i < destination.Length; i++)
            {
                destination[i] = random.NextDouble();
            }
        }

        public Node<double> DensityLn(Tape<double> tape, Node<double> x, Node<double>? context = null)
        {
            Node<double> result = tape.Allocate(x.Rows, 1);
            result.Values.Clear();
            return result;
        }

        public (Node<double> X, Node<double> DensityLn) SampleWithDensityLn(Tape<double> tape, int count, Random random, Node<double>? context = null)
        {
            Node<double> x = tape.Allocate(count, 2);
            Sample(x.Values, random);
            return (x, DensityLn(tape, x));
        }
    }
}
