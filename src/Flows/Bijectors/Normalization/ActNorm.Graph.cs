using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class ActNorm<T> : IGraphLowering
{
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context)
        => Lowering.AffineElementwise<T>(graph, input, Initialized()._shift.Values, _logScale.Values, inverse: false);

    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context)
        => Lowering.AffineElementwise<T>(graph, input, Initialized()._shift.Values, _logScale.Values, inverse: true);

    // An uninitialized layer would initialize from the first data Flows scores; a graph cannot, so it is refused.
    private ActNorm<T> Initialized() => IsInitialized ? this
        : throw new InvalidOperationException($"{this} is not initialized from data yet; fit the flow (or call Initialize) before exporting it.");
}
