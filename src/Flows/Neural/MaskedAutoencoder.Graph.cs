using Flows.Export;

namespace Flows.Neural;

public sealed partial class MaskedAutoencoder<T>
{
    /// <summary>The MADE as <see cref="Apply"/> runs it: the masked network, plus the context's direct term.</summary>
    internal string Lower(GraphBuilder graph, string x, string? context)
    {
        string output = _network.Lower(graph, x, context);
        return _contextToOutput is null || context is null ? output : graph.Add(output, _contextToOutput.Lower(graph, context));
    }
}
