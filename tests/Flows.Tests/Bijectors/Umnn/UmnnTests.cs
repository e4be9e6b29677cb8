using Flows.Bijectors;
using Flows.Neural;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

/// <summary>
/// The unconstrained monotonic transform (UMNN): its Clenshaw–Curtis rule, its integral against a fine Simpson rule, its
/// log-derivative against the value's finite differences; the solver, tails and identity are checked with the other
/// monotone transforms in <see cref="PolynomialTests"/>.
/// </summary>
public sealed class UmnnTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("MaskedAutoregressive(umnn)(d=2)",
            s => BijectorCases.Randomized(new MaskedAutoregressive<double>(2, [6], transform: new UnconstrainedMonotonicTransform<double>(4, tailBound: 3), seed: s), s, 0.3),
            OutputRange.Real, 10, 10),
        new("FixedContext(MaskedAutoregressive(umnn, context 1))(d=3)",
            s => BijectorCases.Randomized(new FixedContext(new MaskedAutoregressive<double>(3, [8], Orders.Random(3, s), contextDimension: 1,
                transform: new UnconstrainedMonotonicTransform<double>(3, 24, tailBound: 3), seed: s), [0.4]), s, 0.3),
            OutputRange.Real, 10, 10),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("MaskedAutoregressive(umnn)", () => new MaskedAutoregressive<T>(2, [6], transform: new UnconstrainedMonotonicTransform<T>(3, 16, 4, 2e-3), seed: 9)),
    ];

    [Theory]
    [InlineData(2)]
    [InlineData(8)]
    [InlineData(32)]
    public void ClenshawCurtis_IntegratesPolynomialsUpToDegreeN_WithPositiveWeights(int n)
    {
        (double[] nodes, double[] weights) = IntegralFunction<double>.ClenshawCurtis(n);
        Assert.All(weights, w => Assert.True(w > 0));
        for (int degree = 0; degree <= n; degree++)
        {
            double sum = 0;
            for (int i = 0; i < nodes.Length; i++)
            {
                sum += weights[i] * Math.Pow(nodes[i], degree);
            }

            double exact = degree % 2 == 1 ? 0 : 2.0 / (degree + 1);
            Assert.True(Math.Abs(sum - exact) <= 1e-14, $"N = {n}, degree {degree}: {sum:R}, exact {exact:R}");
        }
    }

    // The integral against composite Simpson with 20,000 intervals of the integrand written out here; and the
    // log-derivative against central differences of the value.
    [Theory]
    [InlineData(0.9)]
    [InlineData(-2.2)]
    [InlineData(2.7)]
    public void Inverse_EqualsAFineSimpsonIntegral_AndItsLogDerivativeTheValuesSlope(double x)
    {
        const int h = 4;
        var transform = new UnconstrainedMonotonicTransform<double>(h, 32, tailBound: 3, minimumSlope: 0.01);
        double[] theta = TestData.StandardNormal(transform.ParametersPerFeature, seed: 21, scale: 0.5);

        double G(double t)
        {
            double pre = theta[1];
            for (int k = 0; k < h; k++)
            {
                double knot = 3 * ((2.0 * (k + 0.5) / h) - 1);
                double s = Math.Log(1 + Math.Exp(theta[2 + h + k])) / Math.Log(2);
                pre += theta[2 + k] * Math.Tanh((s * (t - knot)) + theta[2 + (2 * h) + k]);
            }

            return 0.01 + (0.99 * Math.Log(1 + Math.Exp(pre)) / Math.Log(2));
        }

        const int intervals = 20_000;
        double step = x / intervals;
        double integral = G(0) + G(x);
        for (int i = 1; i < intervals; i++)
        {
            integral += (i % 2 == 1 ? 4 : 2) * G(i * step);
        }

        (double value, double logDerivative) = PolynomialTests.RunOne(transform, x, theta, forward: false);
        Assert.Equal(theta[0] + (integral * step / 3), value, 1e-9);
        Assert.Equal(Math.Log(G(x)), logDerivative, 1e-13);
        double slope = (PolynomialTests.RunOne(transform, x + 1e-5, theta, false).Value - PolynomialTests.RunOne(transform, x - 1e-5, theta, false).Value) / 2e-5;
        Assert.Equal(Math.Log(slope), logDerivative, 1e-8);
    }

    [Fact]
    public void Constructor_ThrowsForOutOfRangeSettings()
    {
        Assert.Throws<ArgumentOutOfRangeException>("hiddenCount", () => new UnconstrainedMonotonicTransform<double>(hiddenCount: 0));
        Assert.Throws<ArgumentOutOfRangeException>("intervalCount", () => new UnconstrainedMonotonicTransform<double>(intervalCount: 7));
        Assert.Throws<ArgumentOutOfRangeException>("intervalCount", () => new UnconstrainedMonotonicTransform<double>(intervalCount: 0));
        Assert.Throws<ArgumentOutOfRangeException>("tailBound", () => new UnconstrainedMonotonicTransform<double>(tailBound: -1));
    }
}
