using System.Numerics;
using System.Runtime.InteropServices;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Numerics;
using Flows.Persistence;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

/// <summary>
/// <see cref="IConditionalTransform{T}.ForwardColumn"/> and <see cref="IConditionalTransform{T}.SumLogDerivatives"/>: a
/// batch transformed one column at a time (as the sequential pass of a MAF does) gets the bits of the whole-row outputs,
/// and its log-derivatives summed by the transform the bits of the whole-row forward log-det, for
/// every transform, at every vector width, in float and double, below, at and beyond one 512-bit vector of features.
/// </summary>
public sealed class ConditionalTransformTests
{
    private const int BinCount = 5;
    private const double TailBound = 3;

    private static readonly int[] s_features = [1, 3, 4, 8, 9, 16, 19, 37];

    private static readonly string[] s_names = ["affine", "spline", "circular", "circular mixed", "sum of squares", "Bernstein", "integral", "deep sigmoidal"];

    public static TheoryData<string> Names => [.. s_names];

    [Fact]
    public void Names_CoverEveryConditionalTransform()
    {
        HashSet<Type> covered = [.. s_names.Select(name => Create<double>(name, 2).GetType())];
        string[] missing = [.. SavedForms<double, IConditionalTransform<double>>.Types.Where(t => !covered.Contains(t)).Select(t => t.Name)];
        Assert.True(missing.Length == 0, $"Conditional transforms with no case here: {string.Join(", ", missing)}");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void SumLogDerivatives_OfSingleColumns_GivesTheBitsOfTheWholeRows(string name)
    {
        foreach (int bits in new[] { 128, 256, 512 })
        {
            using VectorWidth.Scope width = VectorWidth.Force(bits);
            foreach (int d in s_features)
            {
                Check<double>(name, d, bits);
                Check<float>(name, d, bits);
            }
        }
    }

    private static void Check<T>(string name, int d, int bits) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int rows = 6;
        IConditionalTransform<T> transform = Create<T>(name, d);
        int p = transform.ParametersPerFeature;
        var random = new Random(17 + d);
        // Inputs on both tails of [−B, B] too, angles in [−π, π]; parameters of order 1.
        T[] z = [.. Enumerable.Range(0, rows * d).Select(_ => T.CreateTruncating(4 * ((2 * random.NextDouble()) - 1)))];
        if (transform is CircularSplineTransform<T> circular)
        {
            for (int e = 0; e < z.Length; e++)
            {
                z[e] = circular.Angles[e % d] ? T.CreateTruncating(Math.PI * ((2 * random.NextDouble()) - 1)) : z[e];
            }
        }

        T[] parameters = [.. Enumerable.Range(0, rows * p * d).Select(_ => T.CreateTruncating(TestData.NextNormal(random)))];
        var tape = new Tape<T>(isRecording: false);
        (Node<T> wholeOutput, Node<T> wholeLogDet) = transform.Forward(tape, tape.Constant(z, rows, d), tape.Constant(parameters, rows, p * d));
        T[] whole = wholeLogDet.Values.ToArray();

        // Each column alone through ForwardColumn, with its feature's p parameters: the sequential pass's call.
        var logDerivatives = new T[rows * d];
        var outputs = new T[rows * d];
        for (int j = 0; j < d; j++)
        {
            T[] column = [.. Enumerable.Range(0, rows).Select(i => z[(i * d) + j])];
            T[] columnParameters = [.. Enumerable.Range(0, rows * p).Select(e => parameters[((e / p) * p * d) + ((e % p) * d) + j])];
            (Node<T> output, Node<T> logDerivative) = transform.ForwardColumn(tape, j, tape.Constant(column, rows, 1), tape.Constant(columnParameters, rows, p));
            for (int i = 0; i < rows; i++)
            {
                outputs[(i * d) + j] = output.Values[i];
                logDerivatives[(i * d) + j] = logDerivative.Values[i];
            }
        }

        var summed = new T[rows];
        transform.SumLogDerivatives(logDerivatives, d, summed);

        string label = $"{typeof(T).Name}, {transform}, d = {d}, {bits} bits";
        Assert.All(whole, v => Assert.True(T.IsFinite(v), label));
        Assert.True(MemoryMarshal.AsBytes(wholeOutput.Values).SequenceEqual(MemoryMarshal.AsBytes(outputs.AsSpan())), $"{label}: outputs");
        Assert.True(MemoryMarshal.AsBytes(whole.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(summed.AsSpan())),
            $"{label}: whole rows [{string.Join(", ", whole)}], summed columns [{string.Join(", ", summed)}]");
    }

