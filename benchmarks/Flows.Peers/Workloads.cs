using System.Numerics;
using Flows.Distributions;
using Flows.Distributions.Presets;

namespace Flows.Peers;

/// <summary>The PEERS.md workloads as Flows.Benchmarks' FlowWorkloadBenchmarks builds them: same presets and seeds.</summary>
internal static class Workloads
{
    public const int EvaluationPoints = 65_536;

    public static readonly string[] Names = ["MAF-8", "NSF-8", "MAF-64"];

    /// <summary>d = 8, MADE 2 × 64, batch 512, 4,096 samples; or MAF-64: d = 64, MADE 2 × 512, batch 1024, 128 samples.</summary>
    public static (int Features, int Hidden, int BatchSize, int SampleCount) Shape(string workload)
        => workload == "MAF-64" ? (64, 512, 1024, 128) : (8, 64, 512, 4096);

    public static TransformedDistribution<T> CreateFlows<T>(string workload) where T : unmanaged, IFloatingPointIeee754<T>
    {
        (int features, int hidden, _, _) = Shape(workload);
        return workload == "NSF-8"
            ? NeuralSplineFlow.Create<T>(features, transforms: 5, binCount: 8, hiddenFeatures: [hidden, hidden], tailBound: 5, seed: 1)
            : MaskedAutoregressiveFlow.Create<T>(features, transforms: 5, hiddenFeatures: [hidden, hidden], seed: 1);
    }
}
