using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Numerics;

namespace Flows.Distributions;

/// <summary>
/// A normalizing flow: a base distribution pushed through a bijector, X = T(Z) with Z ~ base.
/// </summary>
/// <remarks>
/// <para>log p(x) = log p_Z(T⁻¹(x)) + log|det J_T⁻¹(x)|: density evaluation runs the bijector's inverse, sampling its
/// forward. For a conditional flow every call takes a context row per sample.</para>
/// <para>The base is any <see cref="IDistribution{T}"/>, another flow included: then log p(x) is the outer
/// log-determinant plus the inner flow's log-density, sampling runs the inner flow then the outer bijector, and
/// <see cref="Parameters"/> holds the inner flow's parameters too, so fitting the outer flow trains them. The context
/// goes to whichever of base and bijector takes one (both, when both do).</para>
/// <para><b>Defensive share.</b> Built with a <see cref="Distributions.DefensiveShare"/> (the density presets' default),
/// the flow is the mixture (1 − ε) p_flow + ε N of its own density and the Gaussian that <c>Fit</c> fits to its training
/// data, at every level (tape and arrays, density and sampling, validation) except on a training tape
/// (<see cref="Tape{T}.IsTraining"/>), where <see cref="DensityLn(Tape{T}, Node{T}, Node{T})"/> is the flow's own, which
/// is what Fit's steps train. Before the first fit to data an automatic share is 0, so an unfitted preset is the plain
/// flow.</para>
/// <para>The array-level members (<see cref="DensityLn(T[,], T[,])"/>, <see cref="Sample(int, Random, T[,])"/>, …)
/// check their inputs once, and once per call that every parameter is finite (throwing an
/// <see cref="InvalidOperationException"/> that names the parameter otherwise), then evaluate in chunks on an internal
/// tape with recording off. The tape-level members are for training and custom losses.</para>
/// <para><b>Threads.</b> An array-level call splits its rows into chunks of 512 and scores (or transforms) them on up
/// to <see cref="MaxDegreeOfParallelism"/> threads (by default <see cref="Parallelism.MaxDegreeOfParallelism"/>, all
/// cores), each chunk on its own tape; every chunk is computed alike on any thread, so the results are the same bits
/// with any number of threads. Sampling draws every chunk's base noise on the calling thread in chunk order, so a
/// <see cref="Random"/> gives the same samples whatever the thread count. The array-level members and
/// <c>FlowSerializer.Save</c> are safe to call from several threads, and run concurrently: each call holds the flow's
/// evaluation lock (and those of the flows nested in it, outermost first) shared, and lazily refreshed state
/// (InvertibleResidual's spectral-norm vectors) is refreshed under its own lock. A call that would initialize a
/// data-initialized layer (an ActNorm's first data) holds the locks exclusively and runs on its thread alone, in row
/// order, as it changes the flow; so does every call on a flow with a layer that draws random numbers as it evaluates
/// (an <see cref="InvertibleResidual{T}"/> with a Hutchinson log-det estimate), whose results depend on the order of
/// the draws. <c>MaximumLikelihood.Fit</c> and <c>VariationalInference.Fit</c> hold the locks
/// exclusively for their whole run: a call on another thread waits until the fit has returned and then sees the flow
/// as the fit left it, never a half-trained one; a call made before the fit began sees the flow before it. Readers therefore never change a fit, which gives the same bits as when run alone
/// from the same state. A second fit of the same flow on another thread waits likewise; on the fitting thread (in a
/// synchronous progress handler, say) the array-level members work, as the lock is re-entrant, but a nested fit of the
/// flow throws. The tape-level members take no lock: a custom training loop that shares a flow with other threads
/// synchronizes itself.</para>
/// <para><b>Data-initialized layers.</b> An <see cref="ActNorm{T}"/> that has not been initialized initializes from the
/// first data it scores. An array-level <see cref="DensityLn(ReadOnlySpan{T}, Span{T}, ReadOnlySpan{T})"/> of fewer than
/// <see cref="ActNorm{T}.MinimumEvaluationRows"/> rows then throws instead, naming the layer, because so few rows
/// cannot tell each feature's spread; and <c>MaximumLikelihood.Fit</c> initializes the layer again from the training
/// data, so that a stray evaluation before the fit does not decide its start.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification =
    "The evaluation lock lives as long as the flow; the wait handles it creates only under contention are released by their finalizers.")]
