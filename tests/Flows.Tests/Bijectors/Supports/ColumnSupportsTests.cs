using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Tests.Testing;
using Flows.Training;
using Flows.Quality;

namespace Flows.Tests.Bijectors;

/// <summary>Per-column supports: closed forms per column, mixed columns through finite differences, samples strictly
/// inside in float and double, clear errors for data outside, the presets' placement, and a fit of three kinds of column.</summary>
public sealed class ColumnSupportsTests : IFamilyCases
{
    private static readonly Support[] Mixed = [Support.Real, Support.Positive(2), Support.Interval(-1, 3)];

    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("ColumnSupports(Positive(0) ×2)", _ => new ColumnSupports<double>([Support.Positive(), Support.Positive()]), OutputRange.Positive, 700),
        new("ColumnSupports(Interval(0, 1) ×3)", _ => new ColumnSupports<double>([Support.Interval(0, 1), Support.Interval(0, 1), Support.Interval(0, 1)]),
            OutputRange.UnitInterval, 15),
        new("ColumnSupports(Interval(-1, 1) ×2)", _ => new ColumnSupports<double>([Support.Interval(-1, 1), Support.Interval(-1, 1)]),
            OutputRange.SymmetricUnitInterval, 15),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("ColumnSupports(mixed)", () => new ColumnSupports<T>([Support.Real, Support.Positive(0.1), Support.Interval(-0.3, 2.7)])),
        new("Chain(Affine, ColumnSupports)", () => new Chain<T>(new Affine<T>(2), new ColumnSupports<T>([Support.Interval(1e-3, 0.7), Support.Positive(-5)]))),
    ];

    [Fact]
    public void Forward_MatchesTheClosedFormOfEachColumn()
    {
        var bijector = new ColumnSupports<double>(Mixed);
        double[,] z = TestData.StandardNormal(32, 3, seed: 1, scale: 3);

        (double[,] x, double[] logDet) = bijector.Forward(z);

        for (int i = 0; i < 32; i++)
        {
            double s = 1 / (1 + Math.Exp(-z[i, 2]));
            Assert.Equal(z[i, 0], x[i, 0]);
            AssertClose.Relative(2 + Math.Exp(z[i, 1]), x[i, 1], Tolerance.ClosedForm, $"Positive(2) at {z[i, 1]}");
            AssertClose.Relative(-1 + (4 * s), x[i, 2], Tolerance.ClosedForm, $"Interval(-1, 3) at {z[i, 2]}");
            double expected = z[i, 1] + Math.Log(4 * s * (1 - s));
            AssertClose.Relative(expected, logDet[i], Tolerance.ClosedForm, $"log-det of row {i}");
        }
    }

    [Fact]
    public void MixedColumns_InverseUndoesForward_AndLogDetsAreNegatives()
    {
        var bijector = new ColumnSupports<double>(Mixed);
        double[,] z = TestData.StandardNormal(64, 3, seed: 2, scale: 4);

        (double[,] x, double[] forwardLogDet) = bijector.Forward(z);
        (double[,] zAgain, double[] inverseLogDet) = bijector.Inverse(x);

        AssertClose.All(z, zAgain, Tolerance.RoundTrip, "round trip");
        AssertClose.All(forwardLogDet, [.. inverseLogDet.Select(v => -v)], Tolerance.LogDetNegatives, "log-dets");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MixedColumns_LogDetEqualsFiniteDifferenceLogDet(bool inverse)
    {
        var bijector = new ColumnSupports<double>(Mixed);
        double[,] z = TestData.StandardNormal(8, 3, seed: 3, scale: 1.5);
        double[,] points = inverse ? bijector.Forward(z).Output : z;
        for (int i = 0; i < 8; i++)
        {
            double[] row = TestData.Row(points, i);
            Func<double[], double[]> map = r => TestData.Row(inverse ? bijector.Inverse(TestData.AsRow(r)).Output : bijector.Forward(TestData.AsRow(r)).Output, 0);
            double expected = FiniteDifference.LogAbsDetJacobian(map, row, Tolerance.FiniteDifferenceJacobianStep);
            double actual = (inverse ? bijector.Inverse(TestData.AsRow(row)) : bijector.Forward(TestData.AsRow(row))).LogDet[0];
            Assert.Equal(expected, actual, Tolerance.FiniteDifferenceLogDet);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MixedColumns_InputGradientsEqualCentralDifferences(bool inverse)
    {
        var bijector = new ColumnSupports<double>(Mixed);
        double[,] z = TestData.StandardNormal(4, 3, seed: 5, scale: 1.5);
        double[] input = TestData.Flatten(inverse ? bijector.Forward(z).Output : z);
        double[] weights = TestData.StandardNormal(12, seed: 6);
        // loss = Σ w ⊙ output + 0.7 Σ logDet: both the output's and the log-det's backward paths.
        double Loss(double[] values)
        {
            var tape = new Tape<double>(isRecording: false);
            Node<double> node = tape.Constant(values, 4, 3);
            (Node<double> output, Node<double> logDet) = inverse ? bijector.Inverse(tape, node) : bijector.Forward(tape, node);
            return output.Values.ToArray().Zip(weights, (o, w) => o * w).Sum() + (0.7 * logDet.Values.ToArray().Sum());
        }

        var recording = new Tape<double>();
        Node<double> x = recording.Variable(input, 4, 3);
        (Node<double> o, Node<double> ld) = inverse ? bijector.Inverse(recording, x) : bijector.Forward(recording, x);
        Node<double> loss = recording.Add(recording.Sum(recording.Multiply(o, recording.Constant(weights, 4, 3))), recording.Scale(recording.Sum(ld), 0.7));
        recording.Backward(loss);

        double[] expected = FiniteDifference.Gradient(() => Loss(input), input, Tolerance.FiniteDifferenceGradientStep);
        AssertClose.All(expected, x.Gradients, Tolerance.Gradient, inverse ? "inverse" : "forward");
    }

    [Fact]
    public void Forward_KeepsSamplesStrictlyInside_InDouble() => AssertSamplesInside<double>();

    [Fact]
    public void Forward_KeepsSamplesStrictlyInside_InFloat() => AssertSamplesInside<float>();

    // z far enough out that σ(z) rounds to 0 or 1 and exp(z) underflows or overflows: the outputs still lie strictly
    // inside, so that the flow can score its own samples.
    private static void AssertSamplesInside<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        Support[] supports = [Support.Positive(0), Support.Positive(3), Support.Interval(0, 1), Support.Interval(-2, 1e-3)];
        var bijector = new ColumnSupports<T>(supports);
        double[] extremes = [-1e5, -800, -100, -40, -20, 0, 20, 40, 100, 800, 1e5];
        var z = new T[extremes.Length, 4];
        for (int i = 0; i < extremes.Length; i++)
        {
            for (int j = 0; j < 4; j++)
            {
                z[i, j] = T.CreateTruncating(extremes[i]);
            }
        }

        T[,] x = bijector.Forward(z).Output;
        for (int i = 0; i < extremes.Length; i++)
        {
            for (int j = 0; j < 4; j++)
            {
                double v = double.CreateTruncating(x[i, j]);
                Assert.True(bijector.Supports[j].Contains(v), $"z = {extremes[i]} gives {v} outside {bijector.Supports[j]}");
            }
        }

        var flow = new TransformedDistribution<T>(new StandardNormal<T>(4), bijector);
        Assert.All(flow.DensityLn(x), v => Assert.False(T.IsNaN(v)));
    }

    [Theory]
    [InlineData(1, 0.0, "outside", "Positive(2)")]
    [InlineData(1, 2.0, "on a bound", "Positive(2)")]
    [InlineData(2, 3.0, "on a bound", "Interval(-1, 3)")]
    [InlineData(2, -1.5, "outside", "Interval(-1, 3)")]
    [InlineData(2, 7.0, "outside", "Interval(-1, 3)")]
    public void DensityLn_ThrowsForAValueOutsideOrOnABound_NamingRowColumnAndSupport(int column, double value, string where, string support)
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(3), new ColumnSupports<double>(Mixed));
        double[,] x = { { 0.5, 2.5, 0.5 }, { 0.5, 2.5, 0.5 }, { 0.5, 2.5, 0.5 } };
        x[2, column] = value;

        ArgumentException e = Assert.Throws<ArgumentException>("x", () => flow.DensityLn(x));

        Assert.Contains($"x[2, {column}]", e.Message, StringComparison.Ordinal);
        Assert.Contains(where, e.Message, StringComparison.Ordinal);
        Assert.Contains(support, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fit_ThrowsForDataOutsideTheSupport_NamingRowAndColumn()
    {
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(3, transforms: 1, hiddenFeatures: [8], supports: Mixed);
        double[,] data = Shifted(SupportsTruth.Sample(100, seed: 1));
        data[17, 1] = 1.5;

        ArgumentException e = Assert.Throws<ArgumentException>("data", () => flow.Fit(data));
        Assert.Contains("data[17, 1]", e.Message, StringComparison.Ordinal);
        Assert.Contains("Positive(2)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConditionalPreset_RefusesDataOutsideTheSupports_AndSamplesInsideThem()
    {
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(3, transforms: 1, hiddenFeatures: [8], contextDimension: 1,
            supports: Mixed, gaussianStart: GaussianStart.None);
        double[,] x = { { 0.5, 2.5, 0.5 }, { 0.5, 2.5, 3.5 } };
        double[,] context = { { 1 }, { -1 } };

        ArgumentException e = Assert.Throws<ArgumentException>("x", () => flow.DensityLn(x, context));
        Assert.Contains("x[1, 2]", e.Message, StringComparison.Ordinal);
        double[,] samples = flow.Sample(2, new Random(1), context);
        Assert.All(Enumerable.Range(0, 6), k => Assert.True(Mixed[k % 3].Contains(samples[k / 3, k % 3])));
    }

    [Fact]
    public void Constructor_ThrowsForEmptyOrNullSupports()
    {
        Assert.Throws<ArgumentException>("supports", () => new ColumnSupports<double>([]));
        Assert.Throws<ArgumentNullException>("supports", () => new ColumnSupports<double>(null!));
        Assert.Throws<ArgumentNullException>("supports", () => new ColumnSupports<double>([Support.Real, null!]));
    }

    [Fact]
    public void Constructor_ThrowsForAnIntervalWithNoValueOfTInside()
    {
        var narrow = Support.Interval(1, 1 + 1e-12);
        _ = new ColumnSupports<double>([narrow]);
        ArgumentException e = Assert.Throws<ArgumentException>("supports", () => new ColumnSupports<float>([narrow]));
        Assert.Contains("supports[0]", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>("supports", () => new ColumnSupports<float>([Support.Positive(1e39)]));
    }

    [Fact]
    public void SupportFactories_ThrowForInvalidBounds()
    {
        Assert.Throws<ArgumentOutOfRangeException>("lower", () => Support.Positive(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>("lower", () => Support.Interval(double.NegativeInfinity, 1));
        Assert.Throws<ArgumentOutOfRangeException>("upper", () => Support.Interval(1, 1));
        Assert.Throws<ArgumentOutOfRangeException>("upper", () => Support.Interval(-double.MaxValue, double.MaxValue));
    }

    public static TheoryData<string> Presets => ["MAF", "IAF", "NSF", "RealNVP"];

    private static TransformedDistribution<T> Preset<T>(string name, IReadOnlyList<Support>? supports) where T : unmanaged, IFloatingPointIeee754<T>
        => name switch
        {
            "MAF" => MaskedAutoregressiveFlow.Create<T>(3, transforms: 2, hiddenFeatures: [8], seed: 1, supports: supports),
            "IAF" => InverseAutoregressiveFlow.Create<T>(3, transforms: 2, hiddenFeatures: [8], seed: 1, supports: supports),
            "NSF" => NeuralSplineFlow.Create<T>(3, transforms: 2, hiddenFeatures: [8], seed: 1, supports: supports),
            "RealNVP" => RealNvpFlow.Create<T>(3, transforms: 2, hiddenFeatures: [8], seed: 1, supports: supports),
            _ => throw new ArgumentException(name, nameof(name)),
        };

    [Theory]
    [MemberData(nameof(Presets))]
    public void Presets_PutTheSupportsNextToTheData_WithStandardizationInside(string name)
    {
        var parts = ((Chain<double>)Preset<double>(name, Mixed).Bijector).Parts;

        Assert.IsType<ColumnSupports<double>>(parts[^1]);
        if (name != "IAF")
        {
            Assert.IsType<Standardization<double>>(parts[^2]);
        }
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public void Presets_WithoutSupportsOrAllReal_AreBuiltAsBefore(string name)
    {
        string plain = Preset<double>(name, null).ToString();
        Assert.Equal(plain, Preset<double>(name, [Support.Real, Support.Real, Support.Real]).ToString());
        Assert.DoesNotContain("ColumnSupports", plain, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public void Presets_ThrowWhenSupportsDoNotMatchTheDimension(string name)
        => Assert.Throws<ArgumentException>("supports", () => Preset<double>(name, [Support.Real, Support.Positive()]));

    [Theory]
    [MemberData(nameof(Presets))]
    public void Presets_SampleInsideTheSupports_AndScoreTheirSamples_InFloat(string name)
    {
        TransformedDistribution<float> flow = Preset<float>(name, Mixed);
        // Standardization and ActNorm initialize from data inside the supports; wide parameters push samples to the edges.
        float[,] data = ToFloat(Shifted(SupportsTruth.Sample(300, seed: 2)));
        _ = flow.DensityLn(data);
        foreach (Parameter<float> parameter in flow.Parameters)
        {
            var random = new Random(parameter.Values.Length);
            for (int k = 0; k < parameter.Values.Length; k++)
            {
                parameter.Values[k] = (float)(3 * TestData.NextNormal(random));
            }
        }

        float[,] samples = flow.Sample(2000, new Random(3));

        for (int i = 0; i < 2000; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                Assert.True(Mixed[j].Contains(samples[i, j]), $"sample {i} column {j} = {samples[i, j]} outside {Mixed[j]}");
            }
        }

        Assert.All(flow.DensityLn(samples), v => Assert.False(float.IsNaN(v)));
    }

    // The issue's test at 3,000 training rows (the 20,000-row figure is measured by benchmarks/Flows.Quality --data supports):
    // a log-normal, a Beta(2, 5) on [0, 1] and a normal column fitted together by a MAF with supports.
    [Fact]
    public void Fit_OfPositiveBoundedAndRealColumns_MatchesTheTrueDensityAndMarginals()
    {
        const int n = 3000;
        double[,] train = SupportsTruth.Sample(n, seed: 11);
        double[,] test = SupportsTruth.Sample(2000, seed: 12);
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(3, transforms: 2, hiddenFeatures: [16, 16], seed: 3,
            supports: SupportsTruth.Supports);

        flow.Fit(train, new FitOptions { Epochs = 40, Seed = 4 });

        double fitted = flow.DensityLn(test).Average();
        double truth = Enumerable.Range(0, 2000).Average(i => SupportsTruth.DensityLn(test, i));
        // Without the supports' Jacobian the gap would be E[log x₀] + E[log x₁(1 − x₁)] ≈ 0.5 − 2.2 nats; a Gaussian fit
        // of the raw columns is about 0.4 nats below the truth.
        Assert.InRange(truth - fitted, -0.05, 0.08);
        double[,] samples = flow.Sample(4000, new Random(5));
        double[] ks = SupportsTruth.KolmogorovSmirnov(samples);
        // The KS distance of 4,000 draws from the true marginal has a 99.9 % quantile of 1.95/√4000 = 0.031; the rest of
        // the bound is the bias of a 40-epoch fit on 3,000 rows (measured: 0.031, 0.043, 0.014).
        Assert.True(ks.All(d => d < 0.06), $"KS distances {string.Join(", ", ks)}, fitted {fitted}, truth {truth}");
    }

    // SupportsTruth's rows moved into Mixed's supports: (normal, 2 + log-normal, −1 + 4 Beta) for (Real, Positive(2), Interval(-1, 3)).
    private static double[,] Shifted(double[,] data)
    {
        var result = new double[data.GetLength(0), 3];
        for (int i = 0; i < data.GetLength(0); i++)
        {
            result[i, 0] = data[i, 2];
            result[i, 1] = 2 + data[i, 0];
            result[i, 2] = -1 + (4 * data[i, 1]);
        }

        return result;
    }

    private static float[,] ToFloat(double[,] data)
    {
        var result = new float[data.GetLength(0), data.GetLength(1)];
        for (int i = 0; i < data.GetLength(0); i++)
        {
            for (int j = 0; j < data.GetLength(1); j++)
            {
                result[i, j] = (float)data[i, j];
            }
        }

        return result;
    }
}
