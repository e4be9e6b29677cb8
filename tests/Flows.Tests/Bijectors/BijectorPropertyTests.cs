using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Persistence;
using Flows.Distributions;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

/// <summary>The shared property suite: every registered bijector, one property per test, independent oracles.</summary>
public sealed class BijectorPropertyTests
{
    private const int Seed = 7;
    private const int ParameterDraws = 20;

    public static TheoryData<string> Names => [.. BijectorCases.Names];

    public static TheoryData<string> ParametricNames => [.. BijectorCases.ParametricNames];

    public static TheoryData<string> RestrictedRangeNames => [.. BijectorCases.RestrictedRangeNames];

    public static TheoryData<string, int> NamesAndBatchSizes
    {
        get
        {
            var data = new TheoryData<string, int>();
            foreach (string name in BijectorCases.Names)
            {
                foreach (int size in new[] { 1, 2, 3, 257 })
                {
                    data.Add(name, size);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Inverse_UndoesForward(string name)
    {
        BijectorCase c = BijectorCases.Get(name);
        for (int draw = 0; draw < ParameterDraws; draw++)
        {
            IBijector<double> bijector = c.Create(Seed + draw);
            double[,] z = BijectorCases.BaseInputs(c, bijector.Dimension, rows: 64, seed: 11 + draw);
            double[,] x = bijector.Forward(z).Output;
            double[,] zAgain = bijector.Inverse(x).Output;
            AssertRoundTrip(z, zAgain, () => Conditioning.RoundingError(bijector, x, inverse: true).Output, $"{name}, draw {draw}");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Forward_UndoesInverse(string name)
    {
        BijectorCase c = BijectorCases.Get(name);
        for (int draw = 0; draw < ParameterDraws; draw++)
        {
            IBijector<double> bijector = c.Create(Seed + draw);
            double[,] x = BijectorCases.DataInputs(c, bijector.Dimension, rows: 64, seed: 13 + draw);
            double[,] z = bijector.Inverse(x).Output;
            double[,] xAgain = bijector.Forward(z).Output;
            AssertRoundTrip(x, xAgain, () => Conditioning.RoundingError(bijector, z, inverse: false).Output, $"{name}, draw {draw}");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void LogDets_AreExactNegatives_FromBaseSide(string name)
    {
        BijectorCase c = BijectorCases.Get(name);
        for (int draw = 0; draw < ParameterDraws; draw++)
        {
            IBijector<double> bijector = c.Create(Seed + draw);
            double[,] z = BijectorCases.BaseInputs(c, bijector.Dimension, rows: 64, seed: 17 + draw);
            (double[,] x, double[] forwardLogDet) = bijector.Forward(z);
            double[] inverseLogDet = bijector.Inverse(x).LogDet;
            AssertNegatives(forwardLogDet, inverseLogDet, $"{name}, draw {draw}", () => Conditioning.RoundingError(bijector, x, inverse: true).LogDet);
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void LogDets_AreExactNegatives_FromDataSide(string name)
    {
        BijectorCase c = BijectorCases.Get(name);
        for (int draw = 0; draw < ParameterDraws; draw++)
        {
            IBijector<double> bijector = c.Create(Seed + draw);
            double[,] x = BijectorCases.DataInputs(c, bijector.Dimension, rows: 64, seed: 19 + draw);
            (double[,] z, double[] inverseLogDet) = bijector.Inverse(x);
            double[] forwardLogDet = bijector.Forward(z).LogDet;
            AssertNegatives(inverseLogDet, forwardLogDet, $"{name}, draw {draw}", () => Conditioning.RoundingError(bijector, z, inverse: false).LogDet);
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void ForwardLogDet_EqualsFiniteDifferenceLogDet(string name)
    {
        IBijector<double> bijector = BijectorCases.Create(name, Seed);
        double[,] z = TestData.StandardNormal(rows: 16, columns: bijector.Dimension, seed: 23);
        AssertLogDetMatchesFiniteDifferences(bijector, z, inverse: false, name);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void InverseLogDet_EqualsFiniteDifferenceLogDet(string name)
    {
        BijectorCase c = BijectorCases.Get(name);
        IBijector<double> bijector = c.Create(Seed);
        double[,] x = BijectorCases.ModerateDataInputs(c, bijector.Dimension, rows: 16, seed: 29);
        AssertLogDetMatchesFiniteDifferences(bijector, x, inverse: true, name);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void ForwardLogDet_EqualsAutodiffJacobianLogDet(string name)
    {
        BijectorCase c = BijectorCases.Get(name);
        IBijector<double> bijector = c.Create(Seed);
        double[,] z = BijectorCases.BaseInputs(c, bijector.Dimension, rows: 16, seed: 31);
        AssertLogDetMatchesAutodiff(bijector, z, inverse: false, name);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void InverseLogDet_EqualsAutodiffJacobianLogDet(string name)
    {
        BijectorCase c = BijectorCases.Get(name);
        IBijector<double> bijector = c.Create(Seed);
        double[,] x = BijectorCases.ModerateDataInputs(c, bijector.Dimension, rows: 16, seed: 37);
        AssertLogDetMatchesAutodiff(bijector, x, inverse: true, name);
    }

    [Theory]
    [MemberData(nameof(ParametricNames))]
    public void ForwardParameterGradients_EqualCentralDifferences(string name)
    {
        IBijector<double> bijector = BijectorCases.Create(name, Seed);
        double[,] z = TestData.StandardNormal(rows: 12, columns: bijector.Dimension, seed: 41);
        AssertParameterGradients(bijector, z, inverse: false, name);
    }

    [Theory]
    [MemberData(nameof(ParametricNames))]
    public void InverseParameterGradients_EqualCentralDifferences(string name)
    {
        BijectorCase c = BijectorCases.Get(name);
        IBijector<double> bijector = c.Create(Seed);
        double[,] x = BijectorCases.ModerateDataInputs(c, bijector.Dimension, rows: 12, seed: 43);
        AssertParameterGradients(bijector, x, inverse: true, name);
    }

    [Theory]
    [MemberData(nameof(ParametricNames))]
    public void DensityLnParameterGradients_EqualCentralDifferences(string name)
    {
        BijectorCase c = BijectorCases.Get(name);
        IBijector<double> bijector = c.Create(Seed);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(bijector.Dimension), bijector);
        double[,] x = BijectorCases.ModerateDataInputs(c, bijector.Dimension, rows: 12, seed: 47);

        var tape = new Tape<double>();
        Node<double> loss = tape.Mean(flow.DensityLn(tape, tape.Constant(TestData.Flatten(x), x.GetLength(0), x.GetLength(1))));
        ZeroGradients(bijector);
        tape.Backward(loss);

        foreach (Parameter<double> parameter in bijector.Parameters)
        {
            double[] expected = FiniteDifference.Gradient(() => flow.DensityLn(x).Average(), parameter.Values, Tolerance.FiniteDifferenceGradientStep);
            AssertClose.All(expected, parameter.Gradients, Tolerance.Gradient, $"{name}, ∂ mean log p / ∂{parameter.Name}");
        }
    }

    [Theory]
    [MemberData(nameof(NamesAndBatchSizes))]
    public void Forward_RowsAreIndependent(string name, int batchSize)
    {
        IBijector<double> bijector = BijectorCases.Create(name, Seed);
        double[,] z = TestData.StandardNormal(rows: batchSize, columns: bijector.Dimension, seed: 53);
        AssertRowsIndependent(bijector, z, inverse: false, name);
    }

    [Theory]
    [MemberData(nameof(NamesAndBatchSizes))]
    public void Inverse_RowsAreIndependent(string name, int batchSize)
    {
        BijectorCase c = BijectorCases.Get(name);
        IBijector<double> bijector = c.Create(Seed);
        double[,] x = BijectorCases.ModerateDataInputs(c, bijector.Dimension, rows: batchSize, seed: 59);
        AssertRowsIndependent(bijector, x, inverse: true, name);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Forward_RecordingOnEqualsRecordingOff_Bitwise(string name)
    {
        BijectorCase c = BijectorCases.Get(name);
        IBijector<double> bijector = c.Create(Seed);
        double[,] z = BijectorCases.BaseInputs(c, bijector.Dimension, rows: 32, seed: 61);
        AssertRecordingDoesNotChangeValues(bijector, z, inverse: false, name);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Inverse_RecordingOnEqualsRecordingOff_Bitwise(string name)
    {
        BijectorCase c = BijectorCases.Get(name);
        IBijector<double> bijector = c.Create(Seed);
        double[,] x = BijectorCases.DataInputs(c, bijector.Dimension, rows: 32, seed: 67);
        AssertRecordingDoesNotChangeValues(bijector, x, inverse: true, name);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void EmptyBatch_GivesEmptyOutputsInBothDirections(string name)
    {
        IBijector<double> bijector = BijectorCases.Create(name, Seed);
        var empty = new double[0, bijector.Dimension];

        (double[,] x, double[] forwardLogDet) = bijector.Forward(empty);
        (double[,] z, double[] inverseLogDet) = bijector.Inverse(empty);

        Assert.Equal((0, bijector.Dimension), (x.GetLength(0), x.GetLength(1)));
        Assert.Equal((0, bijector.Dimension), (z.GetLength(0), z.GetLength(1)));
        Assert.Empty(forwardLogDet);
        Assert.Empty(inverseLogDet);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Forward_IsFiniteOnExtremeInputs(string name)
    {
        BijectorCase c = BijectorCases.Get(name);
        IBijector<double> bijector = c.Create(Seed);
        (double[,] x, double[] logDet) = bijector.Forward(BijectorCases.BaseInputs(c, bijector.Dimension, rows: 8, seed: 71));
        AssertClose.Finite(x, $"{name} output");
        AssertClose.Finite(logDet, $"{name} log-det");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Inverse_IsFiniteOnExtremeInputs(string name)
    {
        BijectorCase c = BijectorCases.Get(name);
        IBijector<double> bijector = c.Create(Seed);
        (double[,] z, double[] logDet) = bijector.Inverse(BijectorCases.DataInputs(c, bijector.Dimension, rows: 8, seed: 73));
        AssertClose.Finite(z, $"{name} output");
        AssertClose.Finite(logDet, $"{name} log-det");
    }

    [Theory]
    [MemberData(nameof(ParametricNames))]
    public void ParameterGradients_AreFiniteOnExtremeInputs(string name)
    {
        BijectorCase c = BijectorCases.Get(name);
        IBijector<double> bijector = c.Create(Seed);
        double[,] z = BijectorCases.BaseInputs(c, bijector.Dimension, rows: 4, seed: 79);
        double[,] x = BijectorCases.DataInputs(c, bijector.Dimension, rows: 4, seed: 83);
        var tape = new Tape<double>();
        (Node<double> forward, Node<double> forwardLogDet) = bijector.Forward(tape, Constant(tape, z));
        (Node<double> inverse, Node<double> inverseLogDet) = bijector.Inverse(tape, Constant(tape, x));
        Node<double> loss = tape.Add(
            tape.Add(tape.Sum(forward), tape.Sum(forwardLogDet)),
            tape.Add(tape.Sum(inverse), tape.Sum(inverseLogDet)));
        ZeroGradients(bijector);
        tape.Backward(loss);

        foreach (Parameter<double> parameter in bijector.Parameters)
        {
            AssertClose.Finite(parameter.Gradients, $"{name}, ∂/∂{parameter.Name}");
        }
    }

    [Theory]
    [MemberData(nameof(RestrictedRangeNames))]
    public void Inverse_OutsideTheRange_GivesLogDetMinusInfinity(string name)
    {
        BijectorCase c = BijectorCases.Get(name);
        IBijector<double> bijector = c.Create(Seed);
        double[,] x = OutOfRangeBatch(c, bijector.Dimension);

        double[] logDet = bijector.Inverse(x).LogDet;

        Assert.True(double.IsFinite(logDet[0]), $"{name}: the in-range row has log-det {logDet[0]}");
        for (int i = 1; i < logDet.Length; i++)
        {
            Assert.True(double.IsNegativeInfinity(logDet[i]), $"{name}: row {i} ({string.Join(", ", TestData.Row(x, i))}) has log-det {logDet[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(RestrictedRangeNames))]
    public void DensityLn_OutsideTheRange_IsMinusInfinityNeverNaN(string name)
    {
        BijectorCase c = BijectorCases.Get(name);
        IBijector<double> bijector = c.Create(Seed);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(bijector.Dimension), bijector);
        double[,] x = OutOfRangeBatch(c, bijector.Dimension);
        if (bijector is ColumnSupports<double>)
        {
            // Next to the data, per-column supports refuse such rows by name rather than give them density 0.
            ArgumentException e = Assert.Throws<ArgumentException>("x", () => flow.DensityLn(x));
            Assert.Contains("x[1, 0]", e.Message, StringComparison.Ordinal);
            return;
        }

        double[] logDensity = flow.DensityLn(x);

        Assert.True(double.IsFinite(logDensity[0]), $"{name}: the in-range row has log-density {logDensity[0]}");
        for (int i = 1; i < logDensity.Length; i++)
        {
            Assert.True(double.IsNegativeInfinity(logDensity[i]), $"{name}: row {i} has log-density {logDensity[i]}");
        }
    }

    [Fact]
    public void ParameterGradients_AreFiniteForBatchesMixingOutOfRangeRows()
    {
        const string name = "Chain(SinhArcsinh, Affine, Sigmoid)(d=2)";
        BijectorCase c = BijectorCases.Get(name);
        IBijector<double> bijector = c.Create(Seed);
        double[,] x = OutOfRangeBatch(c, bijector.Dimension);
        var tape = new Tape<double>();

        (Node<double> z, Node<double> logDet) = bijector.Inverse(tape, Constant(tape, x));
        Node<double> loss = tape.Add(tape.Sum(z), tape.Sum(tape.StandardNormalLogDensity(z)));
        ZeroGradients(bijector);
        tape.Backward(loss);

        Assert.True(double.IsNegativeInfinity(logDet.Values[1]), "precondition: row 1 is out of range");
        foreach (Parameter<double> parameter in bijector.Parameters)
        {
            AssertClose.Finite(parameter.Gradients, $"∂/∂{parameter.Name}");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Forward_ThrowsForWrongWidth_NamingTheShapes(string name)
    {
        IBijector<double> bijector = BijectorCases.Create(name, Seed);
        int d = bijector.Dimension;

        var exception = Assert.Throws<ArgumentException>("z", () => bijector.Forward(new double[2, d + 1]));

        Assert.Contains($"{d + 1} columns", exception.Message, StringComparison.Ordinal);
        Assert.Contains($"Dimension {d}", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Inverse_ThrowsForWrongWidth_NamingTheShapes(string name)
    {
        IBijector<double> bijector = BijectorCases.Create(name, Seed);
        int d = bijector.Dimension;

        var exception = Assert.Throws<ArgumentException>("x", () => bijector.Inverse(new double[2, d + 1]));

        Assert.Contains($"{d + 1} columns", exception.Message, StringComparison.Ordinal);
        Assert.Contains($"Dimension {d}", exception.Message, StringComparison.Ordinal);
    }

    private static Node<double> Constant(Tape<double> tape, double[,] values)
        => tape.Constant(TestData.Flatten(values), values.GetLength(0), values.GetLength(1));

    private static void ZeroGradients(IBijector<double> bijector)
    {
        foreach (Parameter<double> parameter in bijector.Parameters)
        {
            parameter.ZeroGradients();
        }
    }

    // |fldj + ildj| within the fixed tolerance plus, where that is exceeded, the rounding error the second log-det
    // suffers from its input (see Conditioning: a flattened spline at an extreme input amplifies it a millionfold).
    private static void AssertNegatives(double[] a, double[] b, string because, Func<double[]>? roundingError = null)
    {
        Assert.Equal(a.Length, b.Length);
        double[]? slack = null;
        for (int i = 0; i < a.Length; i++)
        {
            double tolerance = Tolerance.LogDetNegatives * Math.Max(1, Math.Abs(a[i]));
            if (Math.Abs(a[i] + b[i]) > tolerance && roundingError is not null)
            {
                slack ??= roundingError();
                tolerance += Math.Min(slack[i], Conditioning.MaximumFactor * tolerance);
            }

            Assert.True(Math.Abs(a[i] + b[i]) <= tolerance, $"{because}: row {i}: {a[i]:R} + {b[i]:R} = {a[i] + b[i]:G3}, tolerance {tolerance:G3}");
        }
    }

    // |back − start| ≤ RoundTrip·(1 + |start|), plus, where that is exceeded, the rounding error the second map suffers
    // from its input alone (see Conditioning).
    private static void AssertRoundTrip(double[,] start, double[,] back, Func<double[,]> roundingError, string because)
    {
        double[,]? slack = null;
        for (int i = 0; i < start.GetLength(0); i++)
        {
            for (int j = 0; j < start.GetLength(1); j++)
            {
                double difference = Math.Abs(back[i, j] - start[i, j]);
                double tolerance = Tolerance.RoundTrip * (1 + Math.Abs(start[i, j]));
                if (!(difference <= tolerance))
                {
                    slack ??= roundingError();
                    tolerance += Math.Min(slack[i, j], Conditioning.MaximumFactor * tolerance);
                }

                Assert.True(difference <= tolerance,
                    $"{because}: at [{i}, {j}] expected {start[i, j]:R}, got {back[i, j]:R} (difference {back[i, j] - start[i, j]:G3}, tolerance {tolerance:G3})");
            }
        }
    }

    private static (double[] Output, double LogDet) RunRow(IBijector<double> bijector, double[] row, bool inverse)
    {
        double[,] input = TestData.AsRow(row);
        (double[,] output, double[] logDet) = inverse ? bijector.Inverse(input) : bijector.Forward(input);
        return (TestData.Row(output, 0), logDet[0]);
    }

    private static void AssertLogDetMatchesFiniteDifferences(IBijector<double> bijector, double[,] inputs, bool inverse, string name)
    {
        for (int i = 0; i < inputs.GetLength(0); i++)
        {
            double[] row = TestData.Row(inputs, i);
            double expected = FiniteDifference.LogAbsDetJacobian(r => RunRow(bijector, r, inverse).Output, row, Tolerance.FiniteDifferenceJacobianStep);
            double actual = RunRow(bijector, row, inverse).LogDet;
            Assert.True(Math.Abs(actual - expected) <= Tolerance.FiniteDifferenceLogDet,
                $"{name} {(inverse ? "inverse" : "forward")} at ({string.Join(", ", row)}): log-det {actual:R}, finite differences {expected:R}");
        }
    }

    private static void AssertLogDetMatchesAutodiff(IBijector<double> bijector, double[,] inputs, bool inverse, string name)
    {
        int d = bijector.Dimension;
        var input = new Parameter<double>("input", 1, d);
        var tape = new Tape<double>();
        for (int row = 0; row < inputs.GetLength(0); row++)
        {
            TestData.Row(inputs, row).CopyTo(input.Values, 0);
            var jacobian = new double[d, d];
            double logDet = double.NaN;
            for (int i = 0; i < d; i++)
            {
                tape.Reset();
                input.ZeroGradients();
                (Node<double> output, Node<double> ld) = inverse ? bijector.Inverse(tape, tape.Use(input)) : bijector.Forward(tape, tape.Use(input));
                var mask = new double[d];
                mask[i] = 1;
                tape.Backward(tape.Sum(tape.Multiply(output, tape.Constant(mask, 1, d))));
                for (int j = 0; j < d; j++)
                {
                    jacobian[i, j] = input.Gradients[j];
                }

                logDet = ld.Values[0];
            }

            double expected = FiniteDifference.LogAbsDeterminant(jacobian);
            double tolerance = Tolerance.AutodiffLogDet * Math.Max(1, Math.Abs(logDet));
            Assert.True(Math.Abs(logDet - expected) <= tolerance,
                $"{name} {(inverse ? "inverse" : "forward")} at row {row} ({string.Join(", ", input.Values)}): log-det {logDet:R}, AD Jacobian {expected:R}");
        }
    }

    // The loss Σ W ⊙ output + Σ v ⊙ logDet with fixed random weights, so that every output and log-det entry matters.
    private static void AssertParameterGradients(IBijector<double> bijector, double[,] inputs, bool inverse, string name)
    {
        int n = inputs.GetLength(0);
        int d = inputs.GetLength(1);
        double[] w = TestData.StandardNormal(n * d, seed: 89);
        double[] v = TestData.StandardNormal(n, seed: 97);

        var tape = new Tape<double>();
        Node<double> input = Constant(tape, inputs);
        (Node<double> output, Node<double> logDet) = inverse ? bijector.Inverse(tape, input) : bijector.Forward(tape, input);
        Node<double> loss = tape.Add(
            tape.Sum(tape.Multiply(output, tape.Constant(w, n, d))),
            tape.Sum(tape.Multiply(logDet, tape.Constant(v, n, 1))));
        ZeroGradients(bijector);
        tape.Backward(loss);

        double Loss()
        {
            (double[,] o, double[] ld) = inverse ? bijector.Inverse(inputs) : bijector.Forward(inputs);
            double[] flat = TestData.Flatten(o);
            double sum = 0;
            for (int k = 0; k < flat.Length; k++)
            {
                sum += w[k] * flat[k];
            }

            for (int i = 0; i < n; i++)
            {
                sum += v[i] * ld[i];
            }

            return sum;
        }

        foreach (Parameter<double> parameter in bijector.Parameters)
        {
            double[] expected = FiniteDifference.Gradient(Loss, parameter.Values, Tolerance.FiniteDifferenceGradientStep);
            AssertClose.All(expected, parameter.Gradients, Tolerance.Gradient, $"{name} {(inverse ? "inverse" : "forward")}, ∂/∂{parameter.Name}");
        }
    }

    private static void AssertRowsIndependent(IBijector<double> bijector, double[,] inputs, bool inverse, string name)
    {
        (double[,] batched, double[] batchedLogDet) = inverse ? bijector.Inverse(inputs) : bijector.Forward(inputs);
        for (int i = 0; i < inputs.GetLength(0); i++)
        {
            (double[] row, double logDet) = RunRow(bijector, TestData.Row(inputs, i), inverse);
            AssertClose.All(row, TestData.Row(batched, i), Tolerance.BatchEquivalence, $"{name} row {i}");
            AssertClose.Relative(logDet, batchedLogDet[i], Tolerance.BatchEquivalence, $"{name} log-det of row {i}");
        }
    }

    private static void AssertRecordingDoesNotChangeValues(IBijector<double> bijector, double[,] inputs, bool inverse, string name)
    {
        (double[,] expected, double[] expectedLogDet) = inverse ? bijector.Inverse(inputs) : bijector.Forward(inputs);

        // The input is a parameter so that every operation records, including those of parameter-free bijectors.
        var input = new Parameter<double>("input", inputs.GetLength(0), inputs.GetLength(1));
        TestData.Flatten(inputs).CopyTo(input.Values, 0);
        var tape = new Tape<double>(isRecording: true);
        (Node<double> output, Node<double> logDet) = inverse ? bijector.Inverse(tape, tape.Use(input)) : bijector.Forward(tape, tape.Use(input));

        Assert.True(tape.EntryCount > 0, "precondition: the tape recorded");
        AssertClose.Bitwise(TestData.Flatten(expected), output.Values, name);
        AssertClose.Bitwise(expectedLogDet, logDet.Values, $"{name} log-det");
    }

    // Row 0 lies inside the range; each later row has exactly one element outside it.
    private static double[,] OutOfRangeBatch(BijectorCase c, int d)
    {
        (double inside, double[] outside) = c.Range switch
        {
            OutputRange.Positive => (1.0, new[] { 0.0, -1e-300, -1, -1e300 }),
            OutputRange.UnitInterval => (0.5, new[] { 0.0, 1, -0.5, 1.5, 1e300, -1e-300 }),
            OutputRange.SymmetricUnitInterval => (0.0, new[] { 1.0, -1, 2, -1e300 }),
            _ => throw new ArgumentException("Only restricted ranges have an outside.", nameof(c)),
        };
        var x = new double[1 + outside.Length, d];
        for (int i = 0; i < x.GetLength(0); i++)
        {
            for (int j = 0; j < d; j++)
            {
                x[i, j] = inside;
            }
        }

        for (int i = 0; i < outside.Length; i++)
        {
            x[1 + i, i % d] = outside[i];
        }

        return x;
    }

    [Fact]
    public void EveryBijectorAndTransformType_HasAPropertyCase()
    {
        HashSet<Type> covered = [.. BijectorCases.Names.SelectMany(n => FamilyCases.Components(BijectorCases.Create(n, Seed))).Select(c => c.GetType())];
        string[] missing = [.. SavedForms<double, IBijector<double>>.Types.Concat(SavedForms<double, IConditionalTransform<double>>.Types)
            .Concat(SavedForms<double, IContextEmbedding<double>>.Types)
            .Where(t => !covered.Contains(t)).Select(t => t.Name)];
        Assert.True(missing.Length == 0, $"Types with no case in the property suite (add them to their family's IFamilyCases): {string.Join(", ", missing)}");
    }
}
