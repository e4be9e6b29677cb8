using Flows.Numerics;

namespace Flows.Training;

/// <summary>Settings of maximum-likelihood fitting (<see cref="MaximumLikelihood"/>), with documented defaults.</summary>
public sealed record FitOptions
{
    /// <summary>
    /// Passes over the training data at most. Default null: 100 epochs, or more when epochs are short, so that the fit
    /// may take at least 20,000 optimizer steps. Range: &gt; 0, or null.
    /// </summary>
    /// <remarks>
    /// Early stopping (<see cref="Patience"/>) usually ends a fit long before this. A budget in epochs alone starves
    /// small tables: with a few hundred rows an epoch is one or two minibatches, and 100 epochs are 100–200 steps, where
    /// a flow needs thousands (zuko's protocol runs until 1,000 steps pass without a better validation loss; issue 13
    /// measured its figures that way, with at most 20,000 steps).
    /// </remarks>
    public int? Epochs { get; init; }

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

    /// <summary>
    /// Share of the rows held out for validation and early stopping. Default null: 20 % of a small table, 10 % of a large
    /// one (see the remarks). Range: [0, 1), or null.
    /// </summary>
    /// <remarks>
    /// <para>The default holds out max(0.1·n, min(0.2·n, 500)) of n rows: 20 % up to 2,500 rows, then 500 rows, then
    /// 10 % from 5,000 rows on. On a small table the best check is chosen among noisy scores of a few rows, and a flow
    /// kept at a lucky check can score far worse on new data: the Iris sample's MAF scored −3.41 nats per flower with
    /// 10 % held out and −3.17 with 20 % (the fitted Gaussian: −3.37). On large data 10 % is plenty and the rest trains.</para>
    /// <para>With 0, early stopping watches the training loss, scored on every training row at each check.</para>
    /// </remarks>
    public double? ValidationFraction { get; init; }

    /// <summary>
    /// Epochs without a better watched loss before stopping. Default null: 10 epochs, or more when epochs are short, so
    /// that at least 1,000 optimizer steps pass without improvement before the fit stops. Range: &gt; 0, or null.
    /// </summary>
    /// <remarks>
    /// Patience counted in epochs alone would stop a fit on a 100-row table ten steps after its best check, where
    /// the validation loss of a flow still falls in steps after plateaus of hundreds. Every epoch ends with a check, so
    /// on small data the checks are as frequent as the steps and the best parameters restored are close to the peak.
    /// </remarks>
    public int? Patience { get; init; }

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
    /// Decay β of an exponential moving average of the parameters, θ̄ ← β θ̄ + (1 − β) θ after each step (β ramps up
    /// as (1 + k)/(10 + k) over the first steps), which the checks score and keep in place of the parameters themselves.
    /// Default null: 0.9999 with <see cref="FitObjective.FlowMatching"/>, none (0) with maximum likelihood. Range: [0, 1),
    /// or null; 0 turns it off.
    /// </summary>
    /// <remarks>
    /// The flow-matching loss regresses onto targets with a large variance, so Adam's parameters wander around the fit
    /// and its validation loss, on fixed draws, moves more between checks than it improves in a thousand steps: early
    /// stopping then ends the fit too soon. The average (Polyak averaging, the "EMA" of diffusion and flow-matching
    /// models) smooths both. With it, the report's validation losses and the best check are those of the average, and
    /// with <see cref="RestoreBest"/> false the flow ends with the last average; the training losses are the minibatches'
    /// of the parameters themselves.
    /// <para>Through the ramp, the average after k steps weighs step j about as (j/k)⁸ until β reaches the decay (at
    /// k ≈ 9/(1 − β) steps): 0.9999 is that power-law average for any fit under about 90,000 steps. On two moons (the
    /// quality protocol: 20,000 rows, patience about 1,000 steps, seed 0, 10,000 held-out rows) flow matching at the
    /// preset's defaults scored −0.447 without an average (early stopped at 8,505 steps), −0.393 with β = 0.99, −0.373
    /// with 0.999 and −0.357 with 0.9999 (early stopped at 15,309 steps).</para>
    /// </remarks>
    public double? AverageDecay { get; init; }

