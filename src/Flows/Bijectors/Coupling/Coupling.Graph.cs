using Flows.Export;

namespace Flows.Bijectors;

public partial class Coupling<T> : IGraphLowering
{
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context)
        => Lowering.OfTransform(Transform).LowerForward(graph, input, LowerParameters(graph, input, context), Dimension);

    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context)
        => Lowering.OfTransform(Transform).LowerInverse(graph, input, LowerParameters(graph, input, context), Dimension);

    // The conditioner sees the fixed features (the others zeroed) and its outputs on fixed features are zeroed: products
    // with 0/1 masks, which equal the tape's selections for the finite values a graph is given.
    private string LowerParameters(GraphBuilder graph, string input, string? context)
    {
        string fixedInput = graph.Mul(input, graph.Row<T>(_inputMask.Values));
        return graph.Mul(Conditioner.Lower(graph, fixedInput, context), graph.Row<T>(_outputMask.Values));
    }
}
