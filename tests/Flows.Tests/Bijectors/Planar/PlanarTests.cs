using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Numerics;
using Flows.Persistence;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Bijectors;

public sealed class PlanarTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("Planar(d=1)", s => BijectorCases.Randomized(new Planar<double>(1), s), OutputRange.Real, 1e3),
        new("Planar(d=2)", s => BijectorCases.Randomized(new Planar<double>(2), s), OutputRange.Real, 1e3),
        new("Planar(d=5)", s => BijectorCases.Randomized(new Planar<double>(5), s), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("Planar", () => new Planar<T>(3, seed: 2)),
    ];

    [Fact]
    public void Constructor_ThrowsForNonPositiveDimension() =>
        Assert.Throws<ArgumentOutOfRangeException>("dimension", () => new Planar<double>(0));

    [Fact]
    public void ToString_IsConstructorLike() => Assert.Equal("Planar(dimension: 3)", new Planar<double>(3).ToString());

    [Fact]
    public void NewLayer_IsTheIdentity_WithNonZeroW()
    {
        var planar = new Planar<double>(4, seed: 3);
        double[,] z = TestData.StandardNormal(rows: 20, columns: 4, seed: 1);

        (double[,] x, double[] logDet) = planar.Forward(z);

        Assert.Contains(planar.W.Values, v => v != 0);
        AssertClose.Bitwise(z, x);
        Assert.All(logDet, v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void Forward_MatchesTheFormulaWithTheReparameterizedU()
    {
        var planar = BijectorCases.Randomized(new Planar<double>(3), seed: 5);
        double[] uHat = planar.GetReparameterizedU();
        double[] w = planar.W.Values;
        double b = planar.Bias.Values[0];
        double[,] z = TestData.StandardNormal(rows: 10, columns: 3, seed: 2);

        (double[,] x, double[] logDet) = planar.Forward(z);

        for (int i = 0; i < 10; i++)
        {
            double t = (w[0] * z[i, 0]) + (w[1] * z[i, 1]) + (w[2] * z[i, 2]) + b;
            double wu = (w[0] * uHat[0]) + (w[1] * uHat[1]) + (w[2] * uHat[2]);
            for (int j = 0; j < 3; j++)
            {
                AssertClose.Relative(z[i, j] + (uHat[j] * Math.Tanh(t)), x[i, j], Tolerance.ClosedForm);
            }

            double sech = 1 / Math.Cosh(t);
            AssertClose.Relative(Math.Log(1 + (wu * sech * sech)), logDet[i], Tolerance.ClosedForm);
        }
    }

    // TESTING.md item 26: wᵀû > −1 for 10⁴ raw draws including w = 0 and raw components ±1e3; no NaN anywhere.
    [Fact]
    public void Reparameterization_KeepsWDotUHatAboveMinusOne_For10000RawDraws()
    {
        var random = new Random(26);
        double[] scales = [1e-3, 1, 20, 1e3];
        int zeroW = 0;
        for (int draw = 0; draw < 10_000; draw++)
        {
            int d = 1 + (draw % 6);
            var planar = new Planar<double>(d);
            for (int j = 0; j < d; j++)
            {
                planar.U.Values[j] = Draw(random, scales);
                planar.W.Values[j] = draw % 10 == 0 ? 0 : Draw(random, scales);
            }

            planar.Bias.Values[0] = Draw(random, scales);
            zeroW += draw % 10 == 0 ? 1 : 0;
            double[] uHat = planar.GetReparameterizedU();
            double wu = 0;
            for (int j = 0; j < d; j++)
            {
                wu += planar.W.Values[j] * uHat[j];
            }

            Assert.True(uHat.All(double.IsFinite), $"draw {draw}: û is not finite");
            Assert.True(wu > -1, $"draw {draw}: wᵀû = {wu:R}");

            double[,] z = TestData.StandardNormal(rows: 2, columns: d, seed: draw, scale: 3);
            (double[,] x, double[] logDet) = planar.Forward(z);
            AssertClose.Finite(x, $"draw {draw} forward");
            AssertClose.Finite(logDet, $"draw {draw} log-det");
            (double[,] zAgain, double[] inverseLogDet) = planar.Inverse(x);
            AssertClose.Finite(zAgain, $"draw {draw} inverse");
            AssertClose.Finite(inverseLogDet, $"draw {draw} inverse log-det");
        }

        Assert.Equal(1000, zeroW);
    }

    [Fact]
    public void ZeroW_GivesATranslationByU()
    {
        var planar = new Planar<double>(2);
        planar.U.Values[0] = 0.7;
        planar.U.Values[1] = -0.3;
        planar.W.Values.AsSpan().Clear();
        planar.Bias.Values[0] = 0.4;
        double[,] z = { { 1, 2 }, { -3, 0.5 } };

        (double[,] x, double[] logDet) = planar.Forward(z);

        Assert.Equal(planar.U.Values, planar.GetReparameterizedU());
        AssertClose.Relative(z[1, 0] + (0.7 * Math.Tanh(0.4)), x[1, 0], Tolerance.ClosedForm);
        Assert.All(logDet, v => Assert.Equal(0.0, v));
        AssertClose.All(z, planar.Inverse(x).Output, Tolerance.RoundTrip);
    }

    [Fact]
    public void Inverse_OfNonFiniteRow_IsNaNOnlyInThatRow()
    {
        var planar = BijectorCases.Randomized(new Planar<double>(2), seed: 4);
        double[,] x = { { 0.5, -1 }, { double.NaN, 1 }, { 2, 3 } };
        double[,] clean = { { 0.5, -1 }, { 2, 3 } };

        (double[,] z, double[] logDet) = planar.Inverse(x);
        (double[,] zClean, _) = planar.Inverse(clean);

        Assert.True(double.IsNaN(z[1, 0]) && double.IsNaN(logDet[1]));
        Assert.Equal(zClean[0, 1], z[0, 1]);
        Assert.Equal(zClean[1, 1], z[2, 1]);
    }

    [Fact]
    public void Inverse_NearTheInvertibilityEdge_RoundTripsAndHasCentralDifferenceGradients()
    {
        // wᵀu = −40 puts wᵀû = m(−40) ≈ −1 + 1e-6·…: the steepest contraction the constraint allows.
        var planar = new Planar<double>(2);
        planar.W.Values[0] = 2;
        planar.W.Values[1] = -1;
        planar.U.Values[0] = -16;
        planar.U.Values[1] = 8;
        planar.Bias.Values[0] = 0.1;
        double[,] z = TestData.StandardNormal(rows: 50, columns: 2, seed: 8, scale: 0.3);

        (double[,] x, double[] logDet) = planar.Forward(z);
        (double[,] zAgain, double[] inverseLogDet) = planar.Inverse(x);

        Assert.Contains(logDet, v => v < -3);
        AssertClose.All(z, zAgain, 1e-7, "condition number up to 1e6");
        for (int i = 0; i < logDet.Length; i++)
        {
            Assert.Equal(-logDet[i], inverseLogDet[i], 1e-9);
        }
    }

    // Issue #12 item 6: `samples/EnergyFunctions --flow planar-sweep` threw from DensityLn on its figure grid after
    // fitting one planar layer to U1. These are that layer's raw parameters and the grid point (row 74 of the batch)
    // where the inverse's Newton iteration cycled between the ends of its bracket.
    [Fact]
    public void Inverse_AtTheEnergyFunctionsGridPointWhereNewtonCycled_ConvergesAndRoundTrips()
    {
        var planar = new Planar<double>(2);
        planar.U.Values[0] = 1.1222377784055366;
        planar.U.Values[1] = 0.06435434363878945;
        planar.W.Values[0] = 4.916086853610922;
        planar.W.Values[1] = 0.4066676664896097;
        planar.Bias.Values[0] = -0.08643513531941739;
        double[,] x = { { -1.02, 3.98 } };

        (double[,] z, double[] logDet) = planar.Inverse(x);
        (double[,] xAgain, double[] forwardLogDet) = planar.Forward(z);

        AssertClose.All(x, xAgain, Tolerance.RoundTrip);
        Assert.Equal(-logDet[0], forwardLogDet[0], 1e-12);
    }

    // Extreme layers: wᵀû from the floor −1 + 1e-6 to 1e5, ‖w‖ from 1e-3 to 30, saturated offsets, and points up to 1e6
    // away, in both element types. The inverse must not throw, and Forward(Inverse(x)) must give x back up to what the
    // rounding of wᵀx costs: a residual ε in the scalar equation moves x by at most |û|·ε.
    [Fact]
    public void Inverse_ForExtremeParameters_AndFarPoints_ConvergesAndRoundTrips_InDouble() => AssertExtremeInversesRoundTrip<double>();

    [Fact]
    public void Inverse_ForExtremeParameters_AndFarPoints_ConvergesAndRoundTrips_InFloat() => AssertExtremeInversesRoundTrip<float>();

    [Fact]
    public void InverseGradients_WithRespectToEveryRawParameter_MatchCentralDifferences_ThroughTheDensity()
    {
        var planar = BijectorCases.Randomized(new Planar<double>(3), seed: 12, scale: 1.5);
        PlanarFamilyChecks.AssertDensityGradientsMatchCentralDifferences(planar, seed: 13);
    }

    [Fact]
    public void FittedDensity_IntegratesToOne_AndScoresHeldOutData()
        => PlanarFamilyChecks.AssertFittedDensityIntegratesToOne(
            new Chain<double>(new Planar<double>(2, seed: 1), new Planar<double>(2, seed: 2), new Planar<double>(2, seed: 3), new Planar<double>(2, seed: 4)));

    [Fact]
    public void SaveLoad_RoundTrip_IsBitwise()
        => PlanarFamilyChecks.AssertSaveLoadIsBitwise(BijectorCases.Randomized(new Chain<double>(new Planar<double>(3), new Planar<double>(3)), seed: 9));

    private static void AssertExtremeInversesRoundTrip<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Raw σ = wᵀu, so that wᵀû = m(σ): −40 hits the floor −1 + 1e-6, −14 is about −1 + 8e-7·…, large σ gives ≈ σ.
        double[] sigmas = [-40, -14, -3, 0, 3, 50, 1e3, 1e5];
        double[] norms = [1e-3, 1, 30];
        double[] biases = [0, 3, -40];
        double[] coordinates = [0, 1, -30, 1e3, -1e6];
        var points = new T[coordinates.Length * coordinates.Length, 2];
        for (int i = 0; i < coordinates.Length; i++)
        {
            for (int j = 0; j < coordinates.Length; j++)
            {
                points[(i * coordinates.Length) + j, 0] = T.CreateTruncating(coordinates[i]);
                points[(i * coordinates.Length) + j, 1] = T.CreateTruncating(coordinates[j]);
            }
        }

        double ulp = double.CreateTruncating(T.One - T.BitDecrement(T.One));
        int layers = 0;
        foreach (double sigma in sigmas)
        {
            foreach (double norm in norms)
            {
                foreach (double perpendicular in (double[])[0, 5])
                {
                    foreach (double bias in biases)
                    {
                        // w at an angle, u = σ w/‖w‖² plus a component perpendicular to w (which the map keeps).
                        double w0 = norm * 0.8;
                        double w1 = norm * -0.6;
                        var planar = new Planar<T>(2);
                        planar.W.Values[0] = T.CreateTruncating(w0);
                        planar.W.Values[1] = T.CreateTruncating(w1);
                        planar.U.Values[0] = T.CreateTruncating((sigma * w0 / (norm * norm)) + (perpendicular * 0.6));
                        planar.U.Values[1] = T.CreateTruncating((sigma * w1 / (norm * norm)) + (perpendicular * 0.8));
                        planar.Bias.Values[0] = T.CreateTruncating(bias);
                        string where = $"{typeof(T).Name} σ {sigma}, ‖w‖ {norm}, u⊥ {perpendicular}, b {bias}";
                        double[] uHat = [.. planar.GetReparameterizedU().Select(double.CreateTruncating)];
                        double a = (uHat[0] * w0) + (uHat[1] * w1);
                        double uHatNorm = Math.Max(Math.Abs(uHat[0]), Math.Abs(uHat[1]));

                        (T[,] z, T[] logDet) = planar.Inverse(points);
                        (T[,] xAgain, _) = planar.Forward(z);

                        for (int r = 0; r < points.GetLength(0); r++)
                        {
                            double x0 = double.CreateTruncating(points[r, 0]);
                            double x1 = double.CreateTruncating(points[r, 1]);
                            Assert.True(T.IsFinite(logDet[r]), $"{where}, x = ({x0}, {x1}): log-det {logDet[r]}");
                            // The scalar equation's residual: its rounding (a few ulp of its terms, |α| ≤ |wᵀx| + |a|)
                            // plus the step tolerance times its slope ψ ≤ 1 + |a|. Dividing by min(‖w‖, 1) converts a
                            // residual in wᵀx back to x when w is short.
                            double scale = (2 * (Math.Abs((w0 * x0) + (w1 * x1)) + Math.Abs(a))) + 1;
                            double tolerance = double.CreateTruncating(TanhRootSolver.DefaultTolerance<T>());
                            double residual = (64 * ulp * scale) + ((1 + Math.Abs(a)) * 2 * tolerance * scale);
                            double allowed = ((1 + Math.Abs(x0) + Math.Abs(x1)) * 64 * ulp) + (uHatNorm * residual / Math.Min(norm, 1));
                            for (int k = 0; k < 2; k++)
                            {
                                double error = Math.Abs(double.CreateTruncating(xAgain[r, k]) - double.CreateTruncating(points[r, k]));
                                Assert.True(error <= allowed, $"{where}, x = ({x0}, {x1}): Forward(Inverse(x)) is off by {error:R} in column {k} (allowed {allowed:R})");
                            }
                        }

                        layers++;
                    }
                }
            }
        }

        Assert.Equal(144, layers);
    }

    private static double Draw(Random random, double[] scales)
    {
        int pick = random.Next(scales.Length + 2);
        return pick switch
        {
            _ when pick < scales.Length => scales[pick] * TestData.NextNormal(random),
            _ when pick == scales.Length => 1e3,
            _ => -1e3,
        };
    }
}

