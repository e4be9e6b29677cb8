using Flows.Export;

namespace Flows.Distributions;

public sealed partial class StandardNormal<T> : IDistributionLowering
{
    // log p(z) = −½ Σ zᵢ² − (d/2) log 2π per row, the constant rounded in the element type as the tape's.
    string IDistributionLowering.LowerDensityLn(GraphBuilder graph, string x)
    {
        double constant = double.CreateTruncating(T.CreateTruncating(-0.5 * Dimension * Math.Log(2 * Math.PI)));
        return graph.Add(graph.Mul(graph.RowSums(graph.Mul(x, x)), graph.Scalar(-0.5)), graph.Scalar(constant));
    }
}
