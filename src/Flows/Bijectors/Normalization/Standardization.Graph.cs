using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class Standardization<T> : IGraphLowering
{
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context) => Lower(graph, input, inverse: false);

    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context) => Lower(graph, input, inverse: true);

    private Lowered Lower(GraphBuilder graph, string input, bool inverse)
    {
        if (!IsInitialized)
        {
            throw new InvalidOperationException($"{this} is not initialized from data yet; fit the flow (or call Initialize) before exporting it.");
        }

        // The log-scales as FeatureStandardization keeps them: log of the scale in the element type.
        T[] logScale = new T[Dimension];
        for (int j = 0; j < Dimension; j++)
        {
            logScale[j] = T.Log(Scale[j]);
        }

        return Lowering.AffineElementwise<T>(graph, input, Mean, logScale, inverse);
    }
}
