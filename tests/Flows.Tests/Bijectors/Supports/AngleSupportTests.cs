using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Persistence;
using Flows.Tests.Persistence;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Bijectors;

/// <summary>
/// Angles as a per-column support (<see cref="Support.Angle"/>): the kind's checks, the wrap of values in any period,
/// the map between the circle and a turn in the data's units, the circular preset built from supports (the same flow,
/// bit for bit, as the one built from an angle mask), and the refusals of the real-line presets.
/// </summary>
public sealed class AngleSupportTests : IFamilyCases
{
    private static readonly Support Radians = Support.Angle();
    private static readonly Support Degrees = Support.Angle(0, 360);

    // A turn of 8 holds the circle inputs of the suite (|x| < π), so the data side's round trip needs no wrap.
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("ColumnSupports(Angle(-4, 4), Angle())", _ => new ColumnSupports<double>([Support.Angle(-4, 4), Radians]), OutputRange.Circle, Math.PI),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("ColumnSupports(angles)", () => new ColumnSupports<T>([Degrees, Support.Real, Radians, Support.Angle(-180, 180)])),
    ];

    [Fact]
    public void Angle_RefusesBoundsThatAreNotATurn_NamingTheBound()
    {
        Assert.Equal("lower", Assert.Throws<ArgumentOutOfRangeException>(() => Support.Angle(double.NaN, 1)).ParamName);
        Assert.Equal("lower", Assert.Throws<ArgumentOutOfRangeException>(() => Support.Angle(double.NegativeInfinity, 1)).ParamName);
        Assert.Equal("upper", Assert.Throws<ArgumentOutOfRangeException>(() => Support.Angle(0, 0)).ParamName);
        Assert.Equal("upper", Assert.Throws<ArgumentOutOfRangeException>(() => Support.Angle(1, -1)).ParamName);
        Assert.Equal("upper", Assert.Throws<ArgumentOutOfRangeException>(() => Support.Angle(-1e308, 1e308)).ParamName);
        // A turn narrower than one float: no value of float lies inside it.
        Assert.Equal("supports", Assert.Throws<ArgumentException>(() => new ColumnSupports<float>([Support.Angle(1, 1 + 1e-12)])).ParamName);
    }

    [Fact]
    public void Angle_HoldsEveryFiniteValue_AndSaysWhatItIs()
    {
        Assert.Equal(SupportKind.Angle, Radians.Kind);
        Assert.Equal((-Math.PI, Math.PI), (Radians.Lower, Radians.Upper));
        Assert.Equal("Angle()", Radians.ToString());
        Assert.Equal("Angle(0, 360)", Degrees.ToString());
        Assert.Equal(Radians, Support.Angle(-Math.PI, Math.PI));
        Assert.True(Degrees.Contains(-1e6) && Degrees.Contains(360) && Degrees.Contains(720.5));
        Assert.False(Degrees.Contains(double.NaN) || Degrees.Contains(double.PositiveInfinity));
    }

    // Values outside the turn wrap rather than throw: 370° is 10°, −170° is 190°, 3π is −π.
    [Fact]
    public void Inverse_WrapsAnyFiniteValue_OntoTheCircle_WithTheLogDetOfTheScale()
    {
        var supports = new ColumnSupports<double>([Degrees, Radians]);
        (double[,] z, double[] logDet) = supports.Inverse(new double[,] { { 10, 0.5 }, { 370, 0.5 + (2 * Math.PI) }, { -350, 0.5 - (6 * Math.PI) }, { 190, 3 * Math.PI }, { -170, -Math.PI } });

        double ten = -Math.PI + (2 * Math.PI * 10 / 360);
        double logScale = Math.Log(2 * Math.PI / 360);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(ten, z[i, 0], 1e-12);
            Assert.Equal(0.5, z[i, 1], 1e-14);
            Assert.Equal(logScale, logDet[i], 1e-14);
        }

        Assert.Equal(0.5, z[0, 1]); // inside [−π, π): the value itself, bit for bit
        Assert.Equal(z[3, 0], z[4, 0], 1e-12);
        Assert.Equal(-Math.PI, z[3, 1], 1e-14);
        Assert.Equal(-Math.PI, z[4, 1]);
    }

    [Fact]
    public void Forward_MapsTheCircleOntoTheTurn_AndInverseUndoesIt()
    {
        var supports = new ColumnSupports<double>([Degrees, Support.Real, Support.Angle(0, 2 * Math.PI), Radians]);
        var random = new Random(4);
        var theta = new double[200, 4];
        for (int i = 0; i < 200; i++)
        {
            for (int j = 0; j < 4; j++)
            {
                theta[i, j] = j == 1 ? 3 * TestData.NextNormal(random) : Math.PI * ((2 * random.NextDouble()) - 1);
            }
        }

        (double[,] x, double[] logDet) = supports.Forward(theta);
        (double[,] back, double[] inverseLogDet) = supports.Inverse(x);

        for (int i = 0; i < 200; i++)
        {
            AssertClose.Relative((theta[i, 0] + Math.PI) * 180 / Math.PI, x[i, 0], 1e-14, $"degrees of row {i}");
            Assert.Equal(theta[i, 1], x[i, 1]);
            AssertClose.Relative(theta[i, 2] + Math.PI, x[i, 2], 1e-14, $"[0, 2π) of row {i}");
            Assert.Equal(theta[i, 3], x[i, 3]);
            Assert.InRange(x[i, 0], 0, Math.BitDecrement(360.0));
            Assert.InRange(x[i, 2], 0, Math.BitDecrement(2 * Math.PI));
            Assert.Equal(Math.Log(360 / (2 * Math.PI)), logDet[i], 1e-14);
            Assert.Equal(-logDet[i], inverseLogDet[i]);
            for (int j = 0; j < 4; j++)
            {
                Assert.Equal(theta[i, j], back[i, j], 1e-12);
            }
        }
    }

    // The points of the circle next to the seam: a turn's end rounds to its start, never onto or past the end.
    [Fact]
    public void Forward_KeepsOutputsInsideTheTurn_NextToTheSeam_InFloatAndDouble()
    {
        Support[] turns = [Degrees, Support.Angle(-180, 180), Support.Angle(0, 24), Support.Angle(0, 2 * Math.PI), Support.Angle(1e-3, 7.1)];
        double[] near = [Math.BitDecrement(Math.PI), -Math.PI, Math.PI, -Math.BitDecrement(Math.PI), Math.PI * (1 - 1e-15), 7 * Math.PI];
        foreach (Support turn in turns)
        {
            var doubles = new ColumnSupports<double>([turn]);
            var floats = new ColumnSupports<float>([turn]);
            foreach (double v in near)
            {
                double x = doubles.Forward(new double[,] { { v } }).Output[0, 0];
                float xf = floats.Forward(new float[,] { { (float)v } }).Output[0, 0];
                Assert.True(x >= turn.Lower && x < turn.Upper, $"{turn} at {v:R}: {x:R}");
                Assert.True(xf >= (float)turn.Lower && xf < (float)turn.Upper, $"{turn} at {v:R} in float: {xf:R}");
            }
        }
    }

    [Fact]
    public void Gradients_AreTheScale_AsCentralDifferencesGiveThem()
    {
        var supports = new ColumnSupports<double>([Degrees, Support.Positive(1)]);
        double[] x = [75.0, 2.5, 300.0, 1.5];
        double[] weights = [0.7, -1.3, 0.4, 2.0];
        double Loss()
        {
            (double[,] z, double[] logDet) = supports.Inverse(new double[,] { { x[0], x[1] }, { x[2], x[3] } });
            return (weights[0] * z[0, 0]) + (weights[1] * z[0, 1]) + (weights[2] * z[1, 0]) + (weights[3] * z[1, 1]) + logDet[0] - (2 * logDet[1]);
        }

        var tape = new Tape<double>();
        Node<double> input = tape.Variable([.. x], 2, 2);
        (Node<double> output, Node<double> logDetNode) = supports.Inverse(tape, input);
        tape.Backward(tape.Add(tape.Sum(tape.Multiply(output, tape.Constant(weights, 2, 2))), tape.Sum(tape.Multiply(logDetNode, tape.Constant([1.0, -2.0], 2, 1)))));

        AssertClose.All(FiniteDifference.Gradient(Loss, x, 1e-5), input.Gradients, 1e-8, "∂/∂x");
        Assert.Equal(0.7 * 2 * Math.PI / 360, input.Gradients[0], 1e-15);
    }

    [Fact]
    public void SavedAndLoaded_KeepsTheAngleSupports_InFloatToo()
    {
        foreach (Support[] supports in (Support[][])[[Radians, Support.Real, Degrees], [Support.Angle(-0.5, 0.5)]])
        {
            var single = new TransformedDistribution<float>(new StandardNormal<float>(supports.Length), new ColumnSupports<float>(supports));
            var stream = new MemoryStream();
            single.Save(stream);
            stream.Position = 0;
            var loaded = Assert.IsType<ColumnSupports<float>>(FlowSerializer.Load<float>(stream).Bijector);
            Assert.Equal(((ColumnSupports<float>)single.Bijector).Supports, loaded.Supports);
            Assert.Equal(single.Bijector.ToString(), loaded.ToString());
        }

        Assert.Equal("ColumnSupports(Angle(), Real, Angle(0, 360))", new ColumnSupports<float>([Radians, Support.Real, Degrees]).ToString());
    }

    // The preset built from supports is the flow the preset built from an angle mask before supports existed: that flow,
    // composed here as the old preset composed it, saves to the same text and scores the same bits.
    [Fact]
    public void CircularSplineFlow_FromSupports_IsTheFlowOfTheAngleMask_BitForBit()
    {
        bool[] mask = [true, false, true];
        TransformedDistribution<double> fromSupports = PersistenceCases.Randomize(
            CircularSplineFlow.Create<double>([Radians, Support.Real, Radians], transforms: 3, binCount: 4, hiddenFeatures: [8], tailBound: 3, seed: 5), seed: 2);
        var random = new Random(5);
        var transform = new CircularSplineTransform<double>(mask, 4, 3);
        var layers = new List<IBijector<double>>();
        for (int i = 0; i < 3; i++)
        {
            layers.Add(new CircularCoupling<double>(Coupling<double>.AlternatingMask(3, i % 2), transform, [8], 0, random.Next()));
            layers.Add(new CircularShift<double>(mask));
        }

        TransformedDistribution<double> fromMask = PersistenceCases.Randomize(
            new TransformedDistribution<double>(new UniformAngles<double>(mask), new Chain<double>([.. layers])), seed: 2);

        Assert.Equal(Saved(fromMask), Saved(fromSupports));
        double[,] x = fromMask.Sample(64, new Random(3));
        for (int i = 0; i < 16; i++)
        {
            x[i, 0] += 2 * Math.PI * (i - 8); // angles in other periods too
        }

        AssertClose.Bitwise(fromMask.DensityLn(x), fromSupports.DensityLn(x), "log-densities");
    }

    // The golden file of the circular flow (format 4, written from an angle mask before supports existed) is the flow the
    // preset now builds from supports with the same settings: same structure, and, with its parameters, the same bits.
    [Fact]
    public void CircularSplineFlow_FromSupports_HasTheStructureOfTheGoldenFileOfTheAngleMask()
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Persistence", "Golden");
        TransformedDistribution<double> golden = FlowSerializer.Load<double>(Path.Combine(folder, "circular-v4.json"));
        TransformedDistribution<double> built = CircularSplineFlow.Create<double>([Radians, Support.Real, Radians], transforms: 2, binCount: 4,
            hiddenFeatures: [6], tailBound: 3);
        Assert.Equal(golden.Parameters.Count, built.Parameters.Count);
        for (int p = 0; p < golden.Parameters.Count; p++)
        {
            golden.Parameters[p].Values.CopyTo(built.Parameters[p].Values, 0);
        }

        Assert.Equal(Saved(golden), Saved(built));
        double[,] x = golden.Sample(32, new Random(8));
        AssertClose.Bitwise(golden.DensityLn(x), built.DensityLn(x), "log-densities");
    }

    // In degrees the density is the radians flow's at θ = −π + 2πx/360, times 2π/360; samples lie in [0, 360); any period
    // of x scores alike.
    [Fact]
    public void CircularSplineFlow_InDegrees_IsTheRadiansFlowPerDegree()
    {
        TransformedDistribution<double> radians = PersistenceCases.Randomize(
            CircularSplineFlow.Create<double>([Radians, Support.Real], transforms: 2, binCount: 4, hiddenFeatures: [8], seed: 1), seed: 6);
        TransformedDistribution<double> degrees = PersistenceCases.Randomize(
            CircularSplineFlow.Create<double>([Degrees, Support.Real], transforms: 2, binCount: 4, hiddenFeatures: [8], seed: 1), seed: 6);
        Assert.IsType<ColumnSupports<double>>(((Chain<double>)degrees.Bijector).Parts[^1]);

        double[,] x = degrees.Sample(200, new Random(9));
        var theta = new double[200, 2];
        var shifted = new double[200, 2];
        for (int i = 0; i < 200; i++)
        {
            Assert.InRange(x[i, 0], 0, Math.BitDecrement(360.0));
            theta[i, 0] = -Math.PI + (2 * Math.PI * x[i, 0] / 360);
            theta[i, 1] = x[i, 1];
            shifted[i, 0] = x[i, 0] + (360 * ((i % 5) - 2));
            shifted[i, 1] = x[i, 1];
        }

        double[] expected = radians.DensityLn(theta);
        double[] actual = degrees.DensityLn(x);
        double[] again = degrees.DensityLn(shifted);
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(expected[i] + Math.Log(2 * Math.PI / 360), actual[i], 1e-9);
            Assert.Equal(actual[i], again[i], 1e-9);
        }
    }

    // A real column of the circular flow may have any real-line support; data outside it are refused by name.
    [Fact]
    public void CircularSplineFlow_WithAPositiveColumn_SamplesInside_AndRefusesDataOutside()
    {
        TransformedDistribution<double> flow = PersistenceCases.Randomize(
            CircularSplineFlow.Create<double>([Support.Positive(1), Radians], transforms: 2, binCount: 4, hiddenFeatures: [8]), seed: 3);
        double[,] x = flow.Sample(100, new Random(1));
        for (int i = 0; i < 100; i++)
        {
            Assert.True(x[i, 0] > 1, $"row {i}: {x[i, 0]}");
        }

        AssertClose.Finite(flow.DensityLn(x), "log-density of samples");
        var e = Assert.Throws<ArgumentException>(() => flow.DensityLn(new double[,] { { 2, 0 }, { 0.5, 1 } }));
        Assert.Contains("x[1, 0]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CircularSplineFlow_RefusesSupportsWithoutAnAngle()
    {
        var e = Assert.Throws<ArgumentException>(() => CircularSplineFlow.Create<double>([Support.Real, Support.Positive()]));
        Assert.Equal("supports", e.ParamName);
        Assert.Contains("no angle column", e.Message, StringComparison.Ordinal);
        Assert.Equal("supports", Assert.Throws<ArgumentNullException>(() => CircularSplineFlow.Create<double>([Radians, null!])).ParamName);
    }

    public static TheoryData<string> RealLinePresets => ["maf", "nsf", "nsf-coupling", "realnvp", "iaf"];

    // A real-line flow on an angle is wrong (its density would jump where the angle wraps): refused, naming the column.
    [Theory]
    [MemberData(nameof(RealLinePresets))]
    public void RealLinePresets_RefuseAnAngleColumn_NamingIt(string preset)
    {
        Support[] supports = [Support.Real, Support.Positive(), Degrees];
        var e = Assert.Throws<ArgumentException>(() => preset switch
        {
            "maf" => MaskedAutoregressiveFlow.Create<double>(3, supports: supports),
            "nsf" => NeuralSplineFlow.Create<double>(3, supports: supports),
            "nsf-coupling" => NeuralSplineFlow.Create<double>(3, coupling: true, supports: supports),
            "realnvp" => RealNvpFlow.Create<double>(3, supports: supports),
            _ => InverseAutoregressiveFlow.Create<double>(3, supports: supports),
        });
        Assert.Equal("supports", e.ParamName);
        Assert.Contains("supports[2] is Angle(0, 360): column 2 is an angle", e.Message, StringComparison.Ordinal);
    }

    // A Gaussian of the real line is no density on a circle: a defensive share on an angle column is refused.
    [Fact]
    public void DefensiveShare_IsRefused_ForAFlowWithAnAngleColumn()
    {
        var onCircle = Assert.Throws<ArgumentException>(() => new TransformedDistribution<double>(new UniformAngles<double>([false, true]),
            new CircularShift<double>([false, true]), DefensiveShare.Automatic));
        Assert.Equal("defensiveShare", onCircle.ParamName);
        Assert.Contains("column 1 as an angle", onCircle.Message, StringComparison.Ordinal);

        var inSupports = Assert.Throws<ArgumentException>(() => new TransformedDistribution<double>(new StandardNormal<double>(2),
            new ColumnSupports<double>([Degrees, Support.Real]), DefensiveShare.Fixed(0.1)));
        Assert.Contains("column 0 as an angle", inSupports.Message, StringComparison.Ordinal);
    }

    // Angles in degrees span hundreds of units but reach the layers as [−π, π): no advice to standardize them (a real
    // column at the same scale still gets it).
    [Fact]
    public void Fit_DoesNotAdviseStandardizingAngleColumns()
    {
        var random = new Random(2);
        var data = new double[100, 3];
        for (int i = 0; i < 100; i++)
        {
            data[i, 0] = 170 + (20 * TestData.NextNormal(random));
            data[i, 1] = 0.3 * TestData.NextNormal(random);
            data[i, 2] = 1000 + (4 * Math.PI * random.NextDouble()); // an unwrapped phase, in radians
        }

        TransformedDistribution<double> flow = CircularSplineFlow.Create<double>([Degrees, Support.Real, Radians], transforms: 1, binCount: 3, hiddenFeatures: [4]);
        FitReport report = flow.Fit(data, new FitOptions { Epochs = 1, BatchSize = 50, Seed = 1 });
        Assert.DoesNotContain(report.Warnings, w => w.Contains("far outside", StringComparison.Ordinal));

        for (int i = 0; i < 100; i++)
        {
            data[i, 1] += 500;
        }

        report = CircularSplineFlow.Create<double>([Degrees, Support.Real, Radians], transforms: 1, binCount: 3, hiddenFeatures: [4])
            .Fit(data, new FitOptions { Epochs = 1, BatchSize = 50, Seed = 1 });
        string warning = Assert.Single(report.Warnings, w => w.Contains("far outside", StringComparison.Ordinal));
        Assert.Contains("column 1 spans", warning, StringComparison.Ordinal);
        Assert.DoesNotContain("column 0", warning, StringComparison.Ordinal);
        Assert.DoesNotContain("column 2", warning, StringComparison.Ordinal);
    }

    private static string Saved(TransformedDistribution<double> flow)
    {
        var stream = new MemoryStream();
        flow.Save(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
