using System.Globalization;

namespace Flows.Distributions;

/// <summary>
/// The share ε of a flow's density given to the Gaussian fitted to the same training data: the flow's model is the
/// mixture <c>p(x) = (1 − ε)·p_flow(x) + ε·N(x; μ̂, Σ̂)</c> (a defensive mixture, as in defensive importance sampling,
/// Hesterberg 1995).
/// </summary>
/// <remarks>
/// <para><b>Why.</b> On small tables a flow can contract the space around its training rows so hard that a held-out row
/// lands where the flow's density is nil, and one such row decides the mean held-out log-likelihood (issue 13: rows
/// scoring −1e4 to −1.9e8 where the median row scored −20). The mixture bounds every row: log p(x) ≥ log ε + log N(x),
/// so no row scores more than −log ε (4.6 nats at ε = 0.01) below its Gaussian log-density, and it costs at most
/// −log(1 − ε) nats (0.01 at ε = 0.01) on rows the flow fits well.</para>
/// <para><b>Training.</b> Fit's steps train the flow on its own log-density; its checks (validation, early stopping,
/// the best parameters kept) and every evaluation score the mixture. Trained inside the mixture instead, a flow gives up
/// on the rows the Gaussian already covers: the spline flow, which starts at the diagonal Gaussian while the defensive one
/// has full covariance, ended 0.9 nats per row worse on a three-cluster 8-feature table (benchmarks/Flows.Quality,
/// mixture8-120, seeds 0–4: −12.34 against −11.42 without a share and −11.42 trained alone).</para>
/// <para><b>Automatic</b> (the presets' default) takes ε = min(0.01, 10 / n) for n training rows when the fit starts:
/// 0.01 on the small tables where collapses happen (measured on Iris and four 120-to-300-row tables, where ε = 0.001
/// did worse on all five), shrinking on large data, where the flow is well determined and the share's cost would only
/// remain (0.0005 nats per row on 20,000 rows). Before the first fit to data, and in variational fits (which have no
/// data to fit the Gaussian to), it is 0: the flow alone.</para>
/// </remarks>
public readonly record struct DefensiveShare
{
    private DefensiveShare(double weight, bool isAutomatic)
    {
        Weight = weight;
        IsAutomatic = isAutomatic;
    }

    /// <summary>No Gaussian share: the flow's density alone.</summary>
    public static DefensiveShare None => default;

    /// <summary>ε = min(0.01, 10 / training rows), resolved when a fit to data starts; 0 (the flow alone) before.</summary>
    public static DefensiveShare Automatic => new(0, isAutomatic: true);

    /// <summary>The largest automatic share, taken by fits on up to 1,000 training rows.</summary>
    public const double MaximumAutomaticWeight = 0.01;

    /// <summary>A fixed share.</summary>
    /// <param name="weight">ε. Range: [0, 0.5]; 0 gives <see cref="None"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="weight"/> is outside [0, 0.5] or NaN.</exception>
    public static DefensiveShare Fixed(double weight)
    {
        if (!(weight is >= 0 and <= 0.5))
        {
            throw new ArgumentOutOfRangeException(nameof(weight), weight,
                "The defensive share must lie in [0, 0.5]: it is the Gaussian's weight in the mixture, a safeguard, not a second model.");
        }

        return new DefensiveShare(weight, isAutomatic: false);
    }

    /// <summary>ε: the fixed share; 0 for <see cref="Automatic"/>, whose share a fit chooses.</summary>
    public double Weight { get; }

    /// <summary>Whether the share is chosen from the training rows when a fit starts.</summary>
    public bool IsAutomatic { get; }

    /// <summary>Whether the flow is mixed with a Gaussian at all.</summary>
    public bool IsEnabled => IsAutomatic || Weight > 0;

    /// <summary>The share a fit on <paramref name="trainingRows"/> rows uses.</summary>
    /// <param name="trainingRows">Rows the fit trains on; 0 for a fit without data (variational inference), where an
    /// automatic share is 0. Range: ≥ 0.</param>
    public double For(int trainingRows)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(trainingRows);
        return !IsAutomatic ? Weight : trainingRows == 0 ? 0 : Math.Min(MaximumAutomaticWeight, 10.0 / trainingRows);
    }

    /// <inheritdoc/>
    public override string ToString()
        => IsAutomatic ? "Automatic" : Weight > 0 ? Weight.ToString("G4", CultureInfo.InvariantCulture) : "None";
}
