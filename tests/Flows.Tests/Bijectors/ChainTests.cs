using Flows.Bijectors;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

public sealed class ChainTests
{
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
}
