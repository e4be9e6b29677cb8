using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class Permutation<T> : IGraphLowering
{
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context) => new(graph.Columns(input, _order), null);

    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context) => new(graph.Columns(input, _inverseOrder), null);
}
