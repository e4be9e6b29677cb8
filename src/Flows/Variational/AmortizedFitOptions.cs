using Flows.Training;

namespace Flows.Variational;

/// <summary>Settings of <see cref="VariationalAutoencoder{T}.Fit"/>, with documented defaults.</summary>
public sealed record AmortizedFitOptions
{
    /// <summary>Passes over the training rows. Default 100. Range: &gt; 0.</summary>
    public int Epochs { get; init; } = 100;

    /// <summary>Rows per minibatch (the last one of an epoch may be smaller). Default 100. Range: &gt; 0.</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>The bound maximized. Default <see cref="AmortizedObjective.Elbo"/>.</summary>
    public AmortizedObjective Objective { get; init; } = AmortizedObjective.Elbo;

    /// <summary>k, reparameterized samples of z per row and step: the ELBO's Monte Carlo samples, or the importance
    /// samples of the IWAE bound. Default 1. Range: &gt; 0.</summary>
    public int SamplesPerRow { get; init; } = 1;

    /// <summary>
    /// Epochs over which the ELBO's KL term is warmed up: the loss is −E[log p(x | z) + β(log p(z) − log q(z | x))] with
    /// β rising linearly from 1/W in the first epoch to 1 at epoch W, as Rezende &amp; Mohamed (2015) and van den Berg et
    /// al. (2018) train. Default 0: β = 1 throughout. Range: ≥ 0. Needs the <see cref="AmortizedObjective.Elbo"/>
    /// objective and a <see cref="LatentVariableModel{T}"/>, whose prior and likelihood are separate terms.
    /// </summary>
    public int WarmupEpochs { get; init; }

    /// <summary>Train the model's parameters (decoder and prior) with the posterior's. Default true; false trains q alone,
    /// against a fixed model.</summary>
    public bool TrainModel { get; init; } = true;

    /// <summary>The optimizer's settings. Default: Adam with learning rate 1e-3, no weight decay.</summary>
    public AdamOptions Optimizer { get; init; } = new();

    /// <summary>Gradients are scaled down together when their global norm exceeds this. Default null: no clipping.</summary>
    public double? MaxGradientNorm { get; init; }

    /// <summary>Seed of the minibatch order and of every draw: the same seed gives the same fit, bit for bit. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>Receives each epoch's figures as it ends. Default null.</summary>
    public IProgress<AmortizedEpochReport>? Progress { get; init; }
}
