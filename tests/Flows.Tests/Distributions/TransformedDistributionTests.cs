using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Tests.Testing;
using MathNet.Numerics.Integration;

namespace Flows.Tests.Distributions;

public sealed class TransformedDistributionTests
{
    private const int Seed = 7;

    public static TheoryData<string> Names => [.. BijectorCases.Names];

    // One-dimensional flows: every bijector type that exists in 1-D, and a 3-layer chain.
    private static readonly Dictionary<string, Func<IBijector<double>>> OneDimensional = new()
    {
        ["Affine"] = () => BijectorCases.Randomized(new Affine<double>(1), Seed),
        ["LowerTriangularAffine"] = () => BijectorCases.Randomized(new LowerTriangularAffine<double>(1), Seed),
        ["SinhArcsinh"] = () => BijectorCases.Randomized(new SinhArcsinh<double>(1), Seed),
        ["Exp"] = () => Elementwise.Exp<double>(1),
        ["Softplus"] = () => Elementwise.Softplus<double>(1),
        ["Sigmoid"] = () => Elementwise.Sigmoid<double>(1),
        ["Tanh"] = () => Elementwise.Tanh<double>(1),
        ["Inverted(SinhArcsinh)"] = () => BijectorCases.Randomized(new Inverted<double>(new SinhArcsinh<double>(1)), Seed),
        ["Chain(Affine, SinhArcsinh, SinhArcsinh)"] = () => BijectorCases.Randomized(
            new Chain<double>(new Affine<double>(1), new SinhArcsinh<double>(1), new SinhArcsinh<double>(1)), Seed),
    };

    private static readonly Dictionary<string, Func<IBijector<double>>> TwoDimensional = new()
    {
        ["LowerTriangularAffine"] = () => BijectorCases.Randomized(new LowerTriangularAffine<double>(2), Seed),
        ["SinhArcsinh"] = () => BijectorCases.Randomized(new SinhArcsinh<double>(2), Seed),
        ["Permutation.Reverse"] = () => Permutation<double>.Reverse(2),
        ["Sigmoid"] = () => Elementwise.Sigmoid<double>(2),
        ["Chain(SinhArcsinh, LowerTriangularAffine)"] = () => BijectorCases.Randomized(
            new Chain<double>(new SinhArcsinh<double>(2), new LowerTriangularAffine<double>(2)), Seed),
        ["Chain(LowerTriangularAffine, SinhArcsinh, Affine)"] = () => BijectorCases.Randomized(
            new Chain<double>(new LowerTriangularAffine<double>(2), new SinhArcsinh<double>(2), new Affine<double>(2)), Seed),
    };

    public static TheoryData<string> OneDimensionalNames => [.. OneDimensional.Keys];

    public static TheoryData<string> TwoDimensionalNames => [.. TwoDimensional.Keys];

    [Theory]
    [MemberData(nameof(Names))]
    public void DensityLn_IsTheBaseDensityOfTheInversePlusTheInverseLogDet(string name)
    {
        BijectorCase c = BijectorCases.Get(name);
        IBijector<double> bijector = c.Create(Seed);
        int d = bijector.Dimension;
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(d), bijector);
        double[,] x = BijectorCases.DataInputs(c, d, rows: 32, seed: 3);

        double[] logDensity = flow.DensityLn(x);

        (double[,] z, double[] inverseLogDet) = bijector.Inverse(x);
        for (int i = 0; i < logDensity.Length; i++)
        {
            double sumOfSquares = TestData.Row(z, i).Sum(v => v * v);
            double expected = (-0.5 * d * Math.Log(2 * Math.PI)) - (0.5 * sumOfSquares) + inverseLogDet[i];
            AssertClose.Relative(expected, logDensity[i], Tolerance.DensityIdentity, $"{name}, row {i}");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void SampleWithDensityLn_EqualsDensityLnOfTheSamples(string name)
    {
        IBijector<double> bijector = BijectorCases.Create(name, Seed);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(bijector.Dimension), bijector);
        var tape = new Tape<double>(isRecording: false);

        (Node<double> x, Node<double> logDensity) = flow.SampleWithDensityLn(tape, 64, new Random(5));

        double[,] samples = new double[x.Rows, x.Columns];
        for (int i = 0; i < x.Rows; i++)
        {
            for (int j = 0; j < x.Columns; j++)
            {
                samples[i, j] = x[i, j];
            }
        }

        AssertClose.All(flow.DensityLn(samples), logDensity.Values, Tolerance.SampleDensity, name);
    }

    [Theory]
    [MemberData(nameof(OneDimensionalNames))]
    public void Density_IntegratesToOne_InOneDimension(string name)
    {
        IBijector<double> bijector = OneDimensional[name]();
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(1), bijector);

