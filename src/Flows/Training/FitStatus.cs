namespace Flows.Training;

/// <summary>How a fit ended (<see cref="FitReport.Status"/>, <see cref="VariationalReport.Status"/>).</summary>
public enum FitStatus
{
    /// <summary>Every epoch (or step) ran; the parameters kept are those the report names as best.</summary>
    Completed,

    /// <summary>Early stopping ended the fit: no check improved on the best for <see cref="FitOptions.Patience"/> epochs.</summary>
    EarlyStopped,

    /// <summary>
    /// The loss became non-finite or rose far above the best so far; the fit stopped and the best parameters were restored.
    /// The report's <c>Divergence</c> says what happened, where, and what to try.
    /// </summary>
    Diverged,

    /// <summary>The fit was cancelled; the report is on the <see cref="FitCanceledException{TReport}"/> thrown.</summary>
    Cancelled,
}
