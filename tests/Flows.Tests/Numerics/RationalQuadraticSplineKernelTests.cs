using System.Numerics;
using System.Runtime.InteropServices;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Numerics;
using Flows.Tests.Testing;
using Xunit.Sdk;

namespace Flows.Tests.Numerics;

/// <summary>
/// The vectorized spline op against the element-by-element scalar reference, on batches that mix in-range and tail
/// elements: values, log-dets and every gradient, both directions, float and double, with feature counts that fill
/// whole vectors, leave a padded remainder, or fit in less than one vector.
/// </summary>
public sealed class RationalQuadraticSplineKernelTests
{
    private const double Bound = 3.0;
    private const int Rows = 37;

    // Every case at 256 bits, and at 512 bits (VectorWidth.Force; software where the hardware lacks AVX-512) where that
    // runs other code: rows that fill a 512-bit vector (8 doubles, 16 floats) and, without recording, one feature per
    // row (rows across the lanes). Narrower rows run the 256-bit path at either setting.
    public static TheoryData<int, int, bool, bool, int> DoubleCases() => Cases(wideFrom: 8, acrossRows: false);

    public static TheoryData<int, int, bool, bool, int> FloatCases() => Cases(wideFrom: 16, acrossRows: false);

    public static TheoryData<int, int, bool, bool, int> UnrecordedCases() => Cases(wideFrom: 8, acrossRows: true);

    private static TheoryData<int, int, bool, bool, int> Cases(int wideFrom, bool acrossRows)
    {
        var cases = new TheoryData<int, int, bool, bool, int>();
        foreach (int features in new[] { 1, 3, 4, 8, 11, 16, 19 })
        {
            foreach (int binCount in new[] { 1, 2, 8 })
            {
                foreach (bool inverse in new[] { false, true })
                {
                    foreach (bool perRowParameters in new[] { false, true })
                    {
                        cases.Add(features, binCount, inverse, perRowParameters, 256);
                        if (features >= wideFrom || (acrossRows && features == 1))
                        {
                            cases.Add(features, binCount, inverse, perRowParameters, 512);
                        }
                    }
                }
            }
        }

        return cases;
    }

    [Fact]
    public void WideLanes_RunWhereARowFillsA512BitVector()
    {
        using (VectorWidth.Force(512))
        {
            Assert.True(Flows.Numerics.RationalQuadraticSpline.UsesWideLanes<double>(8));
            Assert.False(Flows.Numerics.RationalQuadraticSpline.UsesWideLanes<double>(7));
            Assert.True(Flows.Numerics.RationalQuadraticSpline.UsesWideLanes<float>(16));
            Assert.False(Flows.Numerics.RationalQuadraticSpline.UsesWideLanes<float>(8));
        }

        using (VectorWidth.Force(256))
        {
            Assert.False(Flows.Numerics.RationalQuadraticSpline.UsesWideLanes<double>(64));
        }
    }

    // The backward pass reads the saved lanes at the width that wrote them (the tape flag), not at the width of the
    // thread that runs it: forward at one width and backward at the other give the one-width gradients bit for bit.
    [Theory]
    [InlineData(512, 256)]
    [InlineData(256, 512)]
    public void Backward_ReadsTheSavedLanesAtTheForwardWidth(int forwardBits, int backwardBits)
    {
        double[] Gradients(int forward, int backward)
        {
            const int features = 11;
            const int binCount = 6;
            var x = new Parameter<double>("x", Rows, features);
            var theta = new Parameter<double>("p", Rows, ((3 * binCount) - 1) * features);
            var reference = new Random(17);
            for (int i = 0; i < x.Values.Length; i++)
            {
                x.Values[i] = 2.5 * Bound * (reference.NextDouble() - 0.5);
            }

            for (int i = 0; i < theta.Values.Length; i++)
            {
                theta.Values[i] = 4 * (reference.NextDouble() - 0.5);
            }

            var tape = new Tape<double>();
            Node<double> loss;
            using (VectorWidth.Force(forward))
            {
                var (output, logDet) = tape.RationalQuadraticSpline(tape.Use(x), tape.Use(theta), binCount, Bound, 1e-3, 1e-3, 1e-3, inverse: true);
                loss = tape.Add(tape.Sum(tape.Multiply(output, output)), tape.Sum(logDet));
            }

            using (VectorWidth.Force(backward))
            {
                tape.Backward(loss);
            }

            return [.. x.Gradients, .. theta.Gradients];
        }

        Assert.Equal(Gradients(forwardBits, forwardBits), Gradients(forwardBits, backwardBits));
    }

