namespace Flows.Training;

/// <summary>One scoring of the watched loss during a fit: the start, the end of an epoch, or a check within one.</summary>
/// <param name="Epoch">The epoch it fell in or ended, from 1; 0 for the start, before any step.</param>
/// <param name="Step">Optimizer steps taken before it.</param>
/// <param name="Loss">The watched loss in nats per row: the mean negative log-likelihood of the validation rows, or of
/// the training rows without a validation split; +∞ or NaN when some row's density was zero or not finite.</param>
public readonly record struct FitCheck(int Epoch, int Step, double Loss)
{
    /// <summary>The standard error of <see cref="Loss"/> as an estimate of the expected loss on rows like those scored:
    /// the sample standard deviation of the rows' negative log-likelihoods over √rows (NaN for one row or a non-finite
    /// loss, and for a check built without one; 0 in <c>default(FitCheck)</c>). Two checks on the same rows differ by much less than this, since their errors are correlated; it says how
    /// far the held-out figure is from the population's.</summary>
    public double StandardError { get; init; } = double.NaN;
}
