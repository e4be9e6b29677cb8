namespace Flows.Training;

/// <summary>What one epoch of fitting reached, in nats per row.</summary>
/// <param name="Epoch">The epoch, from 1; 0 for the start (<see cref="FitReport.Initial"/>).</param>
/// <param name="TrainLoss">Mean negative log-likelihood over the epoch's minibatches, each measured before its step; for
/// epoch 0, that of every training row at the start.</param>
/// <param name="ValidationLoss">Mean negative log-likelihood of the validation rows after the epoch, or null without a validation split.</param>
public readonly record struct EpochReport(int Epoch, double TrainLoss, double? ValidationLoss);
