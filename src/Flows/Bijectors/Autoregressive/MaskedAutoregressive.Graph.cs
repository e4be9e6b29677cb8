using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class MaskedAutoregressive<T> : IGraphLowering
{
    // Base → data needs d passes: pass k fixes the k-th feature in the order from the features fixed before it. The
    // graph unrolls them (d MADEs and transforms in sequence), as the tape's recording path runs them.
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context)
    {
        IConditionalTransformLowering transform = Lowering.OfTransform(Transform);
        Lowered pass = transform.LowerForward(graph, input, Conditioner.Lower(graph, input, context), Dimension);
        for (int k = 1; k < Dimension; k++)
        {
            pass = transform.LowerForward(graph, input, Conditioner.Lower(graph, pass.Output, context), Dimension);
        }

        return pass;
    }

    // Data → base: one MADE pass.
    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context)
        => Lowering.OfTransform(Transform).LowerInverse(graph, input, Conditioner.Lower(graph, input, context), Dimension);
}
