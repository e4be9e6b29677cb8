using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class Chain<T> : IGraphLowering
{
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context)
    {
        string output = input;
        string? logDet = null;
        foreach (IBijector<T> part in _parts)
        {
            Lowered lowered = Lowering.Of(part).LowerForward(graph, output, part.ContextDimension == 0 ? null : context);
            output = lowered.Output;
            logDet = graph.AddLogDets(logDet, lowered.LogDet);
        }

        return new Lowered(output, logDet);
    }

    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context)
    {
        string output = input;
        string? logDet = null;
        for (int i = _parts.Length - 1; i >= 0; i--)
        {
            Lowered lowered = Lowering.Of(_parts[i]).LowerInverse(graph, output, _parts[i].ContextDimension == 0 ? null : context);
            output = lowered.Output;
            logDet = graph.AddLogDets(logDet, lowered.LogDet);
        }

        return new Lowered(output, logDet);
    }
}
