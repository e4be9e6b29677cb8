using System.Numerics;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Onnx;
using Xunit.Abstractions;

namespace Flows.Tests.Onnx;

/// <summary>
/// The exported graphs, run in ONNX Runtime, against Flows on the same inputs: log-densities and base values of the
/// density graph, samples and their log-densities of the sampling graph, in double (to 1e-10) and float (to 1e-4),
/// both relative to max(1, |Flows' value|); a float graph is compared with Flows in double on the same parameters (see
/// <see cref="Compare"/>), and its distance from Flows' own float evaluation is printed beside it.
/// </summary>
public sealed class OnnxExportTests(ITestOutputHelper output)
{
    private const double DoubleTolerance = 1e-10;
    private const double FloatTolerance = 1e-4;
    private const int Rows = 64;

    public static TheoryData<string> Presets => [.. OnnxCases.Presets];

    public static TheoryData<string> BijectorTypes => [.. OnnxCases.BijectorTypes];

    public static TheoryData<string> SamplingOnly => [.. OnnxCases.SamplingOnly];

    [Theory]
    [MemberData(nameof(Presets))]
    [MemberData(nameof(BijectorTypes))]
    public void DensityGraph_MatchesDensityLn_InDouble(string name) => CheckDensity<double>(name, DoubleTolerance);

    [Theory]
    [MemberData(nameof(Presets))]
    [MemberData(nameof(BijectorTypes))]
    public void DensityGraph_MatchesDensityLn_InFloat(string name) => CheckDensity<float>(name, FloatTolerance);

    [Theory]
    [MemberData(nameof(Presets))]
    [MemberData(nameof(BijectorTypes))]
    [MemberData(nameof(SamplingOnly))]
    public void SamplingGraph_MatchesForward_InDouble(string name) => CheckSampling<double>(name, DoubleTolerance);

    [Theory]
    [MemberData(nameof(Presets))]
    [MemberData(nameof(BijectorTypes))]
    [MemberData(nameof(SamplingOnly))]
    public void SamplingGraph_MatchesForward_InFloat(string name) => CheckSampling<float>(name, FloatTolerance);

    private void CheckDensity<T>(string name, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[,] data = OnnxCases.Data<T>(Rows, seed: 21);
        T[,]? context = OnnxCases.IsConditional(name) ? OnnxCases.Normal<T>(Rows, OnnxCases.ContextDimension, seed: 22) : null;
        TransformedDistribution<T> flow = OnnxCases.Create(name, data, context);
        TransformedDistribution<double> reference = DoubleTwin(name, flow, data, context);
        if (OnnxCases.UsesOwnSamples(name))
        {
            data = flow.Sample(Rows, new Random(24), context);
        }

        byte[] model = flow.ToOnnxDensityModel();
        Dictionary<string, T[]> outputs = OnnxRunner.Run<T>(model, context is null ? [("x", data)] : [("x", data), ("context", context)]);

        double[,] x = ToDouble(data);
        double[,]? c = context is null ? null : ToDouble(context);
        string logDensity = Compare($"{name} log p", reference.DensityLn(x, c), [.. flow.DensityLn(data, context).Select(double.CreateTruncating)],
            outputs["log_prob"], tolerance);
        string z = Compare($"{name} z", Flat(reference.Bijector.Inverse(x, c).Output), Flat(flow.Bijector.Inverse(data, context).Output),
            outputs["z"], tolerance);
        output.WriteLine($"{name} {typeof(T).Name} density graph: log p {logDensity}; z {z}; {NodeCount(model)} nodes, {model.Length} bytes");
    }

    private void CheckSampling<T>(string name, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[,] data = OnnxCases.Data<T>(Rows, seed: 21);
        T[,]? context = OnnxCases.IsConditional(name) ? OnnxCases.Normal<T>(Rows, OnnxCases.ContextDimension, seed: 22) : null;
        TransformedDistribution<T> flow = OnnxCases.Create(name, data, context);
        T[,] z = OnnxCases.Normal<T>(Rows, OnnxCases.Dimension, seed: 23);
        byte[] model = flow.ToOnnxSamplingModel();
        var inputs = new List<(string, T[,])> { ("z", z) };
        if (context is not null)
        {
            inputs.Add(("context", context));
        }

        // With a defensive share every third row draws from the Gaussian (u = ε/2 there, 1 − ε/2 elsewhere).
        bool[] fromGaussian = [.. Enumerable.Range(0, Rows).Select(i => flow.DefensiveWeight > 0 && i % 3 == 0)];
        if (flow.DefensiveWeight > 0)
        {
            var u = new T[Rows, 1];
            for (int i = 0; i < Rows; i++)
            {
                u[i, 0] = T.CreateTruncating(fromGaussian[i] ? flow.DefensiveWeight / 2 : 1 - (flow.DefensiveWeight / 2));
            }

            inputs.Add(("u", u));
        }

        Dictionary<string, T[]> outputs = OnnxRunner.Run<T>(model, [.. inputs]);

        (double[] referenceX, double[] referenceLogDensity) = Sampled(DoubleTwin(name, flow, data, context), ToDouble(z), context is null ? null : ToDouble(context), fromGaussian);
        (double[] flowsX, double[] flowsLogDensity) = Sampled(flow, z, context, fromGaussian);
        string samples = Compare($"{name} x", referenceX, flowsX, outputs["x"], tolerance);
        string logDensity = Compare($"{name} log p", referenceLogDensity, flowsLogDensity, outputs["log_prob"], tolerance);
        output.WriteLine($"{name} {typeof(T).Name} sampling graph: x {samples}; log p {logDensity}; {NodeCount(model)} nodes, {model.Length} bytes");
    }

