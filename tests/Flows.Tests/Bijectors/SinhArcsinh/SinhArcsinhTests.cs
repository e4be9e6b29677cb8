using Flows.Bijectors;
using Flows.Distributions;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

public sealed class SinhArcsinhTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("SinhArcsinh(d=1)", s => BijectorCases.Randomized(new SinhArcsinh<double>(1), s), OutputRange.Real, 1e3),
        new("SinhArcsinh(d=3)", s => BijectorCases.Randomized(new SinhArcsinh<double>(3), s), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("SinhArcsinh", () => new SinhArcsinh<T>(3)),
    ];

    public static TheoryData<double> Extremes =>
        [.. Enumerable.Range(0, 13).Select(k => Math.Pow(10, k - 2)).SelectMany(v => new[] { v, -v })];

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void Constructor_ThrowsForNonPositiveDimension(int value)
        => Assert.Throws<ArgumentOutOfRangeException>("dimension", () => new SinhArcsinh<double>(value));

    [Fact]
    public void ZeroParameters_GiveTheIdentity()
    {
        var bijector = new SinhArcsinh<double>(3);
        double[,] z = BijectorCases.BaseInputs(BijectorCases.Get("SinhArcsinh(d=3)"), 3, rows: 32, seed: 1);

        (double[,] x, double[] logDet) = bijector.Forward(z);

        AssertClose.All(z, x, Tolerance.ClosedForm, "sinh(asinh(z))");
        Assert.All(logDet, v => Assert.True(Math.Abs(v) <= Tolerance.ClosedForm, $"log-det {v}"));
    }

    [Fact]
    public void DensityLn_OnAStandardNormalBase_EqualsTheJonesPewseyClosedForm()
    {
        SinhArcsinh<double> bijector = BijectorCases.Randomized(new SinhArcsinh<double>(2), seed: 2, scale: 0.7);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), bijector);
        double[,] x = TestData.StandardNormal(64, 2, seed: 3, scale: 3);

        double[] logDensity = flow.DensityLn(x);

        for (int i = 0; i < 64; i++)
        {
            double expected = 0;
            for (int j = 0; j < 2; j++)
            {
                expected += ClosedFormLogDensity(x[i, j], bijector.Skew.Values[j], Math.Exp(bijector.LogTailWeight.Values[j]));
            }

            AssertClose.Relative(expected, logDensity[i], Tolerance.ClosedForm, $"row {i}");
        }
    }

    [Theory]
    [MemberData(nameof(Extremes))]
    public void DensityLn_IsFiniteAndMatchesTheClosedFormAtExtremes(double value)
    {
        SinhArcsinh<double> bijector = BijectorCases.Randomized(new SinhArcsinh<double>(1), seed: 4);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(1), bijector);

        double logDensity = flow.DensityLn(new[,] { { value } })[0];

        double expected = ClosedFormLogDensity(value, bijector.Skew.Values[0], Math.Exp(bijector.LogTailWeight.Values[0]));
        Assert.True(double.IsFinite(logDensity), $"log p({value}) = {logDensity}");
        AssertClose.Relative(expected, logDensity, Tolerance.ClosedForm, $"log p({value})");
    }

    [Theory]
    [MemberData(nameof(Extremes))]
    public void Forward_UndoesInverse_AtExtremes(double value)
    {
        SinhArcsinh<double> bijector = BijectorCases.Randomized(new SinhArcsinh<double>(1), seed: 4);
        double[,] x = { { value } };

        (double[,] z, double[] logDet) = bijector.Inverse(x);
        double[,] xAgain = bijector.Forward(z).Output;

        Assert.True(double.IsFinite(z[0, 0]) && double.IsFinite(logDet[0]), $"z = {z[0, 0]}, log-det {logDet[0]}");
        AssertClose.Relative(value, xAgain[0, 0], Tolerance.RoundTrip, $"x = {value}");
    }

    [Theory]
    [InlineData(double.MaxValue / 10)]
    [InlineData(-double.MaxValue / 10)]
    public void IdentityParameters_AreFiniteAndBijectiveNearTheLargestDouble(double value)
    {
        var bijector = new SinhArcsinh<double>(1);
        double[,] z = { { value } };

        (double[,] x, double[] forwardLogDet) = bijector.Forward(z);
        (double[,] zAgain, double[] inverseLogDet) = bijector.Inverse(x);

        Assert.True(double.IsFinite(forwardLogDet[0]) && double.IsFinite(inverseLogDet[0]), $"log-dets {forwardLogDet[0]}, {inverseLogDet[0]}");
        AssertClose.Relative(value, x[0, 0], Tolerance.RoundTrip, "forward");
        AssertClose.Relative(value, zAgain[0, 0], Tolerance.RoundTrip, "round trip");
    }

    // p(x) = φ(sinh(δ asinh(x) − ε)) · δ cosh(δ asinh(x) − ε) / √(1 + x²), Jones & Pewsey (2009), in logs; the terms
    // that would overflow for large |x| are rewritten: log cosh(v) = |v| + log1p(e^−2|v|) − log 2, and
    // log √(1 + x²) = log|x| + ½ log1p(1/x²) for |x| > 1.
    private static double ClosedFormLogDensity(double x, double skew, double tailWeight)
    {
        double v = (tailWeight * Math.Asinh(x)) - skew;
        double s = Math.Sinh(v);
        double logCosh = Math.Abs(v) + Math.Log(1 + Math.Exp(-2 * Math.Abs(v))) - Math.Log(2);
        double halfLogOnePlusSquare = Math.Abs(x) <= 1 ? 0.5 * Math.Log(1 + (x * x)) : Math.Log(Math.Abs(x)) + (0.5 * Math.Log(1 + (1 / (x * x))));
        return (-0.5 * Math.Log(2 * Math.PI)) - (0.5 * s * s) + Math.Log(tailWeight) + logCosh - halfLogOnePlusSquare;
    }
}
