using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class AffineTransform<T> : IConditionalTransformLowering
{
    // Parameters [μ | r] (n × 2d); s = b·tanh(r/b); forward x = z·exp(s) + μ, log|det| = Σ s; inverse z = (x − μ)·exp(−s).
    Lowered IConditionalTransformLowering.LowerForward(GraphBuilder graph, string input, string parameters, int dimension)
    {
        (string shift, string logScale) = Split(graph, parameters, dimension);
        return new Lowered(graph.Add(graph.Mul(input, graph.Exp(logScale)), shift), graph.RowSums(logScale));
    }

    Lowered IConditionalTransformLowering.LowerInverse(GraphBuilder graph, string input, string parameters, int dimension)
    {
        (string shift, string logScale) = Split(graph, parameters, dimension);
        return new Lowered(graph.Mul(graph.Sub(input, shift), graph.Exp(graph.Neg(logScale))), graph.Neg(graph.RowSums(logScale)));
    }

    private (string Shift, string LogScale) Split(GraphBuilder graph, string parameters, int d)
    {
        string shift = graph.Node("Slice", [parameters, graph.Int64s(0), graph.Int64s(d), graph.Int64s(1)]);
        string raw = graph.Node("Slice", [parameters, graph.Int64s(d), graph.Int64s(2 * d), graph.Int64s(1)]);
        double inverseBound = double.CreateTruncating(T.One / _bound);
        string logScale = graph.Mul(graph.Tanh(graph.Mul(raw, graph.Scalar(inverseBound))), graph.Scalar(double.CreateTruncating(_bound)));
        return (shift, logScale);
    }
}