    [Theory]
    [MemberData(nameof(DoubleCases))]
    public void Double_MatchesTheScalarReference(int features, int binCount, bool inverse, bool perRowParameters, int bits)
    {
        using VectorWidth.Scope width = VectorWidth.Force(bits);
        Compare<double>(features, binCount, inverse, perRowParameters, tolerance: 1e-12);
    }

    // Float gradients of the inverse are ill-conditioned in steep bins (dx/dy ≈ 15 gave 1e-3 relative differences from
    // the double truth, and float reruns of the scalar code err as much), hence the looser float tolerance.
    [Theory]
    [MemberData(nameof(FloatCases))]
    public void Float_MatchesTheScalarReference(int features, int binCount, bool inverse, bool perRowParameters, int bits)
    {
        using VectorWidth.Scope width = VectorWidth.Force(bits);
        Compare<float>(features, binCount, inverse, perRowParameters, tolerance: 2e-3);
    }

    // A lane computes the same operations at either width: the two widths give every output and gradient the same bits
    // (only a row's log-det, a sum over lanes, may round differently), so no test of one width can hide an error of the other.
    [Theory]
    [InlineData(8, false)]
    [InlineData(8, true)]
    [InlineData(19, true)]
    public void BothWidths_GiveTheSameOutputsAndGradients(int features, bool inverse)
    {
        (double[] Output, double[] LogDet, double[] InputGradient, double[] ParameterGradient) Run(int bits)
        {
            using VectorWidth.Scope width = VectorWidth.Force(bits);
            const int binCount = 5;
            int perFeature = (3 * binCount) - 1;
            var random = new Random(Seeds.Of(features, inverse));
            var x = new Parameter<double>("x", Rows, features);
            var theta = new Parameter<double>("p", Rows, perFeature * features);
            for (int i = 0; i < x.Values.Length; i++)
            {
                x.Values[i] = 2.5 * Bound * (random.NextDouble() - 0.5);
            }

            for (int i = 0; i < theta.Values.Length; i++)
            {
                theta.Values[i] = 4 * (random.NextDouble() - 0.5);
            }

            var tape = new Tape<double>();
            var (output, logDet) = tape.RationalQuadraticSpline(tape.Use(x), tape.Use(theta), binCount, Bound, 1e-3, 1e-3, 1e-3, inverse);
            tape.Backward(tape.Add(tape.Sum(tape.Multiply(output, output)), tape.Sum(logDet)));
            return (output.Values.ToArray(), logDet.Values.ToArray(), x.Gradients.ToArray(), theta.Gradients.ToArray());
        }

        var narrow = Run(256);
        var wide = Run(512);
        Assert.Equal(narrow.Output, wide.Output);
        Assert.Equal(narrow.InputGradient, wide.InputGradient);
        Assert.Equal(narrow.ParameterGradient, wide.ParameterGradient);
        for (int i = 0; i < Rows; i++)
        {
            Assert.Equal(narrow.LogDet[i], wide.LogDet[i], 1e-12 * (1 + Math.Abs(narrow.LogDet[i])));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TailElements_StayTheIdentityWithZeroParameterGradient_EvenBesideNaNParameters(bool inverse)
    {
        // Row 0: features 0 and 2 in range, 1 and 3 in the tails; the tail features' parameters are NaN.
        const int features = 4;
        const int binCount = 3;
        int perFeature = (3 * binCount) - 1;
        var input = new Parameter<double>("x", 1, features);
        double[] x = [0.5, Bound + 1, -1.25, double.NegativeInfinity];
        x.CopyTo(input.Values, 0);
        var parameters = new Parameter<double>("p", 1, perFeature * features);
        for (int p = 0; p < perFeature; p++)
        {
            parameters.Values[(p * features) + 0] = 0.3 * (p - 3);
            parameters.Values[(p * features) + 1] = double.NaN;
            parameters.Values[(p * features) + 2] = -0.2 * (p - 4);
            parameters.Values[(p * features) + 3] = double.NaN;
        }

        var tape = new Tape<double>();
        var (output, logDet) = tape.RationalQuadraticSpline(tape.Use(input), tape.Use(parameters), binCount, Bound, 1e-3, 1e-3, 1e-3, inverse);
        tape.Backward(tape.Add(tape.Sum(output), tape.Sum(logDet)));

        Assert.Equal(x[1], output.Values[1]);
        Assert.Equal(x[3], output.Values[3]);
        Assert.True(double.IsFinite(logDet.Values[0]) && double.IsFinite(output.Values[0]) && double.IsFinite(output.Values[2]));
        Assert.Equal(1.0, input.Gradients[1]);
        Assert.Equal(1.0, input.Gradients[3]);
        for (int p = 0; p < perFeature; p++)
        {
            Assert.Equal(0.0, parameters.Gradients[(p * features) + 1]);
            Assert.Equal(0.0, parameters.Gradients[(p * features) + 3]);
            Assert.True(double.IsFinite(parameters.Gradients[(p * features) + 0]) && double.IsFinite(parameters.Gradients[(p * features) + 2]));
        }
    }

    // Without recording, one feature per row runs rows side by side in the lanes (a sequential MADE pass), and nothing
    // is saved; the values and log-dets must keep the recording path's bits, tails and a ragged last vector included.
    [Theory]
    [MemberData(nameof(UnrecordedCases))]
    public void WithoutRecording_GivesTheRecordingPathsBits(int features, int binCount, bool inverse, bool perRowParameters, int bits)
    {
        using VectorWidth.Scope width = VectorWidth.Force(bits);
        RecordingOffMatchesRecordingOn<double>(features, binCount, inverse, perRowParameters);
        RecordingOffMatchesRecordingOn<float>(features, binCount, inverse, perRowParameters);
    }

    private static void RecordingOffMatchesRecordingOn<T>(int features, int binCount, bool inverse, bool perRowParameters)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int perFeature = (3 * binCount) - 1;
        var random = new Random(Seeds.Of(features, binCount, inverse, perRowParameters));
        T[] input = [.. Enumerable.Range(0, Rows * features).Select(i => T.CreateTruncating(i % 7 == 0 ? 1.5 * Bound : 2 * Bound * (random.NextDouble() - 0.5)))];
        T[] parameters = [.. Enumerable.Range(0, (perRowParameters ? Rows : 1) * perFeature * features).Select(_ => T.CreateTruncating(6 * (random.NextDouble() - 0.5)))];
        var x = new Parameter<T>("x", Rows, features);
        input.CopyTo(x.Values, 0);
        var theta = new Parameter<T>("p", perRowParameters ? Rows : 1, perFeature * features);
        parameters.CopyTo(theta.Values, 0);

        var recording = new Tape<T>();
        var (expectedOutput, expectedLogDet) = recording.RationalQuadraticSpline(recording.Use(x), recording.Use(theta), binCount, Bound, 1e-3, 1e-3, 1e-3, inverse);
        Assert.True(recording.EntryCount > 0);
        var evaluating = new Tape<T>(isRecording: false);
        var (output, logDet) = evaluating.RationalQuadraticSpline(evaluating.Constant(input, Rows, features), evaluating.Constant(parameters, theta.Rows, theta.Columns),
            binCount, Bound, 1e-3, 1e-3, 1e-3, inverse);

        Assert.Equal(MemoryMarshal.AsBytes(expectedOutput.Values).ToArray(), MemoryMarshal.AsBytes(output.Values).ToArray());
        Assert.Equal(MemoryMarshal.AsBytes(expectedLogDet.Values).ToArray(), MemoryMarshal.AsBytes(logDet.Values).ToArray());
    }

    private static void Compare<T>(int features, int binCount, bool inverse, bool perRowParameters, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int perFeature = (3 * binCount) - 1;
        int parameterRows = perRowParameters ? Rows : 1;
        var random = new Random((features * 1000) + (binCount * 10) + (inverse ? 1 : 0) + (perRowParameters ? 2 : 0));

        // One element in five lies in a tail (some of them far out); parameters reach well beyond the unit scale.
        T[] input = [.. Enumerable.Range(0, Rows * features).Select(i => T.CreateTruncating(
            random.Next(5) == 0 ? (random.Next(2) == 0 ? -1 : 1) * (Bound + (random.NextDouble() * (i % 3 == 0 ? 1e4 : 2))) : 2 * Bound * (random.NextDouble() - 0.5)))];
        T[] parameters = [.. Enumerable.Range(0, parameterRows * perFeature * features).Select(_ => T.CreateTruncating(6 * (random.NextDouble() - 0.5)))];
        T[] g = [.. Enumerable.Range(0, Rows * features).Select(_ => T.CreateTruncating(random.NextDouble() - 0.5))];
        T[] gLogDet = [.. Enumerable.Range(0, Rows).Select(_ => T.CreateTruncating(random.NextDouble() - 0.5))];

        var inputParameter = new Parameter<T>("x", Rows, features);
        input.CopyTo(inputParameter.Values, 0);
        var splineParameter = new Parameter<T>("p", parameterRows, perFeature * features);
        parameters.CopyTo(splineParameter.Values, 0);
        var tape = new Tape<T>();
        var (output, logDet) = tape.RationalQuadraticSpline(tape.Use(inputParameter), tape.Use(splineParameter), binCount, Bound, 1e-3, 1e-3, 1e-3, inverse);
        Node<T> loss = tape.Add(
            tape.Sum(tape.Multiply(output, tape.Constant(g, Rows, features))),
            tape.Sum(tape.Multiply(logDet, tape.Constant(gLogDet, Rows, 1))));
        tape.Backward(loss);

        // The reference runs in double on the same inputs, with the parameters tiled per row so that a shared parameter's
        // gradient (a sum over rows) can be judged against the sum of the magnitudes of its terms. In float the kernel
        // may also err as much as the scalar float code does (the inverse's gradients are ill-conditioned near flat bins).
        double[] inputDouble = ToDouble(input);
        double[] tiled = ToDouble(perRowParameters ? parameters : [.. Enumerable.Range(0, Rows).SelectMany(_ => parameters)]);
        var settings = new SplineSettings<double>(binCount, Bound, 1e-3, 1e-3, 1e-3);
        var (expectedOutput, expectedLogDet) = ScalarRationalQuadraticSpline.Evaluate(inputDouble, tiled, Rows, features, settings, inverse);
        var (expectedInputGradient, rowParameterGradient) = ScalarRationalQuadraticSpline.Gradients(inputDouble, tiled, Rows, features, settings, inverse, ToDouble(g), ToDouble(gLogDet));
        double[] parameterScale = Fold(rowParameterGradient, parameterRows, Math.Abs);
        double[] expectedParameterGradient = Fold(rowParameterGradient, parameterRows, v => v);

        var sameType = new SplineSettings<T>(binCount, Bound, 1e-3, 1e-3, 1e-3);
        var (scalarOutput, scalarLogDet) = ScalarRationalQuadraticSpline.Evaluate(input, parameters, Rows, features, sameType, inverse);
        var (scalarInputGradient, scalarParameterGradient) = ScalarRationalQuadraticSpline.Gradients(input, parameters, Rows, features, sameType, inverse, g, gLogDet);

        string because = $"{typeof(T).Name}, d = {features}, K = {binCount}, {(inverse ? "inverse" : "forward")}, {(perRowParameters ? "per-row" : "shared")} parameters";
        bool[] tail = [.. input.Select(v => double.Abs(double.CreateTruncating(v)) > Bound)];
        bool[] untouchedParameter = perRowParameters
            ? [.. Enumerable.Range(0, parameters.Length).Select(i => tail[((i / (perFeature * features)) * features) + (i % features)])]
            : new bool[parameters.Length];
        AssertMatches(expectedOutput, expectedOutput, ToDouble(scalarOutput), ToDouble(output.Values), tail, tolerance, $"output ({because})");
        AssertMatches(expectedLogDet, expectedLogDet, ToDouble(scalarLogDet), ToDouble(logDet.Values), new bool[Rows], tolerance, $"log-det ({because})");
        AssertMatches(expectedInputGradient, expectedInputGradient, ToDouble(scalarInputGradient), ToDouble(inputParameter.Gradients), tail, tolerance, $"input gradient ({because})");
        AssertMatches(expectedParameterGradient, parameterScale, ToDouble(scalarParameterGradient), ToDouble(splineParameter.Gradients), untouchedParameter, tolerance, $"parameter gradient ({because})");
    }

    // Identity-tail outputs and gradients, and the zero parameter gradients of tail elements, must match exactly; the rest
    // within tolerance·(1 + scale), or within four times the scalar code's own error in the same element type.
    private static void AssertMatches(double[] expected, double[] scale, double[] scalar, double[] actual, bool[] exactAt, double tolerance, string because)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i];
            double a = actual[i];
            double allowed = Math.Max(tolerance * (1 + Math.Abs(scale[i])), 4 * Math.Abs(scalar[i] - e));
            if (exactAt[i] ? a != e : !(Math.Abs(a - e) <= allowed))
            {
                throw new XunitException($"{because}: at [{i}] expected {e:R}, got {a:R} (difference {a - e:G3}, allowed {allowed:G3}).");
            }
        }
    }

    // Sums rows of per-row values (after f) down to the given number of rows (1: a shared row).
    private static double[] Fold(double[] perRow, int rows, Func<double, double> f)
    {
        int length = perRow.Length / Rows * rows;
        var result = new double[length];
        for (int i = 0; i < perRow.Length; i++)
        {
            result[i % length] += f(perRow[i]);
        }

        return result;
    }

    private static double[] ToDouble<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            result[i] = double.CreateTruncating(values[i]);
        }

        return result;
    }
}
