using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class Inverted<T> : IGraphLowering
{
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context)
        => Lowering.Of(Inner).LowerInverse(graph, input, context);

    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context)
        => Lowering.Of(Inner).LowerForward(graph, input, context);
}
