using System.Numerics;
using Flows.Export;
using Flows.Numerics;
using Flows.Onnx;
using Google.Protobuf;

namespace Flows.Tests.Onnx;

/// <summary>GraphBuilder's composite helpers, each run alone as a one-input graph in ONNX Runtime, against Flows' own
/// scalar function.</summary>
public sealed class GraphBuilderTests
{
    // The arguments where log(1 + a) goes wrong when written naively: below the unit roundoff, where 1 + a rounds to 1
    // (log gives 0); beyond about 2.5e305 in double (3.9e36 in float), where the product log(u)·a of Goldberg's
    // correction overflows before its division by u − 1 brings it back (the form before the fix gave +∞ there); +∞,
    // where that form gave ∞/∞ = NaN; −1, which gives −∞; and ordinary values between.
    // The only caller today, Radial, takes log1p only where |a| ≤ 0.5, so no exported flow reaches the large arguments:
    // the helper is tested alone.
    private static readonly double[] DoubleArguments =
        [0, 1e-300, -1e-300, 1e-17, -1e-17, 3e-9, -0.5, 0.25, 1, 1e10, 1e300, 3e305, 1e307, double.MaxValue, double.PositiveInfinity, -1];

    private static readonly float[] FloatArguments =
        [0, 1e-40f, -1e-30f, 1e-8f, -1e-8f, 3e-4f, -0.5f, 0.25f, 1, 1e10f, 1e30f, 4e36f, 1e37f, float.MaxValue, float.PositiveInfinity, -1];

    [Fact]
    public void Log1p_MatchesScalarLogP1_InDouble() => CheckLog1p(DoubleArguments, relativeTolerance: 1e-15);

    [Fact]
    public void Log1p_MatchesScalarLogP1_InFloat() => CheckLog1p(FloatArguments, relativeTolerance: 1e-6);

    // The graph y = Log1p(a) against Scalar.LogP1 in the same element type: equal where the value is not finite, within a
    // few ulp (the runtimes' logs may differ by an ulp) elsewhere.
    private static void CheckLog1p<T>(T[] arguments, double relativeTolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var graph = new GraphBuilder(isDouble: typeof(T) == typeof(double));
        graph.Output(graph.Log1p(graph.Input("a", 1)), "y", 1);
        byte[] model = OnnxExport.ToModel(graph, "log1p", "GraphBuilder.Log1p").ToByteArray();
        var a = new T[arguments.Length, 1];
        for (int i = 0; i < arguments.Length; i++)
        {
            a[i, 0] = arguments[i];
        }

        T[] y = OnnxRunner.Run(model, ("a", a))["y"];

        for (int i = 0; i < arguments.Length; i++)
        {
            double expected = double.CreateTruncating(Scalar.LogP1(arguments[i]));
            double actual = double.CreateTruncating(y[i]);
            string where = $"log1p({arguments[i]:R}): the graph gives {actual:R}, Scalar.LogP1 {expected:R}";
            if (double.IsFinite(expected))
            {
                Assert.True(Math.Abs(actual - expected) <= relativeTolerance * Math.Abs(expected), where);
            }
            else
            {
                Assert.True(actual.Equals(expected), where);
            }
        }
    }
}