    // Public doors check their spans: a slice of a longer array must not be read past its end (the spline's kernel loads
    // whole vectors unchecked), and a length that is not whole rows is an error, not values left out.
    [Theory]
    [MemberData(nameof(Names))]
    public void SumLogDerivatives_WithSpansThatAreNotWholeRows_Throws(string name)
    {
        IConditionalTransform<double> transform = Create<double>(name, 4);
        double[] values = new double[16];
        Assert.Equal("logDerivatives", Assert.Throws<ArgumentException>(() => transform.SumLogDerivatives(values.AsSpan(0, 4), 4, new double[3])).ParamName);
        Assert.Equal("logDerivatives", Assert.Throws<ArgumentException>(() => transform.SumLogDerivatives(values.AsSpan(0, 13), 4, new double[3])).ParamName);
        Assert.Equal("features", Assert.Throws<ArgumentOutOfRangeException>(() => transform.SumLogDerivatives(values.AsSpan(0, 0), 0, new double[3])).ParamName);
    }

    [Fact]
    public void CircularSpline_RejectsAFeatureCountOrColumnItWasNotBuiltFor()
    {
        var circular = new CircularSplineTransform<double>([true, false, true], BinCount, TailBound);
        Assert.Equal("features", Assert.Throws<ArgumentOutOfRangeException>(() => circular.SumLogDerivatives(new double[4], 2, new double[2])).ParamName);

        var tape = new Tape<double>(isRecording: false);
        Node<double> z = tape.Constant(new double[2], 2, 1);
        Node<double> parameters = tape.Constant(new double[2 * 3 * BinCount], 2, 3 * BinCount);
        Assert.Equal("column", Assert.Throws<ArgumentOutOfRangeException>(() => circular.ForwardColumn(tape, 3, z, parameters)).ParamName);
        Assert.Equal("column", Assert.Throws<ArgumentOutOfRangeException>(() => circular.ForwardColumn(tape, -1, z, parameters)).ParamName);
        Assert.Equal("z", Assert.Throws<ArgumentException>(() => circular.ForwardColumn(tape, 0, tape.Constant(new double[4], 2, 2), parameters)).ParamName);
        // A real column reads 3K − 1 of the feature's parameters, but takes all 3K, as an angle column does.
        Node<double> short1 = tape.Constant(new double[2 * ((3 * BinCount) - 1)], 2, (3 * BinCount) - 1);
        Assert.Equal("parameters", Assert.Throws<ArgumentException>(() => circular.ForwardColumn(tape, 1, z, short1)).ParamName);
    }

    private static IConditionalTransform<T> Create<T>(string name, int d) where T : unmanaged, IFloatingPointIeee754<T> => name switch
    {
        "affine" => new AffineTransform<T>(),
        "spline" => new RationalQuadraticTransform<T>(BinCount, TailBound),
        "circular" => new CircularSplineTransform<T>([.. Enumerable.Repeat(true, d)], BinCount, TailBound),
        // Angles at every third column, so each kind is summed apart from the other, below and beyond a vector.
        "circular mixed" => new CircularSplineTransform<T>([.. Enumerable.Range(0, d).Select(j => j % 3 == 0)], BinCount, TailBound),
        "sum of squares" => new SumOfSquaresPolynomialTransform<T>(tailBound: TailBound),
        "Bernstein" => new BernsteinTransform<T>(degree: 8, tailBound: TailBound),
        "integral" => new UnconstrainedMonotonicTransform<T>(hiddenCount: 4, intervalCount: 8, tailBound: TailBound),
        "deep sigmoidal" => new DeepSigmoidalTransform<T>(hiddenCount: 4, tailBound: TailBound),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such transform"),
    };
}