    /// <summary>
    /// What to do when the data lie far outside the range the flow's layers are built for, or the context far outside
    /// unit scale as the conditioners receive it (see
    /// <see cref="MaximumLikelihood.CheckDataRange{T}(Distributions.TransformedDistribution{T}, T[,], T[,])"/>). Default
    /// <see cref="DataRangeCheck.Warn"/>: a warning in <see cref="FitReport.Warnings"/>.
    /// </summary>
    public DataRangeCheck DataRangeCheck { get; init; } = DataRangeCheck.Warn;

    /// <summary>
    /// Columns that hold integers (counts, category codes), fitted by uniform dequantization. Default null: none.
    /// Range: distinct column indices in [0, Dimension); the data in them must be whole numbers.
    /// </summary>
    /// <remarks>
    /// <para>Each training minibatch gets fresh noise u ~ U[0, 1) added to these columns (drawn from <see cref="Seed"/>, so
    /// the same seed gives the same fit); validation rows, the training rows scored when there is no split, and the rows
    /// that initialize data-dependent layers get one fixed draw, so that checks are comparable. The flow thus fits a
    /// continuous density p whose mass over the cell [k, k + 1) of an integer value k is the model's probability of k:
    /// P(x) = ∫ p(x + u) du over the unit cell of the integer columns (Theis, van den Oord &amp; Bethge 2016,
    /// arXiv:1511.01844; Ho et al. 2019, Flow++, arXiv:1902.00275). The fitted loss, E log p(x + u), is a lower bound on
    /// log P(x) by Jensen's inequality.</para>
    /// <para>After the fit, <see cref="Dequantization.CellMassLn{T}(Distributions.TransformedDistribution{T}, T[,], IReadOnlyList{int}, int, Random)"/>
    /// estimates log P(x) with its standard error; <c>DensityLn</c> still gives the continuous density p, and
    /// ⌊·⌋ of a sample's integer columns is a draw from P. A support on such a column must hold its cells
    /// (<c>Support.Positive(-1)</c> for counts from 0). With float data, integers beyond 2²³ have no room for the noise.
    /// <see cref="ModelSelection"/> scores held-out rows by <c>DensityLn</c>, not by cell mass: to compare models of
    /// integer data, compare the mean <c>CellMassLn</c> of held-out rows instead.</para>
    /// </remarks>
    public IReadOnlyList<int>? IntegerColumns { get; init; }

    /// <summary>
    /// What the fit minimizes. Default <see cref="FitObjective.MaximumLikelihood"/>; <see cref="FitObjective.FlowMatching"/>
    /// trains a flow whose bijector is a <c>ContinuousFlow</c> by flow matching (its checks then watch the flow-matching
    /// loss of fixed draws, and the report's losses are flow-matching losses).
    /// </summary>
    public FitObjective Objective { get; init; } = FitObjective.MaximumLikelihood;

    /// <summary>Seed of the validation split and the shuffling: the same seed gives the same fit, bit for bit. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// The most threads one training step uses; null (the default) takes <see cref="Parallelism.MaxDegreeOfParallelism"/>
    /// (all cores), 1 runs the fit on the calling thread. Range: null or ≥ 1.
    /// </summary>
    /// <remarks>
    /// A minibatch is cut into blocks of 128 rows, whatever the thread count; each block runs forward and backward on its
    /// own tape, and the blocks' losses and gradients are summed in block order. So the same <see cref="Seed"/> gives the
    /// same fit, bit for bit, with any value here. (A batch of more than 128 rows therefore sums its loss and gradient in
    /// blocks, which differs in the last bits from the single pass of versions without threads.) A flow with a
    /// <c>BatchNorm</c> that trains, whose statistics are over the whole batch, or with a layer that draws random numbers
    /// as it evaluates trains on the whole batch on one thread.
    /// </remarks>
    public int? MaxDegreeOfParallelism { get; init; }

