using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Tests.Persistence;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

public sealed class ChainTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("Chain(SinhArcsinh, LowerTriangularAffine)(d=3)",
            s => BijectorCases.Randomized(new Chain<double>(new SinhArcsinh<double>(3), new LowerTriangularAffine<double>(3)), s), OutputRange.Real, 10, 10),
        new("Chain(Affine, SinhArcsinh, LowerTriangularAffine)(d=2)",
            s => BijectorCases.Randomized(new Chain<double>(new Affine<double>(2), new SinhArcsinh<double>(2), new LowerTriangularAffine<double>(2)), s),
            OutputRange.Real, 10, 10),
        new("Chain(LowerTriangularAffine, Permutation.Reverse, SinhArcsinh)(d=5)",
            s => BijectorCases.Randomized(new Chain<double>(new LowerTriangularAffine<double>(5), Permutation<double>.Reverse(5), new SinhArcsinh<double>(5)), s),
            OutputRange.Real, 10, 10),
        new("Chain(SinhArcsinh, Affine, Sigmoid)(d=2)",
            s => BijectorCases.Randomized(new Chain<double>(new SinhArcsinh<double>(2), new Affine<double>(2), Elementwise.Sigmoid<double>(2)), s),
            OutputRange.UnitInterval, 1),
        new("Chain(Planar, Radial, Sylvester.Householder)(d=3)",
            s => BijectorCases.Randomized(new Chain<double>(new Planar<double>(3), new Radial<double>(3), new Sylvester<double>(3, SylvesterVariant.Householder)), s),
            OutputRange.Real, 1e3),
        new("Chain(LULinear, SinhArcsinh)(d=3)",
            s => BijectorCases.Randomized(new Chain<double>(new LULinear<double>(3, s), new SinhArcsinh<double>(3)), s), OutputRange.Real, 10, 10),
        // A conditional chain that mixes conditional parts with unconditional ones, its context bound to one fixed row.
        // Parameters at scale 0.25: since MADE's outputs also take the context directly, 0.3 put the spline of one draw
        // (of 20) at slope 1.4e-7 for the battery row (10, −10, 0), where the round trip loses 2.4e-9 to conditioning.
        new("Chain(MaskedAutoregressive+context, Permutation, LULinear, ActNorm, Softplus, Inverted(Softplus), MaskedAutoregressive(spline)+context)(d=3, c=2)",
            s => BijectorCases.Randomized(new FixedContext(ChainTests.ConditionalMixedChain(s), [0.7, -1.3]), s, 0.25), OutputRange.Real, 10, 10),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("Chain", () => PersistenceCases.Composite<T>(new Random(5)), DiagonalBase: true),
    ];

    private static (Chain<double> Chain, IBijector<double>[] Parts) ThreeLayers()
    {
        IBijector<double>[] parts =
        [
            BijectorCases.Randomized(new SinhArcsinh<double>(3), seed: 1),
            BijectorCases.Randomized(new LowerTriangularAffine<double>(3), seed: 2),
            BijectorCases.Randomized(new Affine<double>(3), seed: 3),
        ];
        return (new Chain<double>(parts), parts);
    }

    [Fact]
    public void Forward_AppliesThePartsInTheOrderGiven()
    {
        (Chain<double> chain, IBijector<double>[] parts) = ThreeLayers();
        double[,] z = TestData.StandardNormal(16, 3, seed: 4);

        double[,] expected = parts[2].Forward(parts[1].Forward(parts[0].Forward(z).Output).Output).Output;

        AssertClose.Bitwise(expected, chain.Forward(z).Output);
    }

    [Fact]
    public void Inverse_AppliesThePartsInReverseOrder()
    {
        (Chain<double> chain, IBijector<double>[] parts) = ThreeLayers();
        double[,] x = TestData.StandardNormal(16, 3, seed: 5);

        double[,] expected = parts[0].Inverse(parts[1].Inverse(parts[2].Inverse(x).Output).Output).Output;

        AssertClose.Bitwise(expected, chain.Inverse(x).Output);
    }

    [Fact]
    public void ForwardLogDet_IsTheSumOfThePartsLogDets()
    {
        (Chain<double> chain, IBijector<double>[] parts) = ThreeLayers();
        double[,] z = TestData.StandardNormal(16, 3, seed: 6);

        (double[,] h1, double[] l1) = parts[0].Forward(z);
        (double[,] h2, double[] l2) = parts[1].Forward(h1);
        double[] l3 = parts[2].Forward(h2).LogDet;
        double[] logDet = chain.Forward(z).LogDet;

        for (int i = 0; i < 16; i++)
        {
            AssertClose.Relative(l1[i] + l2[i] + l3[i], logDet[i], Tolerance.ChainAdditivity, $"row {i}");
        }
    }

    [Fact]
    public void InverseLogDet_IsTheSumOfThePartsLogDets()
    {
        (Chain<double> chain, IBijector<double>[] parts) = ThreeLayers();
        double[,] x = TestData.StandardNormal(16, 3, seed: 7);

        (double[,] h2, double[] l3) = parts[2].Inverse(x);
        (double[,] h1, double[] l2) = parts[1].Inverse(h2);
        double[] l1 = parts[0].Inverse(h1).LogDet;
        double[] logDet = chain.Inverse(x).LogDet;

        for (int i = 0; i < 16; i++)
        {
            AssertClose.Relative(l1[i] + l2[i] + l3[i], logDet[i], Tolerance.ChainAdditivity, $"row {i}");
        }
    }

    [Fact]
    public void Parameters_AreThePartsParametersInOrder()
    {
        (Chain<double> chain, IBijector<double>[] parts) = ThreeLayers();
        Assert.Equal(parts.SelectMany(p => p.Parameters), chain.Parameters);
    }

    [Fact]
    public void Constructor_RejectsAnEmptyList()
        => Assert.Throws<ArgumentException>("parts", () => new Chain<double>(Array.Empty<IBijector<double>>()));

    [Fact]
    public void Constructor_RejectsPartsOfDifferentDimensions()
    {
        var exception = Assert.Throws<ArgumentException>("parts", () => new Chain<double>(new Affine<double>(2), new Affine<double>(3)));
        Assert.Contains("parts[1]", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_RejectsANullPart()
        => Assert.Throws<ArgumentNullException>("parts[1]", () => new Chain<double>(new Affine<double>(2), null!));

    [Fact]
    public void ToString_ListsTheParts()
        => Assert.Equal("Chain(Affine(dimension: 2), Exp(dimension: 2))", new Chain<double>(new Affine<double>(2), Elementwise.Exp<double>(2)).ToString());

    [Fact]
    public void Constructor_ThrowsForConditionalPartsOfDifferentContextDimensions()
    {
        var exception = Assert.Throws<ArgumentException>("parts", () => new Chain<double>(
            new MaskedAutoregressive<double>(2, [4], contextDimension: 1),
            Permutation<double>.Reverse(2),
            new MaskedAutoregressive<double>(2, [4], contextDimension: 3)));
        Assert.Contains("ContextDimension 3", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ContextDimension_IsThatOfTheConditionalParts()
        => Assert.Equal(2, ConditionalMixedChain(seed: 1).ContextDimension);

    [Fact]
    public void Forward_PassesTheContextOnlyToConditionalParts()
    {
        Chain<double> chain = BijectorCases.Randomized(ConditionalMixedChain(seed: 3), seed: 4, scale: 0.3);
        double[,] z = TestData.StandardNormal(32, 3, seed: 5);
        double[,] context = TestData.StandardNormal(32, 2, seed: 6);

        var tape = new Tape<double>(isRecording: false);
        Node<double> c = tape.Constant(TestData.Flatten(context), 32, 2);
        Node<double> expected = tape.Constant(TestData.Flatten(z), 32, 3);
        foreach (IBijector<double> part in chain.Parts)
        {
            expected = part.Forward(tape, expected, part.ContextDimension == 0 ? null : c).Output;
        }

        Node<double> actual = chain.Forward(tape, tape.Constant(TestData.Flatten(z), 32, 3), c).Output;
        AssertClose.Bitwise(expected.Values, actual.Values, "conditional chain");
    }

    [Fact]
    public void Inverse_UndoesForward_WithAContextPerRow()
    {
        Chain<double> chain = BijectorCases.Randomized(ConditionalMixedChain(seed: 3), seed: 4, scale: 0.3);
        double[,] z = TestData.StandardNormal(32, 3, seed: 7);
        double[,] context = TestData.StandardNormal(32, 2, seed: 8);

        var tape = new Tape<double>(isRecording: false);
        Node<double> c = tape.Constant(TestData.Flatten(context), 32, 2);
        (Node<double> x, Node<double> forwardLogDet) = chain.Forward(tape, tape.Constant(TestData.Flatten(z), 32, 3), c);
        (Node<double> zAgain, Node<double> inverseLogDet) = chain.Inverse(tape, x, c);

        AssertClose.All(TestData.Flatten(z), zAgain.Values, Tolerance.RoundTrip, "round trip");
        for (int i = 0; i < 32; i++)
        {
            Assert.Equal(-forwardLogDet.Values[i], inverseLogDet.Values[i], 1e-10);
        }
    }

    /// <summary>Conditional autoregressive layers (context of 2 features) around unconditional layers of several families.</summary>
    public static Chain<double> ConditionalMixedChain(int seed)
        => new(
            new MaskedAutoregressive<double>(3, [8, 8], contextDimension: 2, seed: seed),
            Permutation<double>.Reverse(3),
            new LULinear<double>(3, seed),
            ActNormTests.InitializedOnZeros(3),
            Elementwise.Softplus<double>(3),
            new Inverted<double>(Elementwise.Softplus<double>(3)),
            new MaskedAutoregressive<double>(3, [6], contextDimension: 2, transform: new RationalQuadraticTransform<double>(4, 3), seed: seed + 1));
}
