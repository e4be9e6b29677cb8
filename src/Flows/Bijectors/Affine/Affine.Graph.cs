using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class Affine<T> : IGraphLowering
{
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context)
        => Lowering.AffineElementwise<T>(graph, input, _shift.Values, _logScale.Values, inverse: false);

    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context)
        => Lowering.AffineElementwise<T>(graph, input, _shift.Values, _logScale.Values, inverse: true);
}