    // x = T(z), and log p(x) by Flows: log p_Z(z) − log|det J_T(z)|, mixed with the defensive Gaussian's density at x
    // when the flow has a defensive share (as DensityLn mixes them), as doubles. Rows marked fromGaussian take the
    // Gaussian's draw G(z) instead, scored by DensityLn.
    private static (double[] X, double[] LogDensity) Sampled<T>(TransformedDistribution<T> flow, T[,] z, T[,]? context, bool[] fromGaussian)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        (T[,] x, T[] forwardLogDet) = flow.Bijector.Forward(z, context);
        var baseLogDensity = new T[z.GetLength(0)];
        flow.BaseDistribution.DensityLn([.. z.Cast<T>()], baseLogDensity);
        double[] logDensity = [.. baseLogDensity.Select((b, i) => double.CreateTruncating(b - forwardLogDet[i]))];
        if (flow.DefensiveWeight > 0)
        {
            T[] gaussian = flow.DefensiveComponent!.DensityLn(x, context);
            double w = flow.DefensiveWeight;
            for (int i = 0; i < logDensity.Length; i++)
            {
                double a = logDensity[i];
                double b = double.CreateTruncating(gaussian[i]);
                double m = Math.Max(a, b);
                logDensity[i] = m + Math.Log(((1 - w) * Math.Exp(a - m)) + (w * Math.Exp(b - m)));
            }

            T[,] gaussianDraws = flow.DefensiveComponent.Bijector.Forward(z, context).Output;
            T[] mixtureAtGaussianDraws = flow.DensityLn(gaussianDraws, context);
            for (int i = 0; i < logDensity.Length; i++)
            {
                if (fromGaussian[i])
                {
                    for (int j = 0; j < x.GetLength(1); j++)
                    {
                        x[i, j] = gaussianDraws[i, j];
                    }

                    logDensity[i] = double.CreateTruncating(mixtureAtGaussianDraws[i]);
                }
            }
        }

        return (Flat(x), logDensity);
    }

    // Each graph value g against the double reference r: |g − r| ≤ max(tolerance · max(1, |r|), |f − r|), f being Flows'
    // own value in the graph's element type. In double f = r, so this is the plain relative tolerance; in float a graph
    // value may also be as far from the reference as Flows' own float value is, where the flow is steep enough that
    // float rounding alone moves the result by more than the tolerance (NeuralSplineFlow(context) sampling: on one row
    // Flows' float log-density is 2.0e-4 from the double value and the graph's 1.1e-4). Returns the largest relative
    // differences from the reference and from Flows in the graph's type, for the log.
    private static string Compare<T>(string what, double[] reference, double[] flows, T[] graph, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.Equal(reference.Length, graph.Length);
        double worst = 0;
        double worstSameType = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double r = reference[i];
            double g = double.CreateTruncating(graph[i]);
            Assert.True(double.IsFinite(r), $"{what}: Flows' value {i} is {r}; the case should give finite values.");
            double scale = Math.Max(1, Math.Abs(r));
            double difference = Math.Abs(g - r);
            double allowed = Math.Max(tolerance * scale, Math.Abs(flows[i] - r));
            Assert.True(difference <= allowed,
                $"{what}[{i}]: the graph gives {g:R}, Flows {r:R} (in {typeof(T).Name}: {flows[i]:R}); |difference| {difference:E3} > allowed {allowed:E3}.");
            worst = Math.Max(worst, difference / scale);
            worstSameType = Math.Max(worstSameType, Math.Abs(g - flows[i]) / scale);
        }

        return typeof(T) == typeof(double) ? $"{worst:E2}" : $"{worst:E2} (against Flows in float {worstSameType:E2})";
    }

    private static int NodeCount(byte[] model) => Flows.Onnx.Schema.ModelProto.Parser.ParseFrom(model).Graph.Node.Count;

    private static double[] Flat<T>(T[,] values) where T : unmanaged, IFloatingPointIeee754<T>
        => [.. values.Cast<T>().Select(double.CreateTruncating)];

    // The same flow in double: built as the case is, from the same data, then given the float flow's parameter values: the
    // exact value of the model a float graph exports.
    private static TransformedDistribution<double> DoubleTwin<T>(string name, TransformedDistribution<T> flow, T[,] data, T[,]? context)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (flow is TransformedDistribution<double> same)
        {
            return same;
        }

        TransformedDistribution<double> twin = OnnxCases.Create(name, ToDouble(data), context is null ? null : ToDouble(context));
        for (int p = 0; p < flow.Parameters.Count; p++)
        {
            for (int i = 0; i < flow.Parameters[p].Values.Length; i++)
            {
                twin.Parameters[p].Values[i] = double.CreateTruncating(flow.Parameters[p].Values[i]);
            }
        }

        return twin;
    }

    private static double[,] ToDouble<T>(T[,] values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = new double[values.GetLength(0), values.GetLength(1)];
        for (int i = 0; i < values.GetLength(0); i++)
        {
            for (int j = 0; j < values.GetLength(1); j++)
            {
                result[i, j] = double.CreateTruncating(values[i, j]);
            }
        }

        return result;
    }
}
