using Flows.Training;

namespace Flows.Variational;

/// <summary>What one epoch of an amortized fit reached, averaged over its minibatches (each measured before its step),
/// in nats per row.</summary>
/// <param name="Epoch">The epoch, from 1.</param>
/// <param name="Objective">The bound maximized (the ELBO, or the IWAE bound), at β = 1.</param>
/// <param name="Elbo">The ELBO, E_q[log p(x, z) − log q(z | x)], from the same samples.</param>
/// <param name="KullbackLeibler">E_q[log q(z | x) − log p(z)], the ELBO's KL term (Monte Carlo), or NaN when the model
/// does not separate prior and likelihood.</param>
/// <param name="Reconstruction">E_q[log p(x | z)], the ELBO's reconstruction term, or NaN likewise.</param>
/// <param name="Seconds">Wall-clock seconds the epoch took.</param>
public readonly record struct AmortizedEpochReport(int Epoch, double Objective, double Elbo, double KullbackLeibler, double Reconstruction, double Seconds)
{
    /// <inheritdoc/>
    public override string ToString()
        => FormattableString.Invariant($"epoch {Epoch}: objective {Objective:F4}, ELBO {Elbo:F4}, KL {KullbackLeibler:F4}, reconstruction {Reconstruction:F4} ({Seconds:F2} s)");
}

/// <summary>How an amortized fit went: every epoch's figures and how it ended.</summary>
/// <param name="Epochs">One report per epoch run.</param>
/// <param name="Status"><see cref="FitStatus.Completed"/>, or <see cref="FitStatus.Diverged"/> when a step's loss was
/// not finite: the fit then stopped and restored the parameters of the end of the last complete epoch (the start, if
/// it was the first).</param>
/// <param name="Seconds">Wall-clock seconds of the whole fit.</param>
public sealed record AmortizedFitReport(IReadOnlyList<AmortizedEpochReport> Epochs, FitStatus Status, double Seconds)
{
    /// <summary>The last epoch's report.</summary>
    /// <exception cref="InvalidOperationException">No epoch completed.</exception>
    public AmortizedEpochReport Final => Epochs.Count > 0 ? Epochs[^1] : throw new InvalidOperationException("No epoch completed.");
}
