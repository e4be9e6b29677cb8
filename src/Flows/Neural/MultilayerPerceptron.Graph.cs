using Flows.Export;

namespace Flows.Neural;

public sealed partial class MultilayerPerceptron<T>
{
    /// <summary>The network as <see cref="Apply"/> runs it: the soft clip, then each layer, ReLU between layers, the
    /// context's term joining the first layer before its ReLU.</summary>
    internal string Lower(GraphBuilder graph, string x, string? context)
    {
        if (InputBound is double bound)
        {
            // x / (1 + |x|·(1/B)), with 1/B rounded in the element type as the tape op rounds it.
            double inverseBound = double.CreateTruncating(T.One / T.CreateTruncating(bound));
            x = graph.Div(x, graph.Add(graph.Scalar(1), graph.Mul(graph.Abs(x), graph.Scalar(inverseBound))));
        }

        string h = _layers[0].Lower(graph, x);
        if (_contextLayer is not null && context is not null)
        {
            h = graph.Add(h, _contextLayer.Lower(graph, context));
        }

        for (int l = 1; l < _layers.Length; l++)
        {
            h = _layers[l].Lower(graph, graph.Relu(h));
        }

        return h;
    }
}
