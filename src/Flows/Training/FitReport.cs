using System.Globalization;

namespace Flows.Training;

/// <summary>
/// The outcome of a maximum-likelihood fit: how it ended, the loss at the start and after every epoch, and which
/// parameters the flow holds now.
/// </summary>
/// <remarks>
/// The fit scores the watched loss (validation, or training without a split) at the start as epoch 0, at the end of
/// every epoch, and every <see cref="FitOptions.ValidationInterval"/> steps within one; the parameters kept are those of
/// the best of these checks. The start is one of them, so unless <see cref="FitOptions.RestoreBest"/> is false the
/// flow never scores worse on the watched loss than it did before the fit: <see cref="BestLoss"/> ≤
/// <see cref="InitialLoss"/>, with <see cref="BestEpoch"/> 0 when no check improved on the start.
/// </remarks>
public sealed class FitReport
{
    internal FitReport(FitStatus status, EpochReport initial, IReadOnlyList<EpochReport> history, IReadOnlyList<FitCheck> checks, FitCheck best,
        int steps, string? divergence, IReadOnlyList<string> warnings)
    {
        Status = status;
        Initial = initial;
        History = history;
        Checks = checks;
        BestEpoch = best.Epoch;
        BestStep = best.Step;
        BestLoss = best.Loss;
        BestLossStandardError = best.StandardError;
        Steps = steps;
        Divergence = divergence;
        Warnings = warnings;
    }

    /// <summary>How the fit ended.</summary>
    public FitStatus Status { get; }

    /// <summary>The start, as epoch 0: the mean negative log-likelihood of the training rows and of the validation rows
    /// (null without a split) before any step, after data-initialized layers took their start from the data.</summary>
    public EpochReport Initial { get; }

    /// <summary>The watched loss at the start: <see cref="Initial"/>'s validation loss, or its training loss without a split.</summary>
    public double InitialLoss => Initial.ValidationLoss ?? Initial.TrainLoss;

    /// <summary>One report per epoch run, from epoch 1 (the start is <see cref="Initial"/>).</summary>
    public IReadOnlyList<EpochReport> History { get; }

    /// <summary>Every scoring of the watched loss, in order: the start, checks within epochs, the end of every epoch.</summary>
    public IReadOnlyList<FitCheck> Checks { get; }

    /// <summary>
    /// The epoch whose parameters the model holds now: that of the best check (at the end of the epoch, or within it
    /// with <see cref="FitOptions.ValidationInterval"/>); 0 when no check improved on the start. With
    /// <see cref="FitOptions.RestoreBest"/> false, the epoch of the best check all the same, though the model holds the
    /// last step's parameters.
    /// </summary>
    public int BestEpoch { get; }

    /// <summary>Optimizer steps taken before the best check: 0 when the start was best.</summary>
    public int BestStep { get; }

    /// <summary>The loss of the best check, in nats per row: the watched loss of the parameters the model holds now.</summary>
    public double BestLoss { get; }

    /// <summary>The standard error of <see cref="BestLoss"/> over the rows it was scored on (see
    /// <see cref="FitCheck.StandardError"/>): with a validation split, the held-out log-likelihood of the fitted model is
    /// −BestLoss ± this. BestLoss is the best of several checks on the same rows, so it is slightly optimistic, by an
    /// amount this does not include; without a split the rows are the training rows, and the figure is not held out.</summary>
    public double BestLossStandardError { get; }

    /// <summary>Optimizer steps taken in all.</summary>
    public int Steps { get; }

    /// <summary>Whether early stopping ended the fit before the last epoch (<see cref="Status"/> is <see cref="FitStatus.EarlyStopped"/>).</summary>
    public bool StoppedEarly => Status == FitStatus.EarlyStopped;

    /// <summary>When <see cref="Status"/> is <see cref="FitStatus.Diverged"/>: what happened and where, the rows the flow
    /// fitted worst (with their values, and how far each lies from the rest of its column), and what to try. Else null.</summary>
    public string? Divergence { get; }

    /// <summary>Advice that did not stop the fit: data far outside the range the flow's layers are built for (with
    /// <see cref="FitOptions.DataRangeCheck"/> at <see cref="DataRangeCheck.Warn"/>), or no improvement on the start.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"FitReport(status: {Status}, epochs: {History.Count}, initialLoss: {InitialLoss:G6}, bestEpoch: {BestEpoch}, bestLoss: {BestLoss:G6}, warnings: {Warnings.Count})");
}
