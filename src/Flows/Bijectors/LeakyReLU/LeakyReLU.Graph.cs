using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class LeakyReLU<T> : IGraphLowering
{
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context) => Lower(graph, input, inverse: false);

    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context) => Lower(graph, input, inverse: true);

    // Negative inputs are scaled by exp(±s) and add ±s to the log-det; the others pass unchanged.
    private Lowered Lower(GraphBuilder graph, string input, bool inverse)
    {
        T[] signed = new T[Dimension];
        T[] slope = new T[Dimension];
        for (int j = 0; j < Dimension; j++)
        {
            signed[j] = inverse ? -_logSlope.Values[j] : _logSlope.Values[j];
            slope[j] = T.Exp(signed[j]);
        }

        string negative = graph.Node("Less", [input, graph.Scalar(0)]);
        string output = graph.Where(negative, graph.Mul(input, graph.Row<T>(slope)), input);
        return new Lowered(output, graph.RowSums(graph.Mul(graph.ToElementType(negative), graph.Row<T>(signed))));
    }
}