/// <summary>Checks shared by the planar, radial and Sylvester test classes.</summary>
internal static class PlanarFamilyChecks
{
    /// <summary>∂ mean log p / ∂θ from the tape against central differences, for every raw parameter.</summary>
    public static void AssertDensityGradientsMatchCentralDifferences(IBijector<double> bijector, int seed)
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(bijector.Dimension), bijector);
        double[,] x = TestData.StandardNormal(rows: 16, columns: bijector.Dimension, seed: seed, scale: 2);
        var tape = new Tape<double>();
        Node<double> loss = tape.Mean(flow.DensityLn(tape, tape.Constant(TestData.Flatten(x), x.GetLength(0), x.GetLength(1))));
        foreach (Parameter<double> parameter in bijector.Parameters)
        {
            parameter.ZeroGradients();
        }

        tape.Backward(loss);
        foreach (Parameter<double> parameter in bijector.Parameters)
        {
            double[] expected = FiniteDifference.Gradient(() => flow.DensityLn(x).Average(), parameter.Values, Tolerance.FiniteDifferenceGradientStep);
            AssertClose.All(expected, parameter.Gradients, Tolerance.Gradient, $"{bijector}, ∂ mean log p / ∂{parameter.Name}");
        }
    }

    /// <summary>
    /// Fits a 2-D flow briefly on two Gaussian blobs, then checks that the fit improved the held-out log-likelihood, that
    /// held-out scores are finite, and that exp(log p) sums to 1 within 1e-3 over a grid on [−9, 9]² (midpoint rule,
    /// spacing 0.03: for smooth, fast-decaying densities its error is far below the tolerance).
    /// </summary>
    public static void AssertFittedDensityIntegratesToOne(IBijector<double> bijector)
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), bijector);
        double[,] train = TwoBlobs(1200, seed: 31);
        double[,] heldOut = TwoBlobs(400, seed: 32);
        double before = flow.DensityLn(heldOut).Average();

        flow.Fit(train, new FitOptions { Epochs = 40, BatchSize = 100, Seed = 3, Patience = 40, Optimizer = new AdamOptions { LearningRate = 2e-2 } });

        double[] scores = flow.DensityLn(heldOut);
        AssertClose.Finite(scores, $"{bijector} held-out scores");
        Assert.True(scores.Average() > before + 0.05, $"{bijector}: held-out mean log-likelihood {scores.Average():F4} after fitting, {before:F4} before");

        const double half = 9;
        const double step = 0.03;
        int count = (int)Math.Round(2 * half / step);
        var grid = new double[count * count, 2];
        for (int i = 0; i < count; i++)
        {
            for (int j = 0; j < count; j++)
            {
                grid[(i * count) + j, 0] = -half + ((i + 0.5) * step);
                grid[(i * count) + j, 1] = -half + ((j + 0.5) * step);
            }
        }

        double mass = flow.DensityLn(grid).Sum(Math.Exp) * step * step;
        Assert.True(Math.Abs(mass - 1) <= 1e-3, $"{bijector}: ∫p = {mass:R}");
    }

    /// <summary>Save → load gives bitwise-identical densities and seeded samples.</summary>
    public static void AssertSaveLoadIsBitwise(IBijector<double> bijector)
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(bijector.Dimension), bijector);
        using var stream = new MemoryStream();
        flow.Save(stream);
        stream.Position = 0;
        TransformedDistribution<double> loaded = FlowSerializer.Load<double>(stream);
        double[,] x = TestData.StandardNormal(rows: 50, columns: bijector.Dimension, seed: 77, scale: 2);

        Assert.Equal(flow.ToString(), loaded.ToString());
        AssertClose.Bitwise(flow.DensityLn(x), loaded.DensityLn(x), $"{bijector} densities");
        AssertClose.Bitwise(flow.Sample(40, new Random(5)), loaded.Sample(40, new Random(5)), $"{bijector} samples");
    }

    // Two Gaussian blobs at (±1.5, 0.5) with standard deviations 0.5 and 0.7, shifted so the flow has work to do.
    private static double[,] TwoBlobs(int rows, int seed)
    {
        var random = new Random(seed);
        var data = new double[rows, 2];
        for (int i = 0; i < rows; i++)
        {
            bool left = i % 2 == 0;
            data[i, 0] = (left ? -1.5 : 1.5) + ((left ? 0.5 : 0.7) * TestData.NextNormal(random));
            data[i, 1] = 0.5 + ((left ? 0.5 : 0.7) * TestData.NextNormal(random));
        }

        return data;
    }
}
