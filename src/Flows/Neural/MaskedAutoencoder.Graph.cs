using Flows.Export;

namespace Flows.Neural;

public sealed partial class MaskedAutoencoder<T>
{
    /// <summary>The MADE as <see cref="Apply"/> runs it: the masked network, plus the context's direct term, then the
    /// output units (grouped by feature) handed out by parameter block.</summary>
    internal string Lower(GraphBuilder graph, string x, string? context)
    {
        string output = _network.Lower(graph, x, context);
        if (_contextToOutput is not null && context is not null)
        {
            output = graph.Add(output, _contextToOutput.Lower(graph, context));
        }

        return _blockToOutput is null ? output : graph.Columns(output, _blockToOutput);
    }
}