    /// <summary>Receives one report per epoch, from epoch 1 (the start is <see cref="FitReport.Initial"/>). Default null.</summary>
    /// <remarks>
    /// <see cref="IProgress{T}.Report"/> is called on the fitting thread while the fit holds the flow. A handler that
    /// runs there (a synchronous <see cref="IProgress{T}"/>) may call the flow's <c>DensityLn</c>, <c>Sample</c> or
    /// <c>Save</c>; one that <see cref="Progress{T}"/> posts to another thread and that does so waits until the fit ends.
    /// </remarks>
    public IProgress<EpochReport>? Progress { get; init; }

    // The defaults' budgets in steps (see Epochs and Patience).
    private const int DefaultSteps = 20_000;
    private const int DefaultPatienceSteps = 1_000;

    /// <summary>The epochs of a fit whose epochs take <paramref name="stepsPerEpoch"/> steps.</summary>
    internal int EpochsFor(int stepsPerEpoch) => Epochs ?? Math.Max(100, CeilingDivision(DefaultSteps, stepsPerEpoch));

    /// <summary>The patience, in epochs, of a fit whose epochs take <paramref name="stepsPerEpoch"/> steps.</summary>
    internal int PatienceFor(int stepsPerEpoch) => Patience ?? Math.Max(10, CeilingDivision(DefaultPatienceSteps, stepsPerEpoch));

    /// <summary>The rows held out of <paramref name="rows"/> (before the guarantee of one training row).</summary>
    internal int ValidationRowsFor(int rows) => ValidationFraction is double fraction
        ? (int)Math.Round(rows * fraction)
        : (int)Math.Round(Math.Max(0.1 * rows, Math.Min(0.2 * rows, 500)));

    /// <summary>The rows held out of <paramref name="rows"/>, leaving at least one training row.</summary>
    internal int ValidationRowsKept(int rows) => Math.Min(ValidationRowsFor(rows), rows - 1);

    /// <summary>The most epochs a fit of <paramref name="rows"/> rows may run (its progress bar's length).</summary>
    internal int EpochBudget(int rows)
    {
        int train = rows - ValidationRowsKept(rows);
        return EpochsFor(CeilingDivision(train, Math.Min(BatchSize, train)));
    }

    private static int CeilingDivision(int a, int b) => (a + b - 1) / b;

    internal void Validate()
    {
        if (Epochs is int epochs)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(epochs, nameof(Epochs));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(BatchSize);
        Parallelism.CheckOverride(MaxDegreeOfParallelism, nameof(MaxDegreeOfParallelism));
        if (Patience is int patience)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(patience, nameof(Patience));
        }

        ArgumentNullException.ThrowIfNull(Optimizer);
        Optimizer.Validate();
        if (ValidationFraction is double fraction && !(fraction >= 0 && fraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(ValidationFraction), fraction, "ValidationFraction must lie in [0, 1), or be null.");
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

        if (IntegerColumns is not null && (IntegerColumns.Any(c => c < 0) || IntegerColumns.Distinct().Count() != IntegerColumns.Count))
        {
            throw new ArgumentOutOfRangeException(nameof(IntegerColumns), $"IntegerColumns must hold distinct non-negative column indices, got [{string.Join(", ", IntegerColumns)}].");
        }

        if (AverageDecay is double decay && !(decay >= 0 && decay < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(AverageDecay), decay, "AverageDecay must lie in [0, 1), or be null.");
        }

        if (!Enum.IsDefined(Objective))
        {
            throw new ArgumentOutOfRangeException(nameof(Objective), Objective, "Objective must be MaximumLikelihood or FlowMatching.");
        }

        if (!Enum.IsDefined(DataRangeCheck))
        {
            throw new ArgumentOutOfRangeException(nameof(DataRangeCheck), DataRangeCheck, "DataRangeCheck must be Warn, Throw or Off.");
        }
    }
}