        // The image of the base interval [−8, 8], which holds all but 1.2e-15 of the mass (the maps are increasing).
        double[,] ends = bijector.Forward(new double[,] { { -8 }, { 8 } }).Output;
        double integral = GaussKronrodRule.Integrate(
            v => flow.Density(new[,] { { v } })[0], ends[0, 0], ends[1, 0], out _, out _, targetRelativeError: 1e-10, maximumDepth: 20);

        Assert.True(Math.Abs(integral - 1) <= Tolerance.Normalization, $"{name}: ∫p = {integral:R}");
    }

    [Theory]
    [MemberData(nameof(TwoDimensionalNames))]
    public void Density_IntegratesToOne_InTwoDimensions(string name)
    {
        IBijector<double> bijector = TwoDimensional[name]();
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), bijector);
        (double x0, double x1, double y0, double y1) = BoundingBoxOfImage(bijector, 8);

        // Nested adaptive Gauss–Kronrod; the box holds the image of [−8, 8]², all but 2.5e-15 of the mass.
        var point = new double[1, 2];
        double Inner(double u)
        {
            point[0, 0] = u;
            return GaussKronrodRule.Integrate(
                v =>
                {
                    point[0, 1] = v;
                    return flow.Density(point)[0];
                },
                y0, y1, out _, out _, targetRelativeError: 1e-10, maximumDepth: 30);
        }

        double integral = GaussKronrodRule.Integrate(Inner, x0, x1, out _, out _, targetRelativeError: 1e-10, maximumDepth: 30);

        Assert.True(Math.Abs(integral - 1) <= Tolerance.Normalization, $"{name}: ∫p = {integral:R} over [{x0}, {x1}] × [{y0}, {y1}]");
    }

    [Fact]
    public void Sample_IsReproducibleWithASeed()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(3), BijectorCases.Create("Chain(SinhArcsinh, LowerTriangularAffine)(d=3)", Seed));

        AssertClose.Bitwise(flow.Sample(100, new Random(11)), flow.Sample(100, new Random(11)));
    }

    [Fact]
    public void Sample_DiffersAcrossSeeds()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Affine<double>(2));
        Assert.NotEqual(flow.Sample(4, new Random(1))[0, 0], flow.Sample(4, new Random(2))[0, 0]);
    }

    [Fact]
    public void Sample_IsTheForwardMapOfBaseSamplesFromTheSameGenerator()
    {
        IBijector<double> bijector = BijectorCases.Create("Chain(SinhArcsinh, LowerTriangularAffine)(d=3)", Seed);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(3), bijector);
        var baseFlow = new TransformedDistribution<double>(new StandardNormal<double>(3), new Affine<double>(3));

        double[,] z = baseFlow.Sample(50, new Random(12));

        AssertClose.Bitwise(bijector.Forward(z).Output, flow.Sample(50, new Random(12)));
    }

    [Fact]
    public void Density_IsTheExponentialOfDensityLn()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), BijectorCases.Randomized(new SinhArcsinh<double>(2), Seed));
        double[,] x = TestData.StandardNormal(16, 2, seed: 13);

        double[] density = flow.Density(x);
        double[] logDensity = flow.DensityLn(x);

        AssertClose.All(logDensity.Select(Math.Exp).ToArray(), density, 1e-15, "exp(log p)");
    }

    [Fact]
    public void DensityLn_OfTheStandardNormalAtZero_IsMinusLogTwoPi()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Affine<double>(2));
        Assert.Equal(-Math.Log(2 * Math.PI), flow.DensityLn(new double[,] { { 0, 0 } })[0], 1e-15);
    }

    [Theory]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "Infinity")]
    [InlineData(double.NegativeInfinity, "-Infinity")]
    public void DensityLn_RejectsNonFiniteValues_NamingTheElement(double value, string shown)
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Affine<double>(2));
        double[,] x = TestData.StandardNormal(5, 2, seed: 14);
        x[3, 1] = value;

        var exception = Assert.Throws<ArgumentException>("x", () => flow.DensityLn(x));

        Assert.Contains("x[3, 1]", exception.Message, StringComparison.Ordinal);
        Assert.Contains(shown, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DensityLn_OfAnEmptyBatch_IsEmpty()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(3), BijectorCases.Create("Chain(SinhArcsinh, LowerTriangularAffine)(d=3)", Seed));
        Assert.Empty(flow.DensityLn(new double[0, 3]));
        Assert.Empty(flow.Density(new double[0, 3]));
    }

    [Fact]
    public void Sample_OfZeroRows_IsEmpty()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(3), new Affine<double>(3));
        double[,] samples = flow.Sample(0, new Random(1));
        Assert.Equal((0, 3), (samples.GetLength(0), samples.GetLength(1)));
    }

    [Fact]
    public void DensityLn_ThrowsForTheWrongWidth_NamingTheShapes()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Affine<double>(2));

        var exception = Assert.Throws<ArgumentException>("x", () => flow.DensityLn(new double[4, 3]));

        Assert.Contains("3 columns", exception.Message, StringComparison.Ordinal);
        Assert.Contains("expects 2", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DensityLn_OfASpan_ThrowsWhenTheLengthIsNotWholeRows()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(3), new Affine<double>(3));
        var exception = Assert.Throws<ArgumentException>("x", () => flow.DensityLn(new double[10], new double[3]));
        Assert.Contains("10 values", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DensityLn_OfASpan_ThrowsWhenTheDestinationHasTheWrongLength()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Affine<double>(2));
        Assert.Throws<ArgumentException>("destination", () => flow.DensityLn(new double[6], new double[2]));
    }

    [Fact]
    public void DensityLn_OfLargeBatches_AgreesWithRowByRow()
    {
        // More rows than the 4096-row evaluation chunk, so the chunk boundary is crossed.
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), BijectorCases.Randomized(new SinhArcsinh<double>(2), Seed));
        double[,] x = TestData.StandardNormal(5000, 2, seed: 15);

        double[] batched = flow.DensityLn(x);

        foreach (int i in new[] { 0, 4095, 4096, 4999 })
        {
            Assert.Equal(flow.DensityLn(TestData.Rows(x, i, 1))[0], batched[i]);
        }
    }

    [Fact]
    public void Constructor_RejectsMismatchedDimensions()
        => Assert.Throws<ArgumentException>("bijector", () => new TransformedDistribution<double>(new StandardNormal<double>(2), new Affine<double>(3)));

    [Fact]
    public void Parameters_HoldTheBaseAndBijectorParameters()
    {
        var baseDistribution = new DiagonalNormal<double>(2);
        var bijector = new Affine<double>(2);
        var flow = new TransformedDistribution<double>(baseDistribution, bijector);
        Assert.Equal(baseDistribution.Parameters.Concat(bijector.Parameters), flow.Parameters);
    }

    // Issue 12, fault 5: a flow whose parameters hold NaN (left by a diverged custom loop, say) gave NaN densities
    // without a word; Save already refused it. Checked once per call.
    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void DensityLn_OfAFlowWithANonFiniteParameter_ThrowsNamingTheParameter(double value)
    {
        var affine = new Affine<double>(2);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Chain<double>(new SinhArcsinh<double>(2), affine));
        affine.LogScale.Values[1] = value;

        var exception = Assert.Throws<InvalidOperationException>(() => flow.DensityLn(TestData.StandardNormal(4, 2, seed: 1)));

        Assert.Contains("'logScale'", exception.Message, StringComparison.Ordinal);
        Assert.Contains("Affine(dimension: 2)", exception.Message, StringComparison.Ordinal);
        Assert.Contains("index 1", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sample_OfAFlowWithANaNParameterInItsBaseFlow_ThrowsNamingTheParameter()
    {
        var inner = new TransformedDistribution<double>(new DiagonalNormal<double>(2), new Affine<double>(2));
        var flow = new TransformedDistribution<double>(inner, new SinhArcsinh<double>(2));
        ((DiagonalNormal<double>)inner.BaseDistribution).Parameters[0].Values[0] = double.NaN;

        var exception = Assert.Throws<InvalidOperationException>(() => flow.Sample(3, new Random(1)));

        Assert.Contains("'mean'", exception.Message, StringComparison.Ordinal);
        Assert.Contains("DiagonalNormal(dimension: 2)", exception.Message, StringComparison.Ordinal);
    }

    private static (double X0, double X1, double Y0, double Y1) BoundingBoxOfImage(IBijector<double> bijector, double half)
    {
        // A continuous bijection maps the square's boundary onto the boundary of its image, so the bounding box of the
        // boundary's image bounds the whole image.
        const int perSide = 2000;
        var boundary = new double[4 * perSide, 2];
        for (int k = 0; k < perSide; k++)
        {
            double t = -half + (2 * half * k / perSide);
            (boundary[k, 0], boundary[k, 1]) = (t, -half);
            (boundary[perSide + k, 0], boundary[perSide + k, 1]) = (half, t);
            (boundary[(2 * perSide) + k, 0], boundary[(2 * perSide) + k, 1]) = (-t, half);
            (boundary[(3 * perSide) + k, 0], boundary[(3 * perSide) + k, 1]) = (-half, -t);
        }

        double[,] image = bijector.Forward(boundary).Output;
        double x0 = double.MaxValue, x1 = double.MinValue, y0 = double.MaxValue, y1 = double.MinValue;
        for (int i = 0; i < image.GetLength(0); i++)
        {
            x0 = Math.Min(x0, image[i, 0]);
            x1 = Math.Max(x1, image[i, 0]);
            y0 = Math.Min(y0, image[i, 1]);
            y1 = Math.Max(y1, image[i, 1]);
        }

        return (x0, x1, y0, y1);
    }
}
