using Flows.Bijectors;
using Flows.Distributions;
using Flows.Persistence;
using Flows.Tests.Testing;
using MathNet.Numerics.LinearAlgebra;

namespace Flows.Tests.Bijectors;

public sealed class LULinearTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("LULinear(d=1)", s => BijectorCases.Randomized(new LULinear<double>(1), s), OutputRange.Real, 1e3),
        new("LULinear(d=4)", s => BijectorCases.Randomized(new LULinear<double>(4, s), s), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("LULinear", () => new LULinear<T>(4, 6)),
    ];

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void Constructor_ThrowsForNonPositiveDimension(int value)
        => Assert.Throws<ArgumentOutOfRangeException>("dimension", () => new LULinear<double>(value));

    [Fact]
    public void Constructor_ThrowsForANonPermutation()
        => Assert.Throws<ArgumentException>("permutation", () => new LULinear<double>([0, 0, 2]));

    [Fact]
    public void ZeroParameters_GiveThePermutation_WithZeroLogDet()
    {
        var bijector = new LULinear<double>([2, 0, 1]);
        double[,] z = TestData.StandardNormal(8, 3, seed: 1);

        (double[,] x, double[] logDet) = bijector.Forward(z);

        for (int i = 0; i < 8; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                Assert.Equal(z[i, bijector.Permutation[j]], x[i, j], 1e-15);
            }

            Assert.Equal(0.0, logDet[i], 1e-15);
        }
    }

    [Fact]
    public void ZeroRawDiagonal_GivesUnitDiagonal_AndTheFloorIsEpsilon()
    {
        var bijector = new LULinear<double>(3);
        bijector.LowerUpper.Values[4] = -800; // (1, 1)

        double[,] u = bijector.GetUpper();

        Assert.Equal(1.0, u[0, 0], 1e-15);
        Assert.Equal(1e-3, u[1, 1], 1e-18);
        Assert.Equal(1.0, u[2, 2], 1e-15);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Forward_EqualsTheDenseProductPLU(int seed)
    {
        LULinear<double> bijector = Random(6, seed, scale: 1.0);
        Matrix<double> w = Dense(bijector);
        double[] b = bijector.Shift.Values;
        double[,] z = TestData.StandardNormal(20, 6, seed: 10 + seed);

        double[,] x = bijector.Forward(z).Output;

        for (int i = 0; i < 20; i++)
        {
            Vector<double> expected = (w * Vector<double>.Build.DenseOfArray(TestData.Row(z, i))) + Vector<double>.Build.DenseOfArray(b);
            AssertClose.All(expected.ToArray(), TestData.Row(x, i), 1e-13, $"row {i}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void LogDet_EqualsTheLogDeterminantOfTheDenseMatrix(int seed)
    {
        LULinear<double> bijector = Random(7, seed, scale: 1.0);
        Matrix<double> w = Dense(bijector);
        Matrix<double> factor = w.LU().U; // slogdet from MathNet's own pivoted LU
        double expected = Enumerable.Range(0, 7).Sum(i => Math.Log(Math.Abs(factor[i, i])));

        double[] logDet = bijector.Forward(new double[1, 7]).LogDet;

        Assert.True(Math.Abs(logDet[0] - expected) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"{logDet[0]:R} vs {expected:R}");
    }

    [Fact]
    public void Inverse_RoundTripsWithin1e10_ForConditionNumbersUpTo1e6()
    {
        int tested = 0;
        for (int seed = 0; seed < 40; seed++)
        {
            LULinear<double> bijector = Random(6, seed, scale: 2.5);
            double condition = Dense(bijector).ConditionNumber();
            if (condition > 1e6)
            {
                continue;
            }

            tested += condition > 1e3 ? 1 : 0;
            double[,] z = TestData.StandardNormal(50, 6, seed: 100 + seed, scale: 10);
            double[,] zAgain = bijector.Inverse(bijector.Forward(z).Output).Output;

            // Normwise per row: rounding x = W z already perturbs z by ~cond(W)·ε·‖z‖, so no solver does better.
            for (int i = 0; i < 50; i++)
            {
                double error = 0;
                double size = 0;
                for (int j = 0; j < 6; j++)
                {
                    error = Math.Max(error, Math.Abs(zAgain[i, j] - z[i, j]));
                    size = Math.Max(size, Math.Abs(z[i, j]));
                }

                Assert.True(error <= 1e-10 * size, $"seed {seed}, cond(W) = {condition:G3}, row {i}: ‖Δz‖∞ = {error:G3}, ‖z‖∞ = {size:G3}");
            }
        }

        Assert.True(tested >= 5, $"precondition: only {tested} ill-conditioned (cond > 1e3) draws were tested");
    }

    [Fact]
    public void ParameterChange_ChangesTheOutputs()
    {
        LULinear<double> bijector = Random(3, seed: 4, scale: 0.5);
        double[,] z = TestData.StandardNormal(4, 3, seed: 5);
        double[,] before = bijector.Forward(z).Output;

        bijector.LowerUpper.Values[3] += 0.25; // L(1, 0)

        Assert.NotEqual(TestData.Flatten(before), TestData.Flatten(bijector.Forward(z).Output));
    }

    [Fact]
    public void SaveLoad_KeepsThePermutation_AndGivesBitIdenticalDensitiesAndSamples()
    {
        LULinear<double> bijector = Random(4, seed: 8, scale: 0.5, permutationSeed: 3);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(4), bijector);
        using var stream = new MemoryStream();
        flow.Save(stream);
        stream.Position = 0;

        TransformedDistribution<double> loaded = FlowSerializer.Load<double>(stream);

        Assert.Equal(bijector.Permutation, ((LULinear<double>)loaded.Bijector).Permutation);
        double[,] x = TestData.StandardNormal(16, 4, seed: 9);
        AssertClose.Bitwise(flow.DensityLn(x), loaded.DensityLn(x));
        AssertClose.Bitwise(flow.Sample(16, new Random(2)), loaded.Sample(16, new Random(2)));
    }

    [Fact]
    public void ToString_IsConstructorLike()
        => Assert.Equal("LULinear(permutation: [1, 0])", new LULinear<double>([1, 0]).ToString());

    private static LULinear<double> Random(int d, int seed, double scale, int permutationSeed = 99)
        => BijectorCases.Randomized(new LULinear<double>(d, permutationSeed + seed), seed, scale);

    // W = P L U from the public factors, built with MathNet: an oracle that shares no code with the triangular path.
    private static Matrix<double> Dense(LULinear<double> bijector)
    {
        int d = bijector.Dimension;
        Matrix<double> p = Matrix<double>.Build.Dense(d, d);
        for (int i = 0; i < d; i++)
        {
            p[i, bijector.Permutation[i]] = 1;
        }

        return p * Matrix<double>.Build.DenseOfArray(bijector.GetLower()) * Matrix<double>.Build.DenseOfArray(bijector.GetUpper());
    }
}
