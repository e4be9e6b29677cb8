using System.Numerics;
using Flows.Distributions;
using Flows.Numerics;

namespace Flows.Training;

/// <summary>
/// Choosing a density model on evidence: k-fold cross-validated log-likelihood, the comparison a user would otherwise
/// write by hand.
/// </summary>
/// <remarks>
/// On small tables a flexible flow can fit its training rows far better than a Gaussian and still score held-out rows
/// worse; only held-out data tell. Every row is held out once, scored by a model fitted to the other folds, so the mean
/// uses all n rows and its standard error is that of n scores. The per-row differences between two candidates give the
/// paired standard error of their difference, which is what decides whether one is really better.
/// </remarks>
public static class ModelSelection
{
    /// <summary>
    /// Fits every candidate on k − 1 folds of <paramref name="data"/>, scores the held-out fold, and reports each
    /// candidate's mean held-out log-likelihood with its standard error; then refits the chosen one to all the rows.
    /// </summary>
    /// <param name="data">n × d rows, all finite, n ≥ Folds.</param>
    /// <param name="candidates">The models to compare; null for <see cref="ModelCandidate.Gaussian{T}"/>,
    /// <see cref="ModelCandidate.MaskedAutoregressiveFlow{T}"/> and <see cref="ModelCandidate.NeuralSplineFlow{T}"/>
    /// with default fit settings.</param>
    /// <param name="options">The settings; null for the defaults.</param>
    /// <param name="cancellationToken">Stops between and inside fits.</param>
    /// <returns>The scores, the chosen candidate and (by default) that candidate fitted to all the rows.</returns>
    /// <exception cref="ArgumentException">No candidates, duplicate names, or data with a non-finite value.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than two folds, or more folds than rows.</exception>
    /// <exception cref="OperationCanceledException">The comparison was cancelled.</exception>
    public static ModelSelectionReport<T> CrossValidate<T>(T[,] data, IReadOnlyList<ModelCandidate<T>>? candidates = null,
        ModelSelectionOptions? options = null, CancellationToken cancellationToken = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(data);
        options ??= new ModelSelectionOptions();
        candidates ??= [ModelCandidate.Gaussian<T>(), ModelCandidate.MaskedAutoregressiveFlow<T>(), ModelCandidate.NeuralSplineFlow<T>()];
        int n = data.GetLength(0);
        int d = data.GetLength(1);
        options.Validate(n);
        if (candidates.Count == 0)
        {
            throw new ArgumentException("candidates is empty; there is nothing to compare.", nameof(candidates));
        }

        if (candidates.Select(c => c.Name).Distinct(StringComparer.Ordinal).Count() != candidates.Count)
        {
            throw new ArgumentException("Two candidates share a name; reports tell them apart by name.", nameof(candidates));
        }

        Batch.CheckFinite<T>(Batch.AsSpan(data), d, nameof(data), "model selection");

        // Fold of each row: a shuffled round robin, so folds differ in size by at most one row.
        int[] order = [.. Enumerable.Range(0, n)];
        new Random(options.Seed).Shuffle(order);
        var fold = new int[n];
        for (int k = 0; k < n; k++)
        {
            fold[order[k]] = k % options.Folds;
        }

        // scores[c][i]: row i's log-density under candidate c fitted without row i's fold.
        var scores = new double[candidates.Count][];
        for (int c = 0; c < candidates.Count; c++)
        {
            scores[c] = new double[n];
        }

        for (int f = 0; f < options.Folds; f++)
        {
            int[] heldOut = [.. Enumerable.Range(0, n).Where(i => fold[i] == f)];
            T[,] train = Rows(data, [.. Enumerable.Range(0, n).Where(i => fold[i] != f)]);
            T[,] test = Rows(data, heldOut);
            for (int c = 0; c < candidates.Count; c++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                T[] logDensity = candidates[c].Fit(train, options.Seed + f, cancellationToken).DensityLn(test);
                for (int k = 0; k < heldOut.Length; k++)
                {
                    scores[c][heldOut[k]] = double.CreateTruncating(logDensity[k]);
                }
            }
        }

        double[] means = [.. scores.Select(s => s.Average())];
        int best = Array.IndexOf(means, means.Max());
        var results = new CandidateScore[candidates.Count];
        for (int c = 0; c < candidates.Count; c++)
        {
            double[] difference = [.. scores[c].Select((v, i) => v - scores[best][i])];
            double[] foldMeans = [.. Enumerable.Range(0, options.Folds).Select(f => Enumerable.Range(0, n).Where(i => fold[i] == f).Average(i => scores[c][i]))];
            results[c] = new CandidateScore(candidates[c].Name, means[c], StandardError(scores[c]), means[c] - means[best],
                StandardError(difference), foldMeans);
        }

        // A non-finite mean (a row scored −∞) can never be chosen, and NaN never compares as within reach of the best.
        int chosen = best;
        if (options.PreferSimpler)
        {
            chosen = Array.FindIndex(results, r => r.DifferenceFromBest >= -r.DifferenceStandardError);
        }

        TransformedDistribution<T>? model = options.RefitBest ? candidates[chosen].Fit(data, options.Seed + options.Folds, cancellationToken) : null;
        return new ModelSelectionReport<T>(results, results[chosen], model);
    }

    // The sample standard deviation (divisor n − 1) over √n.
    private static double StandardError(double[] values)
    {
        double mean = values.Average();
        double squares = values.Sum(v => (v - mean) * (v - mean));
        return Math.Sqrt(squares / (values.Length - 1) / values.Length);
    }

    private static T[,] Rows<T>(T[,] data, int[] rows) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = data.GetLength(1);
        var result = new T[rows.Length, d];
        for (int i = 0; i < rows.Length; i++)
        {
            for (int j = 0; j < d; j++)
            {
                result[i, j] = data[rows[i], j];
            }
        }

        return result;
    }
}