public sealed partial class TransformedDistribution<T> : IDistribution<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Rows per evaluation chunk: bounds the memory of array-level calls and of validation in the fitting loops. 512 rows
    // keep a 64-unit layer's activations (256 KB in double) in L2: MAF-8 scores about 1.3x faster than with 4,096, while
    // MAF-64 (512 units) loses about 5 %, its weights being packed once per chunk.
    internal const int EvaluationChunkRows = 512;
    // Shared by evaluations and saves, exclusive for fits; re-entrant, so the fitting thread may evaluate (see remarks).
    private readonly ReaderWriterLockSlim _evaluationLock = new(LockRecursionPolicy.SupportsRecursion);
    private readonly bool _baseTakesContext;
    private readonly bool _bijectorTakesContext;
    private readonly FlowLayers<T> _layers;
    private bool _fitting;

    /// <summary>Creates the flow <c>X = bijector(Z)</c>, Z ~ <paramref name="baseDistribution"/>.</summary>
    /// <param name="baseDistribution">The base distribution: a simple one such as <see cref="StandardNormal{T}"/>, or
    /// another flow.</param>
    /// <param name="bijector">The map from base space to data space.</param>
    /// <exception cref="ArgumentException">The dimensions differ, or base and bijector both take a context and their
    /// context dimensions differ.</exception>
    public TransformedDistribution(IDistribution<T> baseDistribution, IBijector<T> bijector)
        : this(baseDistribution, bijector, DefensiveShare.None, 0, defensiveBijector: null)
    {
    }

    // The constructors' common body; a loaded flow passes its saved share in use and its saved Gaussian.
    internal TransformedDistribution(IDistribution<T> baseDistribution, IBijector<T> bijector, DefensiveShare defensiveShare,
        double defensiveWeight, IBijector<T>? defensiveBijector)
    {
        ArgumentNullException.ThrowIfNull(baseDistribution);
        ArgumentNullException.ThrowIfNull(bijector);
        if (baseDistribution.Dimension != bijector.Dimension)
        {
            throw new ArgumentException(
                $"The base distribution has Dimension {baseDistribution.Dimension} but the bijector has {bijector.Dimension}.", nameof(bijector));
        }

        if (baseDistribution.ContextDimension != 0 && bijector.ContextDimension != 0 && baseDistribution.ContextDimension != bijector.ContextDimension)
        {
            throw new ArgumentException(
                $"The base distribution has ContextDimension {baseDistribution.ContextDimension} but the bijector has {bijector.ContextDimension}; both see the same context.",
                nameof(bijector));
        }

        if (baseDistribution is TransformedDistribution<T> { DefensiveShare: { IsAutomatic: false, Weight: > 0 } })
        {
            throw new ArgumentException(
                "The base distribution is a flow with a fixed defensive share; a fit fits the defensive Gaussian of the flow next to the data " +
                "only. Give the share to the outer flow, or build the inner one with DefensiveShare.None.", nameof(baseDistribution));
        }

        if (defensiveShare.IsEnabled && AngleColumn(baseDistribution, bijector) is string angle)
        {
            throw new ArgumentException(
                $"The flow models {angle} on a circle; a defensive share mixes in a Gaussian of the real line, which is no density there. " +
                "Build the flow with DefensiveShare.None.", nameof(defensiveShare));
        }

        BaseDistribution = baseDistribution;
        Bijector = bijector;
        ContextDimension = Math.Max(baseDistribution.ContextDimension, bijector.ContextDimension);
        // An unconditional bijector still gets the context when the base takes none, so that a stray context is reported
        // by the bijector's shape check as before.
        _baseTakesContext = baseDistribution.ContextDimension != 0;
        _bijectorTakesContext = bijector.ContextDimension != 0 || !_baseTakesContext;
        Parameters = [.. baseDistribution.Parameters.Concat(bijector.Parameters).Distinct()];
        DefensiveShare = defensiveShare;
        _defensive = DefensiveGaussian(bijector, ContextDimension, defensiveShare, defensiveBijector);
        _defensiveWeight = defensiveWeight;
        _layers = new FlowLayers<T>(this);
    }

    /// <summary>The base distribution.</summary>
    public IDistribution<T> BaseDistribution { get; }

    /// <summary>The bijector, base space → data space.</summary>
    public IBijector<T> Bijector { get; }

    /// <summary>Features per sample.</summary>
    public int Dimension => Bijector.Dimension;

    // Lets evaluations and saves run together and keeps fits (and evaluations that initialize a layer) apart from them.
    internal ReaderWriterLockSlim EvaluationLock => _evaluationLock;

    // The layers, their paths and the owners of the parameters, for the checks made once per call and for fitting.
    internal FlowLayers<T> Layers => _layers;

    // Takes the evaluation locks of this flow and of the flows nested in it, shared, outermost first, so that every
    // evaluation, save and fit takes them in one order and none can deadlock another.
    internal EvaluationScope<T> EnterEvaluation() => new(_layers.Flows, exclusive: false);

    // Holds the flow for a whole fit (see the remarks on threads). The locks are re-entrant, so a fit started on the
    // thread that is already fitting the flow (from a progress handler or a target) would interleave its steps with
    // the running fit's: it is refused instead.
    internal EvaluationScope<T> BeginFit()
    {
        var scope = new EvaluationScope<T>(_layers.Flows, exclusive: true);
        if (_layers.Flows.Any(f => f._fitting))
        {
            scope.Dispose();
            throw new InvalidOperationException(
                $"{this} is already being fitted on this thread (Fit was called from inside a fit of it, from a progress handler or a target); " +
                "a flow is fitted by one fit at a time.");
        }

        foreach (TransformedDistribution<T> flow in _layers.Flows)
        {
            flow._fitting = true;
        }

        return new EvaluationScope<T>(scope, () =>
        {
            foreach (TransformedDistribution<T> flow in _layers.Flows)
            {
                flow._fitting = false;
            }
        });
    }

    /// <summary>Context features per sample, of the bijector or of the base; 0 for an unconditional flow.</summary>
    public int ContextDimension { get; }

    /// <summary>Every trainable parameter, of the base distribution and the bijector.</summary>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>log p(x) per row on a tape: n × Dimension → n × 1.</summary>
    /// <remarks>On a training tape the defensive share is left out: the flow's own log-density, which training fits.</remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="x">n × Dimension data.</param>
    /// <param name="context">n × ContextDimension, or null when unconditional.</param>
    public Node<T> DensityLn(Tape<T> tape, Node<T> x, Node<T>? context = null)
    {
        ArgumentNullException.ThrowIfNull(tape);
        (Node<T> z, Node<T> logDet) = Bijector.Inverse(tape, x, _bijectorTakesContext ? context : null);
        Node<T> flowDensityLn = tape.Add(BaseDistribution.DensityLn(tape, z, _baseTakesContext ? context : null), logDet);
        return ActiveDefensive is null || tape.IsTraining ? flowDensityLn : WithDefensiveShare(tape, flowDensityLn, x, context);
    }

    /// <summary>Draws samples on a tape, differentiable in the parameters.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="count">Samples. Range: ≥ 0; equal to the context's rows when conditional.</param>
    /// <param name="random">The source of randomness.</param>
    /// <param name="context">count × ContextDimension, or null when unconditional.</param>
    public Node<T> Sample(Tape<T> tape, int count, Random random, Node<T>? context = null)
    {
        CheckSampling(tape, count, random, context);
        return ActiveDefensive is null ? FlowSampleWithDensityLn(tape, count, random, context).X : SampleWithDefensiveShare(tape, count, random, context);
    }

    /// <summary>
    /// Draws samples and their log-density in one forward pass: log p(x) = log p_Z(z) − log|det J_T(z)|.
    /// This is what variational inference differentiates.
    /// </summary>
    /// <param name="tape">The tape.</param>
    /// <param name="count">Samples. Range: ≥ 0; equal to the context's rows when conditional.</param>
    /// <param name="random">The source of randomness.</param>
    /// <param name="context">count × ContextDimension, or null when unconditional.</param>
    /// <returns>The count × Dimension samples and their count × 1 log-densities.</returns>
    /// <remarks>With a defensive share the rows drawn from the Gaussian are scored by the mixture's density, which runs
    /// the flow's inverse on all rows (see <see cref="Distributions.DefensiveShare"/>).</remarks>
    public (Node<T> X, Node<T> DensityLn) SampleWithDensityLn(Tape<T> tape, int count, Random random, Node<T>? context = null)
    {
        CheckSampling(tape, count, random, context);
        if (ActiveDefensive is null)
        {
            return FlowSampleWithDensityLn(tape, count, random, context);
        }

        Node<T> x = SampleWithDefensiveShare(tape, count, random, context);
        return (x, DensityLn(tape, x, context));
    }

    private static void CheckSampling(Tape<T> tape, int count, Random random, Node<T>? context)
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (context is not null && context.Rows != count)
        {
            throw new ArgumentException($"context has {context.Rows} rows but {count} samples were asked for.", nameof(context));
        }
    }

    // The flow's own draw, in one forward pass: log p(x) = log p_Z(z) − log|det J_T(z)|.
    private (Node<T> X, Node<T> DensityLn) FlowSampleWithDensityLn(Tape<T> tape, int count, Random random, Node<T>? context)
    {
        (Node<T> z, Node<T> baseDensityLn) = BaseDistribution.SampleWithDensityLn(tape, count, random, _baseTakesContext ? context : null);
        (Node<T> x, Node<T> logDet) = Bijector.Forward(tape, z, _bijectorTakesContext ? context : null);
        return (x, tape.Subtract(baseDensityLn, logDet));
    }

    /// <summary>log p(x) for each row of <paramref name="x"/>, written to <paramref name="destination"/>.</summary>
    /// <remarks>A finite row so far out that a layer maps it beyond T's range (a value near T's largest, standardized or
    /// scaled up) gets −∞: its density underflows there, and the layers after it keep it at ±∞ rather than turn it into
    /// NaN — a soft-clipped conditioner input at ±∞ is ±B, and a coupling layer masks by selection, not by a product
    /// with 0. Conditioners without a soft clip (the presets with <c>GaussianStart.None</c>) can still overflow inside
    /// on such rows.</remarks>
    /// <param name="x">n × Dimension values, row-major, all finite.</param>
    /// <param name="destination">n values.</param>
    /// <param name="context">n × ContextDimension values, row-major; empty when unconditional.</param>
    /// <exception cref="ArgumentException">A shape is wrong or <paramref name="x"/> holds a non-finite value, or a value
    /// outside (or on a bound of) its column's support when the layer next to the data is a <see cref="ColumnSupports{T}"/>
    /// (the message names row, column and support).</exception>
    /// <exception cref="InvalidOperationException">A parameter holds NaN or ±∞ (the message names it), or an ActNorm that
    /// has not been initialized would initialize from fewer than <see cref="ActNorm{T}.MinimumEvaluationRows"/> rows
    /// (the message names the layer and the remedies).</exception>
    public void DensityLn(ReadOnlySpan<T> x, Span<T> destination, ReadOnlySpan<T> context = default)
    {
        int rows = CheckData(x, context, nameof(x));
        if (destination.Length != rows)
        {
            throw new ArgumentException($"destination has {destination.Length} elements but x has {rows} rows.", nameof(destination));
        }

        DensityLnChunks(x, destination, context, ContextDimension == 0 ? ContextKind.None : ContextKind.PerRow, checkInitialization: true);
    }

    /// <summary>log p(x) for each row of <paramref name="x"/>.</summary>
    /// <param name="x">n × Dimension, all finite.</param>
    /// <param name="context">n × ContextDimension, or null when unconditional.</param>
    /// <exception cref="ArgumentException">A shape is wrong or <paramref name="x"/> holds a non-finite value.</exception>
    /// <exception cref="InvalidOperationException">A parameter is not finite, or an uninitialized ActNorm would initialize
    /// from too few rows; see <see cref="DensityLn(ReadOnlySpan{T}, Span{T}, ReadOnlySpan{T})"/>.</exception>
    public T[] DensityLn(T[,] x, T[,]? context = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        CheckColumns(x, Dimension, nameof(x));
        if (context is not null)
        {
            CheckColumns(context, ContextDimension, nameof(context));
        }

        var result = new T[x.GetLength(0)];
        DensityLn(Batch.AsSpan(x), result, context is null ? default : Batch.AsSpan(context));
        return result;
    }

    /// <summary>p(x) for each row of <paramref name="x"/>: <c>exp</c> of <see cref="DensityLn(T[,], T[,])"/>.</summary>
    /// <param name="x">n × Dimension, all finite.</param>
    /// <param name="context">n × ContextDimension, or null when unconditional.</param>
    /// <exception cref="ArgumentException">A shape is wrong or <paramref name="x"/> holds a non-finite value.</exception>
    /// <exception cref="InvalidOperationException">As for <see cref="DensityLn(T[,], T[,])"/>.</exception>
    public T[] Density(T[,] x, T[,]? context = null)
    {
        T[] result = DensityLn(x, context);
        Kernels.Map<T, Kernels.Exp<T>>(result, result); // lane-independent: a row's density never depends on its neighbours
        return result;
    }

    /// <summary>Fills <paramref name="destination"/> with samples, row-major.</summary>
    /// <param name="destination">n × Dimension values.</param>
    /// <param name="random">The source of randomness.</param>
    /// <param name="context">n × ContextDimension values, row-major; empty when unconditional.</param>
    /// <exception cref="ArgumentException">A shape is wrong.</exception>
    /// <exception cref="InvalidOperationException">A parameter holds NaN or ±∞; the message names it.</exception>
    public void Sample(Span<T> destination, Random random, ReadOnlySpan<T> context = default)
    {
        ArgumentNullException.ThrowIfNull(random);
        int rows = Batch.RowCount(destination.Length, Dimension, nameof(destination));
        CheckContext(context, rows);
        SampleChunks(destination, random, context, ContextDimension == 0 ? ContextKind.None : ContextKind.PerRow);
    }

    /// <summary>Draws <paramref name="count"/> samples.</summary>
    /// <param name="count">Samples. Range: ≥ 0.</param>
    /// <param name="random">The source of randomness.</param>
    /// <param name="context">count × ContextDimension, or null when unconditional.</param>
    /// <returns>count × Dimension samples.</returns>
    /// <exception cref="ArgumentException">A shape is wrong.</exception>
    /// <exception cref="InvalidOperationException">A parameter holds NaN or ±∞; the message names it.</exception>
    public T[,] Sample(int count, Random random, T[,]? context = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (context is not null)
        {
            CheckColumns(context, ContextDimension, nameof(context));
        }

        var result = new T[count, Dimension];
        Sample(Batch.AsSpan(result), random, context is null ? default : Batch.AsSpan(context));
        return result;
    }

    /// <inheritdoc/>
    public override string ToString() => $"TransformedDistribution({BaseDistribution}, {Bijector})";

    // An uninitialized data-initialized layer takes its shift and scale from the first rows it scores; from one row, or a
    // handful, they would be the row itself and no scale at all (issue 12: a probe at (1e6, −1e6) left a shift of 1e6),
    // and from a value near overflow a spread whose samples overflow, or NaN (issue 12 fuzz: float.MaxValue).
    private void CheckInitializationData(ReadOnlySpan<T> x, int rows)
    {
        if (rows == 0)
        {
            return;
        }

        foreach ((object layer, string path, DataInitialization initialization) in ActiveDefensive is { } defensive
            ? _layers.DataInitialized.Concat(defensive.Layers.DataInitialized.Select(l => (l.Owner, $"DefensiveComponent.{l.Path}", l.Initialization)))
            : _layers.DataInitialized)
        {
            if (initialization.IsInitialized)
            {
                continue;
            }

            if (rows < ActNorm<T>.MinimumEvaluationRows)
            {
                throw new InvalidOperationException(
                    $"{layer} at {path} has not been initialized, and it would initialize from the {rows} row{(rows == 1 ? "" : "s")} " +
                    $"of this call, too few to estimate each feature's mean and spread (it takes at least {ActNorm<T>.MinimumEvaluationRows}). " +
                    "Fit the flow first (Fit initializes it from the training data), call the layer's Initialize with representative data, " +
                    $"or score at least {ActNorm<T>.MinimumEvaluationRows} rows at once.");
            }

            if (Batch.FirstNearOverflow(x) is int near and >= 0)
            {
                throw new InvalidOperationException(
                    $"{layer} at {path} has not been initialized, and it would initialize from the rows of this call, where " +
                    $"{Batch.DescribeNearOverflow(x, near, Dimension, "x")}: a start that wide would sample beyond that range. " +
                    "Fit the flow first (Fit initializes it from the training data), call the layer's Initialize with representative data, " +
                    "or score representative rows first.");
            }
        }
    }

    private int CheckData(ReadOnlySpan<T> x, ReadOnlySpan<T> context, string name)
    {
        int rows = Batch.RowCount(x.Length, Dimension, name);
        Batch.CheckFinite(x, Dimension, name, "densities");
        _layers.DataSupport?.CheckInside(x, name, "densities");
        CheckContext(context, rows);
        return rows;
    }

    private void CheckContext(ReadOnlySpan<T> context, int rows)
    {
        if (ContextDimension == 0)
        {
            if (!context.IsEmpty)
            {
                throw new ArgumentException($"context has {context.Length} values but this flow takes no context.", nameof(context));
            }

            return;
        }

        if (context.Length != rows * ContextDimension)
        {
            throw new ArgumentException(
                $"context has {context.Length} values; {rows} rows of ContextDimension {ContextDimension} need {rows * ContextDimension}.", nameof(context));
        }

        Batch.CheckContextValues(context, ContextDimension, nameof(context));
    }

    private static void CheckColumns(T[,] array, int columns, string name)
    {
        if (array.GetLength(1) != columns)
        {
            throw new ArgumentException($"{name} has {array.GetLength(1)} columns but the flow expects {columns}.", name);
        }
    }
}
