using Flows.Bijectors;
using Flows.Neural;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

/// <summary>
/// The deep sigmoidal transform of neural autoregressive flows: its value against the formula written out naively, its
/// log-derivative against the value's finite differences; the solver and tails are checked with the other monotone
/// transforms in <see cref="PolynomialTests"/>.
/// </summary>
public sealed class NafTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("MaskedAutoregressive(naf)(d=2)",
            s => BijectorCases.Randomized(new MaskedAutoregressive<double>(2, [6], transform: new DeepSigmoidalTransform<double>(4, tailBound: 3), seed: s), s, 0.3),
            OutputRange.Real, 10, 10),
        new("FixedContext(MaskedAutoregressive(naf, context 2))(d=3)",
            s => BijectorCases.Randomized(new FixedContext(new MaskedAutoregressive<double>(3, [8], Orders.Random(3, s), contextDimension: 2,
                transform: new DeepSigmoidalTransform<double>(3, tailBound: 4), seed: s), [0.7, -1.3]), s, 0.3),
            OutputRange.Real, 10, 10),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("MaskedAutoregressive(naf)", () => new MaskedAutoregressive<T>(2, [6], transform: new DeepSigmoidalTransform<T>(3, 4, 2e-3), seed: 12)),
    ];

    [Theory]
    [InlineData(0.4)]
    [InlineData(-2.1)]
    [InlineData(3.0)]
    public void Inverse_EqualsTheNaiveFormula_AndItsLogDerivativeTheValuesSlope(double x)
    {
        const int h = 4;
        const double m = 0.01;
        var transform = new DeepSigmoidalTransform<double>(h, tailBound: 3, minimumSlope: m);
        double[] theta = TestData.StandardNormal(transform.ParametersPerFeature, seed: 31, scale: 0.8);

        double Naive(double t)
        {
            double normalizer = Enumerable.Range(0, h).Sum(j => Math.Exp(theta[(2 * h) + j]));
            double s = 0;
            for (int j = 0; j < h; j++)
            {
                double a = Math.Log(1 + Math.Exp(theta[j])) / Math.Log(2);
                double offset = 3 * ((2.0 * j / (h - 1)) - 1);
                s += Math.Exp(theta[(2 * h) + j]) / normalizer / (1 + Math.Exp(-((a * t) + theta[h + j] + offset)));
            }

            return (m * t) + ((1 - m) * Math.Log(s / (1 - s)));
        }

        (double value, double logDerivative) = PolynomialTests.RunOne(transform, x, theta, forward: false);
        Assert.Equal(Naive(x), value, 1e-13);
        double slope = (Naive(x + 1e-5) - Naive(x - 1e-5)) / 2e-5;
        Assert.Equal(Math.Log(slope), logDerivative, 1e-8);
    }

    // Far in the sigmoids' saturation the log-space evaluation stays finite where σ⁻¹(Σ wσ) computed directly is ±∞.
    [Fact]
    public void Inverse_IsFiniteWhereEverySigmoidSaturates()
    {
        var transform = new DeepSigmoidalTransform<double>(2, tailBound: 50);
        double[] theta = [8, 8, 0, 0, 0, 0]; // slopes ≈ 11.5
        (double value, double logDerivative) = PolynomialTests.RunOne(transform, 49, theta, forward: false);
        Assert.True(double.IsFinite(value) && double.IsFinite(logDerivative), $"f = {value}, log f′ = {logDerivative}");
        Assert.True(value > 400, $"f(49) = {value}: the logit of a saturated mixture grows like a·x");
    }

    [Fact]
    public void Constructor_ThrowsForOutOfRangeSettings()
    {
        Assert.Throws<ArgumentOutOfRangeException>("hiddenCount", () => new DeepSigmoidalTransform<double>(hiddenCount: 0));
        Assert.Throws<ArgumentOutOfRangeException>("minimumSlope", () => new DeepSigmoidalTransform<double>(minimumSlope: -1));
    }
}
