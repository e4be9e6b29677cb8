namespace Flows.Training;

/// <summary>Settings of <see cref="ModelSelection.CrossValidate{T}"/>, with documented defaults.</summary>
public sealed record ModelSelectionOptions
{
    /// <summary>k, the number of folds: each row is held out once. Default 5. Range: ≥ 2, ≤ the number of rows.</summary>
    public int Folds { get; init; } = 5;

    /// <summary>Seed of the fold assignment and of every fit (fold f uses Seed + f). Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// Whether to choose the first candidate, in the order given, whose mean held-out log-likelihood is within one
    /// standard error of the best's (the "one-standard-error rule"), instead of the best mean. List the candidates from
    /// the simplest, as the defaults are (Gaussian, MAF, NSF), and a more flexible model must then win by more than the
    /// noise of the comparison. Default false.
    /// </summary>
    public bool PreferSimpler { get; init; }

    /// <summary>Whether to fit the chosen candidate to all the rows at the end (<see cref="ModelSelectionReport{T}.Model"/>). Default true.</summary>
    public bool RefitBest { get; init; } = true;

    internal void Validate(int rows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Folds, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Folds, rows);
    }
}
