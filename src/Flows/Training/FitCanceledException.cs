namespace Flows.Training;

/// <summary>
/// The <see cref="OperationCanceledException"/> a cancelled fit throws, carrying the report of what the fit did up to
/// then (<see cref="FitReport"/> or <see cref="VariationalReport"/>, with status <see cref="FitStatus.Cancelled"/>).
/// </summary>
/// <typeparam name="TReport">The report type of the fit.</typeparam>
public sealed class FitCanceledException<TReport> : OperationCanceledException where TReport : class
{
    /// <summary>Creates an exception without a report.</summary>
    public FitCanceledException()
    {
    }

    /// <summary>Creates an exception with a message and no report.</summary>
    /// <param name="message">What was cancelled.</param>
    public FitCanceledException(string message) : base(message)
    {
    }

    /// <summary>Creates an exception with a message, the cause and no report.</summary>
    /// <param name="message">What was cancelled.</param>
    /// <param name="innerException">The underlying exception.</param>
    public FitCanceledException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>Creates the exception of a cancelled fit.</summary>
    /// <param name="message">What was cancelled and what the flow holds now.</param>
    /// <param name="report">The report of the fit up to the cancellation.</param>
    /// <param name="cancellationToken">The token that cancelled it.</param>
    public FitCanceledException(string message, TReport report, CancellationToken cancellationToken) : base(message, cancellationToken)
        => Report = report;

    /// <summary>The report of the fit up to the cancellation: history, checks, the epoch or step kept.</summary>
    public TReport? Report { get; }
}
