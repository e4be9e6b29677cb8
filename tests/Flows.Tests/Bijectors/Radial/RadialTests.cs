using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

public sealed class RadialTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("Radial(d=1)", s => BijectorCases.Randomized(new Radial<double>(1), s), OutputRange.Real, 1e3),
        new("Radial(d=3)", s => BijectorCases.Randomized(new Radial<double>(3), s), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("Radial", () => new Radial<T>(3)),
    ];

    [Fact]
    public void Constructor_ThrowsForNonPositiveDimension() =>
        Assert.Throws<ArgumentOutOfRangeException>("dimension", () => new Radial<double>(0));

    [Fact]
    public void ToString_IsConstructorLike() => Assert.Equal("Radial(dimension: 2)", new Radial<double>(2).ToString());

    [Fact]
    public void AllZeroParameters_GiveTheIdentity()
    {
        var radial = new Radial<double>(3);
        double[,] z = TestData.StandardNormal(rows: 20, columns: 3, seed: 1);

        (double[,] x, double[] logDet) = radial.Forward(z);

        Assert.Equal(0.0, radial.GetConstrainedParameters().Beta);
        AssertClose.Bitwise(z, x);
        Assert.All(logDet, v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void Forward_MatchesThePaperFormula()
    {
        var radial = BijectorCases.Randomized(new Radial<double>(3), seed: 5, scale: 1);
        (double alpha, double beta) = radial.GetConstrainedParameters();
        double[] z0 = radial.Center.Values;
        double[,] z = TestData.StandardNormal(rows: 10, columns: 3, seed: 2, scale: 2);

        (double[,] x, double[] logDet) = radial.Forward(z);

        for (int i = 0; i < 10; i++)
        {
            double r = Math.Sqrt(Enumerable.Range(0, 3).Sum(j => (z[i, j] - z0[j]) * (z[i, j] - z0[j])));
            double h = 1 / (alpha + r);
            double hPrime = -h * h;
            for (int j = 0; j < 3; j++)
            {
                AssertClose.Relative(z[i, j] + (beta * h * (z[i, j] - z0[j])), x[i, j], 1e-12);
            }

            AssertClose.Relative((2 * Math.Log(1 + (beta * h))) + Math.Log(1 + (beta * h) + (beta * hPrime * r)), logDet[i], 1e-12);
        }
    }

    // TESTING.md item 27: β > −α for every raw value, including ±1e3 and beyond softplus underflow.
    [Fact]
    public void Constraint_KeepsBetaAboveMinusAlpha_ForExtremeRawValues()
    {
        double[] raws = [-1e4, -1e3, -800, -745, -50, -1, 0, 1, 50, 1e3, 1e4];
        var random = new Random(27);
        var values = raws.Concat(Enumerable.Range(0, 200).Select(_ => 20 * TestData.NextNormal(random))).ToArray();
        foreach (double rawAlpha in values)
        {
            foreach (double rawBeta in values)
            {
                var radial = new Radial<double>(2);
                radial.Alpha.Values[0] = rawAlpha;
                radial.Beta.Values[0] = rawBeta;
                (double alpha, double beta) = radial.GetConstrainedParameters();
                Assert.True(alpha > 0, $"α̂ = {rawAlpha}: α = {alpha}");
                Assert.True(beta > -alpha, $"α̂ = {rawAlpha}, β̂ = {rawBeta}: β = {beta:R}, α = {alpha:R}");
            }
        }
    }

    // Item 27: log-det finite at r = 0 and r = 1e6, and equal to the AD Jacobian's there (item 2).
    [Theory]
    [InlineData(0.0, -30.0)]
    [InlineData(0.0, 0.3)]
    [InlineData(1e6, -30.0)]
    [InlineData(1e6, 2.0)]
    [InlineData(1e-300, -800.0)]
    public void LogDet_IsFiniteAtTheCenterAndFarAway_AndMatchesTheAutodiffJacobian(double radius, double rawBeta)
    {
        var radial = new Radial<double>(3);
        radial.Center.Values[0] = 0.4;
        radial.Center.Values[1] = -0.2;
        radial.Center.Values[2] = 1;
        radial.Alpha.Values[0] = 0.5;
        radial.Beta.Values[0] = rawBeta;
        double[] z = [0.4 + (radius * 0.6), -0.2 - (radius * 0.8), 1];

        (double[,] x, double[] logDet) = radial.Forward(TestData.AsRow(z));
        (double[,] zAgain, double[] inverseLogDet) = radial.Inverse(x);

        Assert.True(double.IsFinite(logDet[0]), $"log-det {logDet[0]}");
        Assert.Equal(-logDet[0], inverseLogDet[0], 1e-12);
        AssertClose.All(TestData.AsRow(z), zAgain, Tolerance.RoundTrip);
        double expected = AutodiffLogDet(radial, z);
        Assert.True(Math.Abs(expected - logDet[0]) <= Tolerance.AutodiffLogDet * Math.Max(1, Math.Abs(logDet[0])),
            $"log-det {logDet[0]:R}, AD Jacobian {expected:R}");
        if (radius == 0 && rawBeta > -5) // α + β from the constrained pair cancels when β ≈ −α
        {
            (double alpha, double beta) = radial.GetConstrainedParameters();
            AssertClose.Relative(3 * Math.Log((alpha + beta) / alpha), logDet[0], 1e-12, "d·log(1 + β/α) at r = 0");
        }
    }

    [Fact]
    public void Inverse_AtTheCenter_ReturnsTheCenter()
    {
        var radial = BijectorCases.Randomized(new Radial<double>(2), seed: 3);
        double[,] x = TestData.AsRow(radial.Center.Values);

        (double[,] z, double[] logDet) = radial.Inverse(x);

        AssertClose.Bitwise(x, z);
        Assert.True(double.IsFinite(logDet[0]));
    }

    [Fact]
    public void InverseGradients_WithRespectToEveryRawParameter_MatchCentralDifferences_ThroughTheDensity()
    {
        var radial = BijectorCases.Randomized(new Radial<double>(3), seed: 12, scale: 1.5);
        PlanarFamilyChecks.AssertDensityGradientsMatchCentralDifferences(radial, seed: 13);
    }

    [Fact]
    public void FittedDensity_IntegratesToOne_AndScoresHeldOutData()
    {
        var chain = new Chain<double>(new Radial<double>(2), new Radial<double>(2), new Radial<double>(2), new Radial<double>(2));
        var random = new Random(4);
        foreach (Parameter<double> parameter in chain.Parameters.Where(p => p.Name.EndsWith("center", StringComparison.Ordinal)))
        {
            // Distinct centers, so that the layers do not start out symmetric.
            parameter.Values[0] = TestData.NextNormal(random);
            parameter.Values[1] = TestData.NextNormal(random);
        }

        PlanarFamilyChecks.AssertFittedDensityIntegratesToOne(chain);
    }

    [Fact]
    public void SaveLoad_RoundTrip_IsBitwise()
        => PlanarFamilyChecks.AssertSaveLoadIsBitwise(BijectorCases.Randomized(new Chain<double>(new Radial<double>(3), new Radial<double>(3)), seed: 9));

    private static double AutodiffLogDet(Radial<double> bijector, double[] point)
    {
        int d = point.Length;
        var input = new Parameter<double>("input", 1, d);
        point.CopyTo(input.Values, 0);
        var jacobian = new double[d, d];
        var tape = new Tape<double>();
        for (int i = 0; i < d; i++)
        {
            tape.Reset();
            input.ZeroGradients();
            (Node<double> output, _) = bijector.Forward(tape, tape.Use(input));
            var mask = new double[d];
            mask[i] = 1;
            tape.Backward(tape.Sum(tape.Multiply(output, tape.Constant(mask, 1, d))));
            for (int j = 0; j < d; j++)
            {
                jacobian[i, j] = input.Gradients[j];
            }
        }

        return FiniteDifference.LogAbsDeterminant(jacobian);
    }
}
