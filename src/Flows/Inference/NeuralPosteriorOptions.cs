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

    /// <summary>
    /// The fit's settings. Default null: sbi's training defaults, <see cref="DefaultFitOptions"/> with <see cref="Seed"/>.
    /// </summary>
    public FitOptions? FitOptions { get; init; }

    /// <summary>
    /// sbi's training settings: Adam at learning rate 5e-4 without weight decay, minibatches of 200, 10 % held out,
    /// stopping after 20 epochs without a better validation loss (at most 500 epochs), gradients clipped at norm 5.
    /// </summary>
    /// <remarks>
    /// Measured against <see cref="Training.FitOptions"/>' defaults of the time (learning rate 1e-3, batches of 256, patience 10)
    /// in samples/Posterior: held-out log q(θ | x) rose from 0.596 to 0.601 (linear Gaussian, d = 10, MAF), 0.530 to 0.555
    /// (the same, NSF) and 3.21 to 3.37 (crescent, NSF), at about twice the fitting time.
    /// </remarks>
    public static FitOptions DefaultFitOptions { get; } = new()
    {
        Epochs = 500,
        BatchSize = 200,
        Patience = 20,
        ValidationFraction = 0.1,
        Optimizer = new AdamOptions { LearningRate = 5e-4, WeightDecay = 0 },
    };

    /// <summary>Seed of the simulations (prior draws and the simulator's randomness) and, by default, of the flow and the
    /// fit. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>The acceptance rate below which the posterior's sampling gives up (see
    /// <see cref="NeuralPosterior{T}.MinimumAcceptanceRate"/>). Default 1e-3. Range: (0, 1].</summary>
    public double MinimumAcceptanceRate { get; init; } = 1e-3;
}
