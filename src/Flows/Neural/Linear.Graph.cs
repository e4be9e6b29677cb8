using Flows.Export;

namespace Flows.Neural;

public sealed partial class Linear<T>
{
    /// <summary>x Wᵀ + b (the mask applied to W) as MatMul and Add.</summary>
    internal string Lower(GraphBuilder graph, string x)
    {
        int inputs = Inputs;
        int outputs = Outputs;
        ReadOnlySpan<T> mask = Mask;
        double[] transposed = new double[inputs * outputs];
        for (int o = 0; o < outputs; o++)
        {
            for (int i = 0; i < inputs; i++)
            {
                T w = Weight.Values[(o * inputs) + i];
                transposed[(i * outputs) + o] = double.CreateTruncating(mask.IsEmpty ? w : w * mask[(o * inputs) + i]);
            }
        }

        string y = graph.MatMul(x, graph.Constant(transposed, inputs, outputs));
        return Bias is null ? y : graph.Add(y, graph.Row<T>(Bias.Values));
    }
}
