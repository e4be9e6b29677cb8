using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;

namespace EnergyFunctions;

/// <summary>The flows the sample can fit, by name: the one place to add a new family.</summary>
internal static class FlowFactory
{
    public const string Default = "iaf";

    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["nsf", "iaf", "planar1", "planar2", "planar4", "planar8", "planar16", "planar32"];

    /// <summary>A fresh 2-D flow on a standard normal base.</summary>
    public static TransformedDistribution<double> Create(string name, int seed) => name switch
    {
        // Autoregressive rational-quadratic splines: flexible enough for the ring and the two-branch targets; sampling
        // takes d = 2 passes per layer. Variational inference has no data to start a Gaussian from, so the plain chain.
        "nsf" => NeuralSplineFlow.Create<double>(2, transforms: 4, binCount: 8, hiddenFeatures: [32, 32], tailBound: 5, seed: seed,
            gaussianStart: GaussianStart.None),
        // Inverse autoregressive affine layers: one pass per layer to sample, the classic VI flow.
        "iaf" => InverseAutoregressiveFlow.Create<double>(2, transforms: 8, hiddenFeatures: [32, 32], seed: seed),
        _ when name.StartsWith("planar", StringComparison.Ordinal) && int.TryParse(name.AsSpan(6), out int layers) && layers > 0
            => Planar(layers, seed),
        _ => throw new ArgumentException($"Unknown flow '{name}'; choose one of {string.Join(", ", Names)}.", nameof(name)),
    };

    // K planar layers as in the paper's Figure 3 (K = 2, 8, 32) and the PyMC3 illustration (1, 2, 4, 8, 16, 32).
    private static TransformedDistribution<double> Planar(int layers, int seed)
        => new(
            new StandardNormal<double>(2),
            new Chain<double>([.. Enumerable.Range(0, layers).Select(k => (IBijector<double>)new Planar<double>(2, seed: seed + k))]));
}
