using System.Numerics;
using Flows.Distributions;
using Flows.Training;

namespace Flows.Inference;

/// <summary>Settings of <see cref="NeuralPosteriorEstimation"/>, with documented defaults.</summary>
/// <typeparam name="T">The element type.</typeparam>
public sealed record NeuralPosteriorOptions<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// The conditional flow q(θ | x) to fit: Dimension θ's, ContextDimension x's. Default null: the neural spline flow
    /// preset (<see cref="Distributions.Presets.NeuralSplineFlow"/> at its defaults, seeded by <see cref="Seed"/>), as sbi
    /// defaults to a spline flow too.
    /// </summary>
    public TransformedDistribution<T>? Flow { get; init; }

    /// <summary>The fit's settings. Default null: <see cref="FitOptions"/>' defaults with <see cref="Seed"/>.</summary>
    public FitOptions? FitOptions { get; init; }

    /// <summary>Seed of the simulations (prior draws and the simulator's randomness) and, by default, of the flow and the
    /// fit. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>The acceptance rate below which the posterior's sampling gives up (see
    /// <see cref="NeuralPosterior{T}.MinimumAcceptanceRate"/>). Default 1e-3. Range: (0, 1].</summary>
    public double MinimumAcceptanceRate { get; init; } = 1e-3;
}
