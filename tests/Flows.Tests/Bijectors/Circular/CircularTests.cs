using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

public sealed class CircularTests : IFamilyCases
{
    private const double MinimumDerivative = 1e-3;

    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("CircularShift(angles=[1, 0, 1])", s => BijectorCases.Randomized(new CircularShift<double>([true, false, true]), s), OutputRange.Circle, Math.PI),
        new("CircularCoupling(d=2, angles)",
            s => BijectorCases.Randomized(new CircularCoupling<double>([true, false], new CircularSplineTransform<double>([true, true], binCount: 5), [8], seed: s), s),
            OutputRange.Circle, Math.PI),
        new("CircularCoupling(d=3, angles=[1, 0, 1], transformed=[0, 1, 1])",
            s => BijectorCases.Randomized(new CircularCoupling<double>([false, true, true], new CircularSplineTransform<double>([true, false, true], binCount: 4), [8], seed: s), s),
            OutputRange.Circle, Math.PI),
        new("CircularCoupling(d=1, K=1, unconditional)",
            s => BijectorCases.Randomized(new CircularCoupling<double>([true], new CircularSplineTransform<double>([true], binCount: 1), [4], seed: s), s),
            OutputRange.Circle, Math.PI),
        new("CircularCoupling(d=2, context=2)",
            s => BijectorCases.Randomized(new FixedContext(new CircularCoupling<double>([false, true], new CircularSplineTransform<double>([true, true], binCount: 3), [8], contextDimension: 2, seed: s), [0.7, -1.3]), s),
            OutputRange.Circle, Math.PI),
        new("Chain(CircularCoupling, CircularShift, CircularCoupling)(d=2)",
            s => BijectorCases.Randomized(new Chain<double>(
                new CircularCoupling<double>([true, false], new CircularSplineTransform<double>([true, true]), [8], seed: s),
                new CircularShift<double>([true, true]),
                new CircularCoupling<double>([false, true], new CircularSplineTransform<double>([true, true]), [8], seed: s + 1)), s, 0.3),
            OutputRange.Circle, Math.PI),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("CircularShift", () => new CircularShift<T>([true, false, true])),
        new("CircularCoupling", () => new CircularCoupling<T>([false, true, true], new CircularSplineTransform<T>([true, false, true], binCount: 3, tailBound: 4), [6], seed: 3)),
    ];

    // The circular spline element by element from the formulas of Durkan et al. (Eq. 4, 5) with the boundary derivative
    // of Rezende et al.: an oracle sharing no code with the kernel (no lanes, no saved state, its own bin search).
    private static (double Y, double LogDerivative) NaiveForward(double x, double[] raw, int k)
    {
        double[] widths = Softmax(raw[..k]);
        double[] heights = Softmax(raw[k..(2 * k)]);
        double c = Math.Log(Math.Exp(1 - MinimumDerivative) - 1);
        double Derivative(double u) => MinimumDerivative + Math.Log(1 + Math.Exp(u + c));
        var knotsX = new double[k + 1];
        var knotsY = new double[k + 1];
        knotsX[0] = knotsY[0] = -Math.PI;
        for (int i = 0; i < k; i++)
        {
            knotsX[i + 1] = knotsX[i] + (2 * Math.PI * (1e-3 + ((1 - (k * 1e-3)) * widths[i])));
            knotsY[i + 1] = knotsY[i] + (2 * Math.PI * (1e-3 + ((1 - (k * 1e-3)) * heights[i])));
        }

        knotsX[k] = knotsY[k] = Math.PI;
        var delta = new double[k + 1];
        delta[0] = delta[k] = Derivative(raw[(3 * k) - 1]);
        for (int i = 1; i < k; i++)
        {
            delta[i] = Derivative(raw[(2 * k) + i - 1]);
        }

        int b = 0;
        while (b + 1 < k && x >= knotsX[b + 1])
        {
            b++;
        }

        double w = knotsX[b + 1] - knotsX[b];
        double h = knotsY[b + 1] - knotsY[b];
        double s = h / w;
        double xi = (x - knotsX[b]) / w;
        double t = xi * (1 - xi);
        double denominator = s + ((delta[b] + delta[b + 1] - (2 * s)) * t);
        double y = knotsY[b] + (h * ((s * xi * xi) + (delta[b] * t)) / denominator);
        double derivative = s * s * ((delta[b + 1] * xi * xi) + (2 * s * t) + (delta[b] * (1 - xi) * (1 - xi))) / (denominator * denominator);
        return (y, Math.Log(derivative));
    }

    private static double[] Softmax(double[] logits)
    {
        double max = logits.Max();
        double[] e = [.. logits.Select(l => Math.Exp(l - max))];
        double sum = e.Sum();
        return [.. e.Select(v => v / sum)];
    }

    // Per-row parameters drawn at scale 1 (bins of very different sizes, derivatives far from 1), block layout p·d + j.
    private static double[] RandomParameters(int rows, int d, int k, int seed)
        => TestData.StandardNormal(rows * 3 * k * d, seed);

    private static double[] Raw(double[] parameters, int row, int j, int d, int k)
        => [.. Enumerable.Range(0, 3 * k).Select(p => parameters[(row * 3 * k * d) + (p * d) + j])];

    private static (double[] Output, double[] LogDet) Run(CircularSplineTransform<double> transform, double[] input, int rows, double[] parameters, bool inverse)
    {
        var tape = new Tape<double>();
        int d = input.Length / rows;
        Node<double> x = tape.Constant(input, rows, d);
        Node<double> p = tape.Constant(parameters, parameters.Length / (transform.ParametersPerFeature * d), transform.ParametersPerFeature * d);
        (Node<double> y, Node<double> logDet) = inverse ? transform.Inverse(tape, x, p) : transform.Forward(tape, x, p);
        return (y.Values.ToArray(), logDet.Values.ToArray());
    }

    private static double[] Angles(int rows, int d, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, rows * d).Select(_ => Math.PI * ((2 * random.NextDouble()) - 1))];
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 5)]
    [InlineData(9, 8)]
    [InlineData(17, 3)]
    public void Forward_EqualsTheNaiveCircularSpline(int d, int k)
    {
        const int Rows = 7;
        var transform = new CircularSplineTransform<double>([.. Enumerable.Repeat(true, d)], binCount: k);
        double[] parameters = RandomParameters(Rows, d, k, seed: d + k);
        double[] x = Angles(Rows, d, seed: 3);
        (double[] y, double[] logDet) = Run(transform, x, Rows, parameters, inverse: false);
        for (int i = 0; i < Rows; i++)
        {
            double sum = 0;
            for (int j = 0; j < d; j++)
            {
                (double expected, double logDerivative) = NaiveForward(x[(i * d) + j], Raw(parameters, i, j, d, k), k);
                Assert.Equal(expected, y[(i * d) + j], 1e-12);
                sum += logDerivative;
            }

            Assert.Equal(sum, logDet[i], 1e-10);
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(9, 8)]
    public void Inverse_UndoesTheNaiveCircularSpline(int d, int k)
    {
        const int Rows = 7;
        var transform = new CircularSplineTransform<double>([.. Enumerable.Repeat(true, d)], binCount: k);
        double[] parameters = RandomParameters(Rows, d, k, seed: 5);
        double[] x = Angles(Rows, d, seed: 8);
        double[] y = new double[x.Length];
        var logDet = new double[Rows];
        for (int i = 0; i < Rows; i++)
        {
            for (int j = 0; j < d; j++)
            {
                (y[(i * d) + j], double logDerivative) = NaiveForward(x[(i * d) + j], Raw(parameters, i, j, d, k), k);
                logDet[i] -= logDerivative;
            }
        }

        (double[] z, double[] inverseLogDet) = Run(transform, y, Rows, parameters, inverse: true);
        AssertClose.All(x, z, 1e-12, "x");
        AssertClose.All(logDet, inverseLogDet, 1e-10, "inverse log-det");
    }

    // What makes it a map of the circle: −π and π stay put, and the slope leaving −π equals the slope arriving at π (the
    // learned boundary derivative), measured by one-sided differences.
    [Theory]
    [InlineData(1)]
    [InlineData(6)]
    public void Forward_FixesTheEnds_WithEqualSlopesAtBoth(int k)
    {
        var transform = new CircularSplineTransform<double>([true], binCount: k);
        double[] parameters = RandomParameters(1, 1, k, seed: 21);
        const double H = 1e-7;
        (double[] y, _) = Run(transform, [-Math.PI, -Math.PI + H, Math.PI - H, Math.PI], 4, parameters, inverse: false);
        Assert.Equal(-Math.PI, y[0]);
        Assert.Equal(Math.PI, y[3]);
        double expected = MinimumDerivative + Math.Log(1 + Math.Exp(parameters[(3 * k) - 1] + Math.Log(Math.Exp(1 - MinimumDerivative) - 1)));
        Assert.Equal(expected, (y[1] - y[0]) / H, 1e-5);
        Assert.Equal(expected, (y[3] - y[2]) / H, 1e-5);
    }

    [Fact]
    public void Forward_WithZeroParameters_IsTheIdentity()
    {
        var transform = new CircularSplineTransform<double>([true, false, true], binCount: 4);
        double[] x = Angles(5, 3, seed: 2);
        (double[] y, double[] logDet) = Run(transform, x, 5, new double[3 * 4 * 3], inverse: false);
        AssertClose.All(x, y, 1e-14, "y");
        AssertClose.All(new double[5], logDet, 1e-14, "log-det");
    }

    // Mixed columns: each angle column is the all-angle spline of its own parameters, each real column the ordinary spline
    // (RationalQuadraticTransform) of its first 3K − 1, and the log-dets add up.
    [Fact]
    public void Forward_OnMixedColumns_EqualsEachColumnsOwnSpline()
    {
        const int Rows = 6;
        const int K = 4;
        bool[] angles = [false, true, true, false, true];
        int d = angles.Length;
        var mixed = new CircularSplineTransform<double>(angles, binCount: K, tailBound: 3);
        double[] parameters = RandomParameters(Rows, d, K, seed: 13);
        double[] x = [.. Angles(Rows, d, seed: 4).Select((v, i) => angles[i % d] ? v : 1.4 * v)]; // reals also beyond B = 3
        (double[] y, double[] logDet) = Run(mixed, x, Rows, parameters, inverse: false);

        var circle = new CircularSplineTransform<double>([true], binCount: K);
        var real = new RationalQuadraticTransform<double>(K, tailBound: 3);
        var expectedLogDet = new double[Rows];
        for (int i = 0; i < Rows; i++)
        {
            for (int j = 0; j < d; j++)
            {
                double[] raw = Raw(parameters, i, j, d, K);
                var tape = new Tape<double>();
                Node<double> input = tape.Constant([x[(i * d) + j]], 1, 1);
                (Node<double> one, Node<double> oneLogDet) = angles[j]
                    ? circle.Forward(tape, input, tape.Constant(raw, 1, 3 * K))
                    : real.Forward(tape, input, tape.Constant(raw.AsSpan(0, (3 * K) - 1), 1, (3 * K) - 1));
                Assert.Equal(one.Values[0], y[(i * d) + j]);
                expectedLogDet[i] += oneLogDet.Values[0];
            }
        }

        AssertClose.All(expectedLogDet, logDet, 1e-13, "log-det");
    }

    // The kernel's hand-derived backward pass, boundary derivative included, against central differences: per-row and
    // shared parameters, one bin (both ends in one bin) and many, 9 features (a full 512-bit vector and a padded tail).
    [Theory]
    [InlineData(1, false, false)]
    [InlineData(5, false, false)]
    [InlineData(5, true, false)]
    [InlineData(5, false, true)]
    [InlineData(1, true, true)]
    public void Gradients_EqualCentralDifferences(int k, bool sharedParameters, bool inverse)
    {
        const int Rows = 3;
        const int D = 9;
        var transform = new CircularSplineTransform<double>([.. Enumerable.Repeat(true, D)], binCount: k);
        double[] parameters = RandomParameters(sharedParameters ? 1 : Rows, D, k, seed: 31);
        double[] input = Angles(Rows, D, seed: 32);
        double[] weights = TestData.StandardNormal(Rows * D, seed: 33);
        double[] logDetWeights = TestData.StandardNormal(Rows, seed: 34);
        int parameterRows = sharedParameters ? 1 : Rows;

        double Loss()
        {
            (double[] y, double[] logDet) = Run(transform, input, Rows, parameters, inverse);
            return y.Select((v, i) => v * weights[i]).Sum() + logDet.Select((v, i) => v * logDetWeights[i]).Sum();
        }

        var tape = new Tape<double>();
        Node<double> x = tape.Variable(input, Rows, D);
        Node<double> p = tape.Variable(parameters, parameterRows, 3 * k * D);
        (Node<double> output, Node<double> logDetNode) = inverse ? transform.Inverse(tape, x, p) : transform.Forward(tape, x, p);
        Node<double> loss = tape.Add(tape.Sum(tape.Multiply(output, tape.Constant(weights, Rows, D))),
            tape.Sum(tape.Multiply(logDetNode, tape.Constant(logDetWeights, Rows, 1))));
        tape.Backward(loss);

        AssertClose.All(FiniteDifference.Gradient(Loss, input, 1e-6), x.Gradients, 1e-6, "∂/∂input");
        AssertClose.All(FiniteDifference.Gradient(Loss, parameters, 1e-6), p.Gradients, 1e-6, "∂/∂parameters");
    }

    [Fact]
    public void Constructors_RejectMasksWithoutAngles_NamingTheParameter()
    {
        Assert.Equal("angles", Assert.Throws<ArgumentException>(() => new CircularSplineTransform<double>([false, false])).ParamName);
        Assert.Equal("angles", Assert.Throws<ArgumentException>(() => new CircularShift<double>([])).ParamName);
        Assert.Equal("angles", Assert.Throws<ArgumentException>(() => new UniformAngles<double>([false])).ParamName);
        Assert.Equal("supports", Assert.Throws<ArgumentNullException>(() => CircularSplineFlow.Create<double>(null!)).ParamName);
        Assert.Equal("binCount", Assert.Throws<ArgumentOutOfRangeException>(() => new CircularSplineTransform<double>([true], binCount: 0)).ParamName);
    }

    [Fact]
    public void CircularCoupling_RejectsAMaskThatDoesNotFitTheTransform()
    {
        var transform = new CircularSplineTransform<double>([true, true]);
        Assert.Equal("transformedMask", Assert.Throws<ArgumentException>(() => new CircularCoupling<double>([true, false, true], transform)).ParamName);
        Assert.Equal("transformedMask", Assert.Throws<ArgumentException>(() => new CircularCoupling<double>([false, false], transform)).ParamName);
    }

    [Fact]
    public void Transform_RejectsInputOfAnotherWidth()
    {
        var transform = new CircularSplineTransform<double>([true, true]);
        var tape = new Tape<double>();
        var e = Assert.Throws<ArgumentException>(() => transform.Forward(tape, tape.Constant(new double[3], 1, 3), tape.Constant(new double[72], 1, 72)));
        Assert.Contains("3 columns", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CircularShift_RotatesAnglesOntoTheCircle_AndLeavesRealsAlone()
    {
        var shift = new CircularShift<double>([true, false]);
        shift.Parameters[0].Values[0] = 1.0;
        (double[,] x, double[] logDet) = shift.Forward(new double[,] { { 3.0, 5.0 }, { -1.0, -7.0 }, { 3.0 + (4 * Math.PI), 0.5 } });
        Assert.Equal(4.0 - (2 * Math.PI), x[0, 0], 1e-15);
        Assert.Equal(0.0, x[1, 0]);
        Assert.Equal(4.0 - (2 * Math.PI), x[2, 0], 1e-14); // any period comes onto [−π, π)
        Assert.Equal([5.0, -7.0, 0.5], [x[0, 1], x[1, 1], x[2, 1]]);
        Assert.Equal([0.0, 0.0, 0.0], logDet);
        Assert.Equal("CircularShift(angles: [1, 0])", shift.ToString());
    }

    [Theory]
    [InlineData(Math.PI)]
    [InlineData(-Math.PI)]
    [InlineData(1e6)]
    [InlineData(-7.5)]
    public void Wrap_LandsInTheHalfOpenCircle_OnTheSamePoint(double v)
    {
        double wrapped = CircularOps.Wrap(v);
        Assert.InRange(wrapped, -Math.PI, Math.BitDecrement(Math.PI));
        Assert.Equal(0, Math.Sin((v - wrapped) / 2), 1e-9); // v − wrapped is a multiple of 2π
        float single = CircularOps.Wrap((float)v);
        Assert.True(single >= -float.Pi && single < float.Pi, $"{single}");
    }
}
