using Flows.Distributions;
using Flows.Export;

namespace Flows.Tests.Onnx;

/// <summary>The shape of the built graphs, which the runtime tests in <see cref="OnnxExportTests"/> cannot see.</summary>
public sealed class FlowGraphsTests
{
    // The presets that mix in a defensive Gaussian (all but the inverse autoregressive flow, built for variational fits).
    public static TheoryData<string> PresetsWithAShare => [.. OnnxCases.Presets.Where(p => !p.StartsWith("InverseAutoregressiveFlow", StringComparison.Ordinal))];

    // The sampling graph of a flow with a defensive share scores z under the flow's base and under the Gaussian's, both
    // standard normals of the flow's dimension: that density, −½ Σ z² − (d/2) log 2π, is built once, so z is squared by
    // one node (the flow's layers square their own values, never the graph input itself).
    [Theory]
    [MemberData(nameof(PresetsWithAShare))]
    public void SamplingGraph_BuildsTheBaseDensityOfZOnce(string name)
    {
        double[,] data = OnnxCases.Data<double>(64, seed: 21);
        double[,]? context = OnnxCases.IsConditional(name) ? OnnxCases.Normal<double>(64, OnnxCases.ContextDimension, seed: 22) : null;
        TransformedDistribution<double> flow = OnnxCases.Create(name, data, context);

        GraphBuilder graph = FlowGraphs.Sampling(flow);

        Assert.True(flow.DefensiveWeight > 0, $"{name}: the case should have a defensive share, whose Gaussian the graph scores z under.");
        int[] squares = [.. graph.Nodes.Select((node, i) => (node, i))
            .Where(n => n.node.OpType == "Mul" && n.node.Inputs is [FlowGraphs.Base, FlowGraphs.Base]).Select(n => n.i)];
        Assert.True(squares.Length == 1, $"{name}: {squares.Length} nodes square z (nodes {string.Join(", ", squares)}); the base density should be built once.");
    }
}
