using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class SinhArcsinh<T> : IGraphLowering
{
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context) => Lower(graph, input, inverse: false);

    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context) => Lower(graph, input, inverse: true);

    // Forward y = sinh((asinh z + ε)/δ), inverse y = sinh(δ asinh x − ε); log|det| = Σ [log cosh u − ½ log(1 + input²)] ∓ Σ log δ,
    // u the argument of sinh. asinh, sinh and log cosh are written from Exp, Log and Sqrt (ONNX Runtime's Asinh and Sinh
    // kernels are float only), in forms that cannot overflow for |u| below ~700.
    private Lowered Lower(GraphBuilder graph, string input, bool inverse)
    {
        int d = Dimension;
        T[] tailWeight = new T[d];
        T[] inverseTailWeight = new T[d];
        T logTailSum = T.Zero;
        for (int j = 0; j < d; j++)
        {
            tailWeight[j] = T.Exp(_logTailWeight.Values[j]);
            inverseTailWeight[j] = T.One / tailWeight[j];
            logTailSum += T.Log(tailWeight[j]);
        }

        string one = graph.Scalar(1);
        string square = graph.Mul(input, input);
        string magnitude = graph.Log(graph.Add(graph.Abs(input), graph.Sqrt(graph.Add(square, one))));
        string asinh = graph.Where(graph.Node("Less", [input, graph.Scalar(0)]), graph.Neg(magnitude), magnitude);
        string skew = graph.Row<T>(_skew.Values);
        string u = inverse
            ? graph.Sub(graph.Mul(asinh, graph.Row<T>(tailWeight)), skew)
            : graph.Div(graph.Add(asinh, skew), graph.Row<T>(tailWeight));
        string output = graph.Mul(graph.Sub(graph.Exp(u), graph.Exp(graph.Neg(u))), graph.Scalar(0.5));

        // log cosh u = |u| + log(1 + exp(−2|u|)) − log 2.
        string absU = graph.Abs(u);
        string logCosh = graph.Sub(graph.Add(absU, graph.Log(graph.Add(one, graph.Exp(graph.Mul(absU, graph.Scalar(-2)))))), graph.Scalar(Math.Log(2)));
        string terms = graph.Sub(logCosh, graph.Mul(graph.Log(graph.Add(one, square)), graph.Scalar(0.5)));
        double constant = double.CreateTruncating(inverse ? logTailSum : -logTailSum);
        return new Lowered(output, graph.Add(graph.RowSums(terms), graph.Scalar(constant)));
    }
}
