using System.Globalization;
using System.Numerics;
using System.Text;
using Flows.Distributions;

namespace Flows.Training;

/// <summary>How one candidate scored under cross-validation, in nats per held-out row.</summary>
/// <param name="Name">The candidate's name.</param>
/// <param name="MeanLogLikelihood">The mean log-density of every row, each scored by the model fitted without its fold.</param>
/// <param name="StandardError">The standard error of <paramref name="MeanLogLikelihood"/>: the standard deviation of the
/// per-row log-densities over √n.</param>
/// <param name="DifferenceFromBest">This candidate's mean minus the best candidate's (0 for the best, negative otherwise).</param>
/// <param name="DifferenceStandardError">The standard error of <paramref name="DifferenceFromBest"/>, from the per-row
/// differences (paired: both models score the same rows, so most of the rows' own spread cancels).</param>
/// <param name="FoldMeans">The mean held-out log-density of each fold.</param>
public sealed record CandidateScore(string Name, double MeanLogLikelihood, double StandardError, double DifferenceFromBest,
    double DifferenceStandardError, IReadOnlyList<double> FoldMeans);

/// <summary>The outcome of <see cref="ModelSelection.CrossValidate{T}"/>: every candidate's score and the one chosen.</summary>
/// <typeparam name="T">The element type.</typeparam>
public sealed class ModelSelectionReport<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal ModelSelectionReport(IReadOnlyList<CandidateScore> scores, CandidateScore chosen, TransformedDistribution<T>? model)
    {
        Scores = scores;
        Chosen = chosen;
        Model = model;
    }

    /// <summary>One score per candidate, in the order given.</summary>
    public IReadOnlyList<CandidateScore> Scores { get; }

    /// <summary>The chosen candidate's score: the best mean, or with <see cref="ModelSelectionOptions.PreferSimpler"/> the
    /// first within one standard error of it.</summary>
    public CandidateScore Chosen { get; }

    /// <summary>The chosen candidate fitted to all the rows, or null when <see cref="ModelSelectionOptions.RefitBest"/> is false.</summary>
    public TransformedDistribution<T>? Model { get; }

    /// <summary>A table: one line per candidate with its mean held-out log-likelihood, standard error and difference from the best.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (CandidateScore score in Scores)
        {
            text.Append(CultureInfo.InvariantCulture, $"{score.Name}: {score.MeanLogLikelihood:F4} ± {score.StandardError:F4} nats per row");
            text.Append(CultureInfo.InvariantCulture, $", {score.DifferenceFromBest:F4} ± {score.DifferenceStandardError:F4} from the best");
            text.AppendLine(score == Chosen ? " (chosen)" : "");
        }

        return text.ToString().TrimEnd();
    }
}
