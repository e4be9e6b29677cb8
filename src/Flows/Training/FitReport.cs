namespace Flows.Training;

/// <summary>The outcome of a fit: the loss history and the epoch whose parameters were kept.</summary>
public sealed class FitReport
{
    internal FitReport(IReadOnlyList<EpochReport> history, int bestEpoch, double bestLoss, bool stoppedEarly)
    {
        History = history;
        BestEpoch = bestEpoch;
        BestLoss = bestLoss;
        StoppedEarly = stoppedEarly;
    }

    /// <summary>One report per epoch run.</summary>
    public IReadOnlyList<EpochReport> History { get; }

    /// <summary>The epoch whose parameters the model holds now (the best validation loss, or without a split the best loss on the training rows measured at the end of the epoch).</summary>
    public int BestEpoch { get; }

    /// <summary>The loss that chose <see cref="BestEpoch"/>, in nats per row.</summary>
    public double BestLoss { get; }

    /// <summary>Whether early stopping ended the fit before the last epoch.</summary>
    public bool StoppedEarly { get; }

    /// <inheritdoc/>
    public override string ToString() => $"FitReport(epochs: {History.Count}, bestEpoch: {BestEpoch}, bestLoss: {BestLoss:G6}, stoppedEarly: {StoppedEarly})";
}
