using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Numerics;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

public sealed class RationalQuadraticSplineTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("RationalQuadraticSpline(d=2)",
            s => BijectorCases.Randomized(new RationalQuadraticSpline<double>(2, new RationalQuadraticTransform<double>(5, 3)), s, 1.0), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("RationalQuadraticSpline", () => new RationalQuadraticSpline<T>(3, new RationalQuadraticTransform<T>(binCount: 5, tailBound: 3))),
    ];

    private const int Bins = 6;
    private const double Bound = 3.0;
    private static readonly RationalQuadraticTransform<double> Settings = new(Bins, Bound);

    // The largest tail bound the constructor accepts leaves room for the spline's products: with steep random bins
    // (parameters of scale 3) both directions stay finite across [−B, B] in both element types.
    [Fact]
    public void AtTheMaximumTailBound_BothDirectionsAreFinite_InFloatAndDouble()
    {
        AssertFiniteAtTheMaximumTailBound<double>();
        AssertFiniteAtTheMaximumTailBound<float>();
    }

    private static void AssertFiniteAtTheMaximumTailBound<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        double bound = RationalQuadraticTransform<T>.MaximumTailBound;
        var spline = new RationalQuadraticSpline<T>(2, new RationalQuadraticTransform<T>(binCount: 8, tailBound: bound));
        var random = new Random(5);
        foreach (Parameter<T> parameter in spline.Parameters)
        {
            for (int k = 0; k < parameter.Values.Length; k++)
            {
                parameter.Values[k] = T.CreateTruncating(3 * TestData.NextNormal(random));
            }
        }

        var x = new T[201, 2];
        for (int i = 0; i < 201; i++)
        {
            x[i, 0] = T.CreateTruncating(bound * ((i / 100.0) - 1));
            x[i, 1] = T.CreateTruncating(-bound * ((i / 100.0) - 1) * 0.999);
        }

        foreach ((T[,] output, T[] logDet) in (ReadOnlySpan<(T[,], T[])>)[spline.Forward(x), spline.Inverse(x)])
        {
            Assert.All(output.Cast<T>(), v => Assert.True(T.IsFinite(v), $"{typeof(T).Name}: output {v}"));
            Assert.All(logDet, v => Assert.True(T.IsFinite(v), $"{typeof(T).Name}: log-det {v}"));
        }
    }

    [Fact]
    public void ZeroParameters_GiveTheIdentity()
    {
        var spline = new RationalQuadraticSpline<double>(2, Settings);
        double[,] x = { { -2.9, 0.3 }, { 1.7, -0.01 }, { 2.99, -3 } };
        var (y, logDet) = spline.Forward(x);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(x[i, 0], y[i, 0], 1e-12);
            Assert.Equal(x[i, 1], y[i, 1], 1e-12);
            Assert.True(Math.Abs(logDet[i]) <= 1e-12, $"log-det {logDet[i]}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RoundTrip_IsExactToRoundoff_EverywhereIncludingKnotsBoundsAndTails(int seed)
    {
        RationalQuadraticSpline<double> spline = Spline(seed, scale: 3);
        double[] points = [.. TestPoints(spline, seed)];
        double[,] x = Column(points);
        var (y, forward) = spline.Forward(x);
        var (xAgain, inverse) = spline.Inverse(y);
        var (yFromY, _) = spline.Inverse(x);
        var (xFromY, _) = spline.Forward(yFromY);
        for (int i = 0; i < points.Length; i++)
        {
            Assert.True(Math.Abs(xAgain[i, 0] - points[i]) <= 1e-12 * (1 + Math.Abs(points[i])), $"x = {points[i]:R}: inverse(forward(x)) = {xAgain[i, 0]:R}");
            Assert.True(Math.Abs(xFromY[i, 0] - points[i]) <= 1e-12 * (1 + Math.Abs(points[i])), $"y = {points[i]:R}: forward(inverse(y)) = {xFromY[i, 0]:R}");
            Assert.True(Math.Abs(forward[i] + inverse[i]) <= 1e-10 * Math.Max(1, Math.Abs(forward[i])), $"x = {points[i]:R}: log-dets {forward[i]} and {inverse[i]}");
        }
    }

    [Fact]
    public void Tails_AreTheExactIdentityWithZeroLogDet()
    {
        RationalQuadraticSpline<double> spline = Spline(4, scale: 3);
        double[] tails = [-1e6, -1e4, -Bound - 1e-9, Math.BitDecrement(-Bound), Math.BitIncrement(Bound), 17, 1e4, 1e6];
        var (y, logDet) = spline.Forward(Column(tails));
        var (x, inverseLogDet) = spline.Inverse(Column(tails));
        for (int i = 0; i < tails.Length; i++)
        {
            Assert.Equal(tails[i], y[i, 0]);
            Assert.Equal(tails[i], x[i, 0]);
            Assert.Equal(0.0, logDet[i]);
            Assert.Equal(0.0, inverseLogDet[i]);
        }
    }

    [Fact]
    public void Range_IsClosed_ForwardAndInverseMapTheIntervalIntoItself()
    {
        RationalQuadraticSpline<double> spline = Spline(5, scale: 6);
        double[] points = [.. Enumerable.Range(0, 2001).Select(i => -Bound + (2 * Bound * i / 2000.0)), -Bound, Bound, Math.BitDecrement(Bound), Math.BitIncrement(-Bound)];
        var (y, _) = spline.Forward(Column(points));
        var (x, _) = spline.Inverse(Column(points));
        for (int i = 0; i < points.Length; i++)
        {
            Assert.InRange(y[i, 0], -Bound, Bound);
            Assert.InRange(x[i, 0], -Bound, Bound);
        }

        Assert.Equal(-Bound, spline.Forward(Column([-Bound])).Output[0, 0]);
        Assert.Equal(Bound, spline.Forward(Column([Bound])).Output[0, 0]);
    }

    [Fact]
    public void Map_IsMonotoneContinuousAndC1AtEveryKnotAndAtTheBounds()
    {
        RationalQuadraticSpline<double> spline = Spline(6, scale: 3);
        double[] knots = Knots(spline);
        foreach (double knot in knots)
        {
            double h = 1e-9;
            var (y, logDet) = spline.Forward(Column([knot - h, knot, knot + h]));
            Assert.True(y[0, 0] <= y[1, 0] && y[1, 0] <= y[2, 0], $"not monotone at {knot}");
            Assert.True(Math.Abs(y[2, 0] - y[0, 0]) < 1e-7, $"jump at {knot}");
            Assert.True(Math.Abs(logDet[0] - logDet[2]) < 1e-6, $"derivative jumps at {knot}: {Math.Exp(logDet[0])} vs {Math.Exp(logDet[2])}");
        }

        double[] grid = [.. Enumerable.Range(0, 4001).Select(i => -4 + (8.0 * i / 4000))];
        double[,] mapped = spline.Forward(Column(grid)).Output;
        for (int i = 1; i < grid.Length; i++)
        {
            Assert.True(mapped[i, 0] > mapped[i - 1, 0], $"not strictly increasing at {grid[i]}");
        }
    }

    [Fact]
    public void LogDet_EqualsTheLogOfAFiniteDifferenceDerivative()
    {
        RationalQuadraticSpline<double> spline = Spline(7, scale: 3);
        double[] points = [.. Enumerable.Range(0, 57).Select(i => -2.95 + (5.9 * i / 56.0))];
        var (_, logDet) = spline.Forward(Column(points));
        const double h = 1e-6;
        double[,] plus = spline.Forward(Column([.. points.Select(p => p + h)])).Output;
        double[,] minus = spline.Forward(Column([.. points.Select(p => p - h)])).Output;
        for (int i = 0; i < points.Length; i++)
        {
            double derivative = (plus[i, 0] - minus[i, 0]) / (2 * h);
            Assert.Equal(Math.Log(derivative), logDet[i], 1e-6);
        }
    }

    [Fact]
    public void BinWidthsAndHeights_RespectTheMinimumAndSumToTheInterval()
    {
        var random = new Random(8);
        double[] raw = [.. Enumerable.Range(0, (3 * Bins) - 1).Select(_ => 50 * ((2 * random.NextDouble()) - 1))];
        var settings = new SplineSettings<double>(Bins, Bound, 1e-3, 1e-3, 1e-3);
        var scratch = new double[ScalarRationalQuadraticSpline.ScratchLength(Bins)];
        Knots<double> knots = ScalarRationalQuadraticSpline.Knots<double>(raw, settings, scratch);
        double widthSum = 0;
        double heightSum = 0;
        for (int k = 0; k < Bins; k++)
        {
            double w = knots.X[k + 1] - knots.X[k];
            double h = knots.Y[k + 1] - knots.Y[k];
            Assert.True(w >= (1e-3 * 2 * Bound) - 1e-15, $"width {w}");
            Assert.True(h >= (1e-3 * 2 * Bound) - 1e-15, $"height {h}");
            widthSum += w;
            heightSum += h;
        }

        Assert.Equal(2 * Bound, widthSum, 1e-12);
        Assert.Equal(2 * Bound, heightSum, 1e-12);
        for (int k = 1; k < Bins; k++)
        {
            Assert.True(knots.Derivatives[k] >= 1e-3);
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Gradients_MatchCentralDifferences_OnBatchesMixingInAndOutOfRangeRows(bool inverse, bool perRowParameters)
    {
        const int n = 7;
        const int d = 2;
        int parameterCount = ((3 * Bins) - 1) * d;
        var random = new Random(inverse ? 11 : 12);
        double[] input = [.. Enumerable.Range(0, n * d).Select(i => i % 5 == 4 ? 4.5 * (i % 2 == 0 ? 1 : -1) : 5.6 * (random.NextDouble() - 0.5))];
        double[] parameters = [.. Enumerable.Range(0, (perRowParameters ? n : 1) * parameterCount).Select(_ => 2 * ((2 * random.NextDouble()) - 1))];
        double[] outputWeights = [.. Enumerable.Range(0, n * d).Select(_ => random.NextDouble() - 0.5)];
        double[] logDetWeights = [.. Enumerable.Range(0, n).Select(_ => random.NextDouble() - 0.5)];
        int parameterRows = perRowParameters ? n : 1;

        double Loss(double[] x, double[] p)
        {
            var tape = new Tape<double>(isRecording: false);
            var (y, ld) = tape.RationalQuadraticSpline(tape.Constant(x, n, d), tape.Constant(p, parameterRows, parameterCount), Bins, Bound, 1e-3, 1e-3, 1e-3, inverse);
            double sum = 0;
            for (int i = 0; i < n * d; i++)
            {
                sum += outputWeights[i] * y.Values[i];
            }

            for (int i = 0; i < n; i++)
            {
                sum += logDetWeights[i] * ld.Values[i];
            }

            return sum;
        }

        var inputParameter = new Parameter<double>("x", n, d);
        input.CopyTo(inputParameter.Values, 0);
        var splineParameter = new Parameter<double>("p", parameterRows, parameterCount);
        parameters.CopyTo(splineParameter.Values, 0);
        var recording = new Tape<double>();
        var (output, logDet) = recording.RationalQuadraticSpline(recording.Use(inputParameter), recording.Use(splineParameter), Bins, Bound, 1e-3, 1e-3, 1e-3, inverse);
        Node<double> loss = recording.Add(
            recording.Sum(recording.Multiply(output, recording.Constant(outputWeights, n, d))),
            recording.Sum(recording.Multiply(logDet, recording.Constant(logDetWeights, n, 1))));
        recording.Backward(loss);

        AssertGradient(inputParameter.Gradients, input, x => Loss(x, parameters), "input");
        AssertGradient(splineParameter.Gradients, parameters, p => Loss(input, p), "parameters");
    }

    [Fact]
    public void ExtremeRawParameters_GiveFiniteValuesAndGradients_AndAMillionInversesGiveNoNaN()
    {
        var random = new Random(13);
        const int d = 4;
        var spline = new RationalQuadraticSpline<double>(d, Settings);
        var tape = new Tape<double>();
        int nans = 0;
        for (int trial = 0; trial < 250; trial++)
        {
            double[] values = spline.Parameters[0].Values;
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = 50 * ((2 * random.NextDouble()) - 1);
            }

            double[] y = [.. Enumerable.Range(0, 1000 * d).Select(_ => 7 * (random.NextDouble() - 0.5))];
            tape.Reset();
            spline.Parameters[0].ZeroGradients();
            var (x, logDet) = spline.Inverse(tape, tape.Constant(y, 1000, d));
            tape.Backward(tape.Add(tape.Sum(x), tape.Sum(logDet)));
            nans += x.Values.ToArray().Count(v => !double.IsFinite(v)) + logDet.Values.ToArray().Count(v => !double.IsFinite(v));
            nans += spline.Parameters[0].Gradients.Count(v => !double.IsFinite(v));
        }

        Assert.Equal(0, nans);
    }

    [Fact]
    public void Float_RoundTripsAndStaysFinite()
    {
        var spline = new RationalQuadraticSpline<float>(1, new RationalQuadraticTransform<float>(Bins, Bound));
        var random = new Random(14);
        for (int i = 0; i < spline.Parameters[0].Values.Length; i++)
        {
            spline.Parameters[0].Values[i] = (float)(3 * ((2 * random.NextDouble()) - 1));
        }

        float[] points = [.. Enumerable.Range(0, 4001).Select(i => (float)(-10 + (20.0 * i / 4000)))];
        var (y, forward) = spline.Forward(Column(points));
        var (x, inverse) = spline.Inverse(y);
        for (int i = 0; i < points.Length; i++)
        {
            Assert.True(float.IsFinite(y[i, 0]) && float.IsFinite(forward[i]) && float.IsFinite(inverse[i]));
            Assert.True(Math.Abs(x[i, 0] - points[i]) <= 1e-4, $"x = {points[i]}: {x[i, 0]}");
            Assert.True(Math.Abs(forward[i] + inverse[i]) <= 1e-4, $"x = {points[i]}: {forward[i]} vs {inverse[i]}");
        }
    }

    private static void AssertGradient(double[] analytic, double[] point, Func<double[], double> loss, string what)
    {
        const double h = 1e-6;
        for (int i = 0; i < point.Length; i++)
        {
            double[] plus = (double[])point.Clone();
            double[] minus = (double[])point.Clone();
            plus[i] += h;
            minus[i] -= h;
            double numeric = (loss(plus) - loss(minus)) / (2 * h);
            Assert.True(Math.Abs(numeric - analytic[i]) <= 1e-5 + (1e-5 * Math.Abs(numeric)), $"{what}[{i}]: analytic {analytic[i]}, numeric {numeric}");
        }
    }

    private static RationalQuadraticSpline<double> Spline(int seed, double scale)
    {
        var spline = new RationalQuadraticSpline<double>(1, Settings);
        var random = new Random(seed);
        double[] values = spline.Parameters[0].Values;
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = scale * ((2 * random.NextDouble()) - 1);
        }

        return spline;
    }

    private static double[] Knots(RationalQuadraticSpline<double> spline)
    {
        var settings = new SplineSettings<double>(Bins, Bound, 1e-3, 1e-3, 1e-3);
        var scratch = new double[ScalarRationalQuadraticSpline.ScratchLength(Bins)];
        return ScalarRationalQuadraticSpline.Knots<double>(spline.Parameters[0].Values, settings, scratch).X.ToArray();
    }

    private static IEnumerable<double> TestPoints(RationalQuadraticSpline<double> spline, int seed)
    {
        var random = new Random(seed + 100);
        foreach (double knot in Knots(spline))
        {
            yield return knot;
            yield return Math.BitIncrement(knot);
            yield return Math.BitDecrement(knot);
        }

        for (int i = 0; i < 500; i++)
        {
            yield return 2 * Bound * ((2 * random.NextDouble()) - 1);
            yield return 1e4 * ((2 * random.NextDouble()) - 1);
        }
    }

    private static T[,] Column<T>(T[] values) where T : INumber<T>
    {
        var result = new T[values.Length, 1];
        for (int i = 0; i < values.Length; i++)
        {
            result[i, 0] = values[i];
        }

        return result;
    }
}
