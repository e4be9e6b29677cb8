using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class BatchNorm<T> : IGraphLowering
{
    // Evaluation mode, the running statistics (a graph has no training mode): s = log γ − ½ log(σ² + ε) in the element type.
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context)
    {
        Lowered centred = Lowering.AffineElementwise<T>(graph, input, _beta.Values, LogScale(), inverse: true);
        return new Lowered(graph.Add(centred.Output, graph.Row<T>(_runningMean)), centred.LogDet);
    }

    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context)
        => Lowering.AffineElementwise<T>(graph, graph.Sub(input, graph.Row<T>(_runningMean)), _beta.Values, LogScale(), inverse: false);

    private T[] LogScale()
    {
        T[] s = new T[Dimension];
        T half = T.CreateTruncating(0.5);
        for (int j = 0; j < Dimension; j++)
        {
            s[j] = _logGamma.Values[j] - (T.Log(_runningVariance[j] + _epsilonRow[j]) * half);
        }

        return s;
    }
}
