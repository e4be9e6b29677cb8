namespace Flows.Training;

/// <summary>Settings of maximum-likelihood fitting (<see cref="MaximumLikelihood"/>), with documented defaults.</summary>
public sealed record FitOptions
{
    /// <summary>Passes over the training data at most. Default 100. Range: &gt; 0.</summary>
    public int Epochs { get; init; } = 100;

    /// <summary>Rows per minibatch. Default 256. Range: &gt; 0.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>The optimizer's settings. Default: Adam with learning rate 1e-3.</summary>
    public AdamOptions Optimizer { get; init; } = new();

    /// <summary>Gradients are scaled down together when their global norm exceeds this. Default 5; null turns clipping off.</summary>
    /// <remarks>
    /// Flows fitted by maximum likelihood see rare minibatches whose gradient norm is tens to hundreds of times the
    /// typical one (a MAF on two moons: median 5–10, maximum over 1000). Unclipped, such steps inflate Adam's second
    /// moments and can leave the fit on a plateau that early stopping then keeps. With the bound at 5 many ordinary
    /// steps are clipped too (rescaled by step-dependent factors); on two moons, single MAF fits went from 3 in 5 seeds
    /// below −0.40 nats to 0 in 5 (4 in 30 over seeds 0–29). 5 is sbi's
    /// default too. Before this default, clipping was off.
    /// Range: &gt; 0, finite, or null.
    /// </remarks>
    public double? MaxGradientNorm { get; init; } = 5.0;

    /// <summary>Share of the rows held out for validation and early stopping. Default 0.1. Range: [0, 1).</summary>
    /// <remarks>With 0, early stopping watches the training loss, scored on every training row at each check.</remarks>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Epochs without a better validation loss before stopping. Default 10. Range: &gt; 0.</summary>
    public int Patience { get; init; } = 10;

    /// <summary>
    /// Optimizer steps between checks of the watched loss within an epoch, besides the check at the start (epoch 0) and
    /// at the end of every epoch. Default null: no checks within an epoch. Range: &gt; 0, or null.
    /// </summary>
    /// <remarks>
    /// A check scores every validation row (every training row without a split): a forward pass that costs about a
    /// third of as many training steps on as many rows, so with the default split a check costs about 4 % of an epoch.
    /// On small data an epoch is a few steps and checks at its end are frequent enough for the best parameters to be
    /// close to the best the fit passed through. When an epoch is long (many thousands of steps), a divergence in its
    /// middle would restore parameters from before the epoch: set this to a number of steps that keeps checks cheap,
    /// for example an epoch's steps divided by 5. Checks count from the last check, and the one at the end of an
    /// epoch restarts the count.
    /// </remarks>
    public int? ValidationInterval { get; init; }

    /// <summary>
    /// How far above the best loss so far a check may score before the fit counts as diverged, in units of
    /// max(Dimension, |best|) nats per row. Default 10. Range: &gt; 0; +∞ turns the check off (non-finite losses still
    /// count as divergence).
    /// </summary>
    /// <remarks>
    /// The mean negative log-likelihood grows with the dimension and with the scale of the data, hence the unit. A fit
    /// that is merely overfitting rises slowly and early stopping ends it; one whose loss jumps by ten times that unit
    /// (a 2-D flow on two moons going from 2.5 to 25 nats or beyond) has left the region it was fitting. On divergence the
    /// best parameters are restored and <see cref="FitReport.Status"/> is <see cref="FitStatus.Diverged"/>.
    /// </remarks>
    public double DivergenceTolerance { get; init; } = 10;

    /// <summary>
    /// Throw an <see cref="InvalidOperationException"/> on divergence, after restoring the best parameters, instead of
    /// returning a report whose status is <see cref="FitStatus.Diverged"/>. Default false.
    /// </summary>
    public bool ThrowOnDivergence { get; init; }

    /// <summary>
    /// At the end, restore the parameters (and BatchNorm running statistics) of the best check. Default true. With false
    /// the flow keeps those of the last step, which may score worse than the start (a report warning then says so);
    /// divergence and cancellation restore the best parameters either way.
    /// </summary>
    public bool RestoreBest { get; init; } = true;

    /// <summary>
    /// What to do when the data lie far outside the range the flow's layers are built for, or the context far outside
    /// unit scale as the conditioners receive it (see
    /// <see cref="MaximumLikelihood.CheckDataRange{T}(Distributions.TransformedDistribution{T}, T[,], T[,])"/>). Default
    /// <see cref="DataRangeCheck.Warn"/>: a warning in <see cref="FitReport.Warnings"/>.
    /// </summary>
    public DataRangeCheck DataRangeCheck { get; init; } = DataRangeCheck.Warn;

    /// <summary>Seed of the validation split and the shuffling: the same seed gives the same fit, bit for bit. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>Receives one report per epoch, from epoch 1 (the start is <see cref="FitReport.Initial"/>). Default null.</summary>
    /// <remarks>
    /// <see cref="IProgress{T}.Report"/> is called on the fitting thread while the fit holds the flow. A handler that
    /// runs there (a synchronous <see cref="IProgress{T}"/>) may call the flow's <c>DensityLn</c>, <c>Sample</c> or
    /// <c>Save</c>; one that <see cref="Progress{T}"/> posts to another thread and that does so waits until the fit ends.
    /// </remarks>
    public IProgress<EpochReport>? Progress { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Epochs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(BatchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Patience);
        ArgumentNullException.ThrowIfNull(Optimizer);
        Optimizer.Validate();
        if (!(ValidationFraction >= 0 && ValidationFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(ValidationFraction), ValidationFraction, "ValidationFraction must lie in [0, 1).");
        }

        if (MaxGradientNorm is double norm && !(norm > 0 && double.IsFinite(norm)))
        {
            throw new ArgumentOutOfRangeException(nameof(MaxGradientNorm), norm, "MaxGradientNorm must be finite and > 0.");
        }

        if (ValidationInterval is int interval)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(interval, nameof(ValidationInterval));
        }

        if (!(DivergenceTolerance > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(DivergenceTolerance), DivergenceTolerance, "DivergenceTolerance must be > 0 (+∞ turns the check off).");
        }

        if (!Enum.IsDefined(DataRangeCheck))
        {
            throw new ArgumentOutOfRangeException(nameof(DataRangeCheck), DataRangeCheck, "DataRangeCheck must be Warn, Throw or Off.");
        }
    }
}
