using System.Globalization;
using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Numerics;

namespace Flows.Training;

/// <summary>Fitting a flow to data by maximum likelihood: minimizing the mean negative log-density with Adam.</summary>
public static class MaximumLikelihood
{
    /// <summary>
    /// Fits <paramref name="flow"/> to the rows of <paramref name="data"/>: minibatches shuffled each epoch, a held-out
    /// validation split, early stopping, divergence detection, and at the end the parameters of the best check restored.
    /// </summary>
    /// <remarks>
    /// <para><b>Never worse than its start.</b> The watched loss (the mean negative log-likelihood of the validation rows,
    /// or of all training rows without a split) is scored at the start as epoch 0, at the end of every epoch, and every
    /// <see cref="FitOptions.ValidationInterval"/> steps within one. The flow ends with the parameters — and BatchNorm
    /// running statistics — of the best of these checks, so it never scores worse on the watched loss than before the
    /// fit (unless <see cref="FitOptions.RestoreBest"/> is false).</para>
    /// <para><b>Divergence.</b> A non-finite minibatch loss or gradient, a step that leaves a parameter non-finite, or a check scoring more than
    /// <see cref="FitOptions.DivergenceTolerance"/> × max(Dimension, |best|) above the best, stops the fit and restores
    /// the best parameters. The report's status is then <see cref="FitStatus.Diverged"/> and its
    /// <see cref="FitReport.Divergence"/> names the rows the flow fits worst (by their index in <paramref name="data"/>),
    /// says whether they are outliers of the data, and what to try; with <see cref="FitOptions.ThrowOnDivergence"/> the same
    /// text comes as an <see cref="InvalidOperationException"/>.</para>
    /// <para><b>Data range.</b> Before fitting, data far outside the range the flow's layers are built for, and a context
    /// far outside unit scale as the conditioners receive it, are reported as
    /// <see cref="CheckDataRange{T}(TransformedDistribution{T}, T[,], T[,])"/> describes, per
    /// <see cref="FitOptions.DataRangeCheck"/>.</para>
    /// <para><b>Modes and data-initialized layers.</b> Training steps run on a tape in training mode
    /// (<see cref="Tape{T}.IsTraining"/>): BatchNorm normalizes with batch statistics and updates its running averages.
    /// The checks, and the pass before the first step, run outside training. That first pass initializes every data-initialized
    /// layer (<see cref="ActNorm{T}"/>, a <see cref="LowerTriangularAffine{T}"/> built with <c>initializeFromData</c>, as
    /// in the presets' Gaussian start) that has not been initialized — or was initialized only by an evaluation, such as
    /// a probe of the untrained flow — from the training data: its first 4,096 rows, or a minibatch if that is larger.</para>
    /// <para><b>Defensive share.</b> A flow built with a <see cref="DefensiveShare"/> (the density presets' default) takes
    /// its share ε from the training rows when the fit starts, and fits its Gaussian, once, to the training and validation
    /// rows together (up to 65,536). The steps train the flow on its own log-density (a training tape leaves the share
    /// out); the checks score the mixture (1 − ε) p_flow + ε N, so no validation row can cost more than log(1/ε) nats
    /// below its Gaussian log-density.</para>
    /// <para><b>Flow matching.</b> With <see cref="FitOptions.Objective"/> = <see cref="FitObjective.FlowMatching"/> the
    /// same loop minimizes the flow-matching loss of a flow whose bijector is a <see cref="ContinuousFlow{T}"/> instead of
    /// the negative log-likelihood; its checks, early stopping, divergence and the report then concern that loss (see
    /// <see cref="FitObjective.FlowMatching"/>).</para>
    /// <para><b>Threads.</b> The fit holds the flow's evaluation lock (and those of flows nested in it) from start to end:
    /// <c>DensityLn</c>, <c>Sample</c> and <c>Save</c> on other threads wait for it to return and then see the flow it
    /// leaves, and the fit gives the same bits as when run alone. On the fitting thread, a progress handler may call
    /// them; a second fit of the same flow from there throws an <see cref="InvalidOperationException"/>.</para>
    /// </remarks>
    /// <param name="flow">The flow; its parameters are updated in place.</param>
    /// <param name="data">n × Dimension training data, all finite and at most T's largest value / 1024 in magnitude.</param>
    /// <param name="options">The settings; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the fit between minibatches; the best parameters so far are restored first.</param>
    /// <returns>How the fit ended, the loss at the start and after each epoch, and the epoch kept.</returns>
    /// <exception cref="ArgumentException">The data are empty, have the wrong width, hold a non-finite value or one within
    /// a factor 1024 of T's largest value, whose fitted flow would sample beyond T's range (named by row and column); or,
    /// with <see cref="DataRangeCheck.Throw"/>, they lie far outside the flow's range (named by column); or a column of
    /// <see cref="FitOptions.IntegerColumns"/> is beyond Dimension or holds a value that is not a whole number (named by
    /// row and column). A value outside its column's support, when the layer next to the data is a
    /// <see cref="ColumnSupports{T}"/>, is refused likewise. With <see cref="FitObjective.FlowMatching"/>, the flow's
    /// bijector is not a <see cref="ContinuousFlow{T}"/>.</exception>
    /// <exception cref="InvalidOperationException">A parameter of the flow is not finite before the fit; the flow is
    /// already being fitted on this thread; or, with <see cref="FitOptions.ThrowOnDivergence"/>, the fit diverged (the best
    /// parameters are restored first).</exception>
    /// <exception cref="FitCanceledException{FitReport}">The fit was cancelled; the exception carries the report so far.</exception>
    public static FitReport Fit<T>(this TransformedDistribution<T> flow, T[,] data, FitOptions? options = null,
        CancellationToken cancellationToken = default)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Fit(flow, data, context: null, options, cancellationToken);

    /// <summary>Fits a conditional flow to (x, context) pairs; see <see cref="Fit{T}(TransformedDistribution{T}, T[,], FitOptions?, CancellationToken)"/>.</summary>
    /// <param name="flow">The flow; its parameters are updated in place.</param>
    /// <param name="data">n × Dimension training data, all finite and at most T's largest value / 1024 in magnitude.</param>
    /// <param name="context">n × ContextDimension context rows, all finite; null for an unconditional flow.</param>
    /// <param name="options">The settings; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the fit between minibatches; the best parameters so far are restored first.</param>
    /// <returns>How the fit ended, the loss at the start and after each epoch, and the epoch kept.</returns>
    /// <exception cref="ArgumentException">The data or context are empty, have the wrong width or hold a non-finite
    /// value (named by row and column), the data hold a value within a factor 1024 of T's largest; or, with
    /// <see cref="DataRangeCheck.Throw"/>, the data lie far outside the flow's range, or the context, as the conditioners
    /// receive it, far outside unit scale (see <see cref="CheckDataRange{T}(TransformedDistribution{T}, T[,], T[,])"/>); or
    /// the data break <see cref="FitOptions.IntegerColumns"/> or a <see cref="ColumnSupports{T}"/> next to the data.</exception>
    /// <exception cref="InvalidOperationException">A parameter is not finite before the fit; the flow is already being
    /// fitted on this thread; or, with <see cref="FitOptions.ThrowOnDivergence"/>, the fit diverged.</exception>
    /// <exception cref="FitCanceledException{FitReport}">The fit was cancelled; the exception carries the report so far.</exception>
    public static FitReport Fit<T>(this TransformedDistribution<T> flow, T[,] data, T[,]? context, FitOptions? options = null,
        CancellationToken cancellationToken = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new FitOptions();
        options.Validate();
        int rows = CheckData(flow, data, context);
        if (options.IntegerColumns is { Count: > 0 } integerColumns)
        {
            Dequantization.CheckIntegerColumns<T>(Batch.AsSpan(data), flow.Dimension, integerColumns, nameof(data), nameof(options));
            Dequantization.CheckCellsInside(flow.Layers.DataSupport, Batch.AsSpan(data), flow.Dimension, [.. integerColumns], nameof(data));
        }

        var warnings = new List<string>();
        if (options.DataRangeCheck != DataRangeCheck.Off)
        {
            ReadOnlySpan<T> contextValues = context is null ? default : Batch.AsSpan(context);
            RangeAdvice(FitDiagnostics.DataRange(flow, Batch.AsSpan(data), rows), nameof(data), options.DataRangeCheck, warnings);
            RangeAdvice(FitDiagnostics.ContextRange(flow, contextValues, rows), nameof(context), options.DataRangeCheck, warnings);
        }

        var trainer = new Trainer<T>(flow, Batch.AsSpan(data), context is null ? default : Batch.AsSpan(context), rows, options, warnings);
        return trainer.Run(cancellationToken);
    }

    /// <summary>
    /// Fits a mixture (of flows, or of any distributions) to the rows of <paramref name="data"/> by maximum likelihood:
    /// the same loop, checks, data-dependent initialization of component flows and report as
    /// <see cref="Fit{T}(TransformedDistribution{T}, T[,], FitOptions?, CancellationToken)"/>, run on the flow whose base is
    /// the mixture and whose bijector is the identity permutation (messages name that flow).
    /// </summary>
    /// <param name="mixture">The mixture; its logits and its components' parameters are updated in place.</param>
    /// <param name="data">n × Dimension training data, all finite and at most T's largest value / 1024 in magnitude.</param>
    /// <param name="options">The settings; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the fit between minibatches; the best parameters so far are restored first.</param>
    /// <returns>How the fit ended, the loss at the start and after each epoch, and the epoch kept.</returns>
    /// <exception cref="ArgumentException">As for a flow: the data are empty, of the wrong width or not finite.</exception>
    /// <exception cref="InvalidOperationException">As for a flow.</exception>
    /// <exception cref="FitCanceledException{FitReport}">The fit was cancelled; the exception carries the report so far.</exception>
    public static FitReport Fit<T>(this Mixture<T> mixture, T[,] data, FitOptions? options = null, CancellationToken cancellationToken = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(mixture);
        return Fit(mixture.AsFlow, data, context: null, options, cancellationToken);
    }

    // Throws or records the advice of a range check, per DataRangeCheck.
    private static void RangeAdvice(string? advice, string name, DataRangeCheck check, List<string> warnings)
    {
        if (advice is null)
        {
            return;
        }

        if (check == DataRangeCheck.Throw)
        {
            throw new ArgumentException(advice, name);
        }

        warnings.Add(advice);
    }

    /// <summary>
    /// Says whether <paramref name="data"/> lie far outside the range the layers of <paramref name="flow"/> are built
    /// for, which <c>Fit</c> also checks before fitting (see <see cref="FitOptions.DataRangeCheck"/>).
    /// </summary>
    /// <remarks>
    /// The range is [−B, B] for a flow with spline layers of tail bound B (the smallest, when they differ), outside which
    /// the splines are the identity; and ±100 for other flows, whose layers start near the identity on a standard normal
    /// base and so are built for data of about unit scale. A column is reported when more than a tenth of its rows lie
    /// outside, with its range, mean and standard deviation. A flow whose layer next to the data is an ActNorm or a
    /// BatchNorm standardizes the data itself and is never reported.
    /// </remarks>
    /// <param name="flow">The flow.</param>
    /// <param name="data">n × Dimension data, all finite.</param>
    /// <returns>The advice, naming the columns and their range and what to do; empty when the data are in range.</returns>
    /// <exception cref="ArgumentException">The data have the wrong width or hold a non-finite value.</exception>
    public static IReadOnlyList<string> CheckDataRange<T>(this TransformedDistribution<T> flow, T[,] data)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(data);
        if (data.GetLength(1) != flow.Dimension)
        {
            throw new ArgumentException($"data has {data.GetLength(1)} columns but the flow has Dimension {flow.Dimension}.", nameof(data));
        }

        Batch.CheckFinite<T>(Batch.AsSpan(data), flow.Dimension, nameof(data), "the range check");
        return data.GetLength(0) > 0 && FitDiagnostics.DataRange(flow, Batch.AsSpan(data), data.GetLength(0)) is string advice ? [advice] : [];
    }

    /// <summary>
    /// Says whether <paramref name="data"/> lie far outside the range the layers of <paramref name="flow"/> are built
    /// for, as <see cref="CheckDataRange{T}(TransformedDistribution{T}, T[,])"/> does, and whether
    /// <paramref name="context"/> lies far outside unit scale as the conditioners receive it; <c>Fit</c> checks both.
    /// </summary>
    /// <remarks>
    /// Conditioners take the context unscaled (without the soft clip of their inputs) into their first layer, whose
    /// weights start for inputs of about unit scale; a context column is reported when more than a tenth of its rows lie
    /// beyond ±100. A flow built by <c>WithContextEmbedding</c> with standardization feeds its conditioners the
    /// standardized context: that is checked once the standardization is set, and never reported while it waits to be
    /// set from the context of the coming fit.
    /// </remarks>
    /// <param name="flow">The flow.</param>
    /// <param name="data">n × Dimension data, all finite.</param>
    /// <param name="context">n × ContextDimension contexts, all finite; null for an unconditional flow.</param>
    /// <returns>The advice for the data, then for the context, each naming the columns, their range and what to do;
    /// empty when both are in range.</returns>
    /// <exception cref="ArgumentException">The data or context have the wrong shape or hold a non-finite value.</exception>
    public static IReadOnlyList<string> CheckDataRange<T>(this TransformedDistribution<T> flow, T[,] data, T[,]? context)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        List<string> advice = [.. CheckDataRange(flow, data)];
        if (flow.ContextDimension == 0 && context is null)
        {
            return advice;
        }

        if (context is null || context.GetLength(0) != data.GetLength(0) || context.GetLength(1) != flow.ContextDimension)
        {
            string got = context is null ? "none" : $"{context.GetLength(0)} × {context.GetLength(1)}";
            throw new ArgumentException($"context must be {data.GetLength(0)} × {flow.ContextDimension}, got {got}.", nameof(context));
        }

        Batch.CheckFinite<T>(Batch.AsSpan(context), flow.ContextDimension, nameof(context), "the range check");
        if (context.GetLength(0) > 0 && FitDiagnostics.ContextRange(flow, Batch.AsSpan(context), context.GetLength(0)) is string contextAdvice)
        {
            advice.Add(contextAdvice);
        }

        return advice;
    }

    private static int CheckData<T>(TransformedDistribution<T> flow, T[,] data, T[,]? context)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = data.GetLength(0);
        if (rows == 0)
        {
            throw new ArgumentException("data has no rows; fitting needs at least one.", nameof(data));
        }

        if (data.GetLength(1) != flow.Dimension)
        {
            throw new ArgumentException($"data has {data.GetLength(1)} columns but the flow has Dimension {flow.Dimension}.", nameof(data));
        }

        Batch.CheckFinite<T>(Batch.AsSpan(data), flow.Dimension, nameof(data), "fitting and densities");
        flow.Layers.DataSupport?.CheckInside(Batch.AsSpan(data), nameof(data), "fitting and densities");
        // A fit starts its data-initialized layers from the data's mean and spread; a flow fitted to data this close to
        // overflow would sample beyond T's range.
        if (Batch.FirstNearOverflow<T>(Batch.AsSpan(data)) is int near and >= 0)
        {
            throw new ArgumentException(
                $"{Batch.DescribeNearOverflow<T>(Batch.AsSpan(data), near, flow.Dimension, nameof(data))}: a flow fitted to it would sample beyond that range. " +
                "Scale the column (divide it by its largest magnitude) and undo that on samples.", nameof(data));
        }

        if (flow.ContextDimension == 0)
        {
            if (context is not null)
            {
                throw new ArgumentException("context was given but the flow takes no context.", nameof(context));
            }

            return rows;
        }

        if (context is null || context.GetLength(0) != rows || context.GetLength(1) != flow.ContextDimension)
        {
            string got = context is null ? "none" : $"{context.GetLength(0)} × {context.GetLength(1)}";
            throw new ArgumentException($"context must be {rows} × {flow.ContextDimension}, got {got}.", nameof(context));
        }

        Batch.CheckContextValues<T>(Batch.AsSpan(context), flow.ContextDimension, nameof(context));
        return rows;
    }

    // One fit: the split data, the reusable tapes and batch buffers, the checks so far and the parameters of the best.
    private sealed class Trainer<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Rows that initialize the data-dependent layers: a mean and standard deviation from 4,096 rows are within about
        // 2 % of the population's (1/√n), and one pass over them costs less than a few training steps.
        private const int InitializationRows = 4096;

        // Rows the defensive Gaussian is fitted to at most: its mean and covariance are then within about 0.4 % (1/√n).
        private const int DefensiveGaussianRows = 65_536;

        private readonly TransformedDistribution<T> _flow;
        private readonly FitOptions _options;
        private readonly int _dimension;
        private readonly int _contextDimension;
        private readonly T[] _train;
        // The training rows that checks and initialization score: _train itself, or with integer columns a copy
        // dequantized once (see FitOptions.IntegerColumns).
        private readonly T[] _trainScored;
        private readonly int[] _integerColumns;
        private readonly Random _noise;
        private readonly T[] _trainContext;
        private readonly T[] _validation;
        private readonly T[] _validationContext;
        private readonly int[] _trainOriginal;
        private readonly int[] _validationOriginal;
        private readonly int _trainRows;
        private readonly int _validationRows;
        private readonly IReadOnlyList<Parameter<T>> _parameters;
        private readonly Random _random;
        // The flow-matching loss when FitOptions.Objective asks for it (see FitObjective.FlowMatching), else null.
        private readonly FlowMatching<T>? _flowMatching;
        // Validation and the pass before the first step neither record nor train: they score the fixed map that
        // DensityLn on arrays gives and leave BatchNorm's running statistics alone.
        private readonly Tape<T> _evaluation = new(isRecording: false, isTraining: false);
        private readonly List<string> _warnings;
        private readonly List<EpochReport> _history = [];
        private readonly List<FitCheck> _checks = [];
        private readonly WorstRows _worst = new();
        private bool _worstAreValidationRows;

        // The standard error of the last mean computed by MeanNegativeLogLikelihood, which a check records with its loss.
        private double _lastStandardError = double.NaN;
        private ParameterSnapshot<T> _best = null!;
        // The moving average of the parameters that checks score (FitOptions.AverageDecay), or null.
        private ParameterAverage<T>? _average;
        private FitCheck _bestCheck;
        private EpochReport _initial;
        private int _epoch;
        private int _steps;
        private RowDescriber<T>? _describer;

        public Trainer(TransformedDistribution<T> flow, ReadOnlySpan<T> data, ReadOnlySpan<T> context, int rows, FitOptions options,
            List<string> warnings)
        {
            _flow = flow;
            _options = options;
            _warnings = warnings;
            _dimension = flow.Dimension;
            _contextDimension = flow.ContextDimension;
            _random = new Random(options.Seed);
            _parameters = flow.Parameters;
            _flowMatching = options.Objective == FitObjective.FlowMatching ? new FlowMatching<T>(flow, options.Seed) : null;

            int[] order = [.. Enumerable.Range(0, rows)];
            _random.Shuffle(order);
            _validationRows = options.ValidationRowsKept(rows);

            _trainRows = rows - _validationRows;
            _trainOriginal = order[_validationRows..];
            _validationOriginal = order[.._validationRows];
            _train = Gather(data, _trainOriginal, _dimension);
            _validation = Gather(data, _validationOriginal, _dimension);
            _trainContext = Gather(context, _trainOriginal, _contextDimension);
            _validationContext = Gather(context, _validationOriginal, _contextDimension);
            // Dequantization noise from its own stream, so that a fit without integer columns draws exactly as before.
            _integerColumns = [.. options.IntegerColumns ?? []];
            _noise = new Random(options.Seed ^ 0x5EED_D0E5);
            _trainScored = _train;
            if (_integerColumns.Length > 0)
            {
                Dequantization.AddNoise<T>(_validation, _dimension, _integerColumns, _noise);
                _trainScored = [.. _train];
                Dequantization.AddNoise<T>(_trainScored, _dimension, _integerColumns, _noise);
            }
        }

        public FitReport Run(CancellationToken cancellationToken)
        {
            // Held to the end: readers on other threads wait rather than see, or disturb, a fit in progress.
            using EvaluationScope<T> held = _flow.BeginFit();
            _flow.Layers.CheckParametersFinite("fitting");
            // The size-adapted weight decay unless the caller chose one, none for flow matching (see AdamOptions.WeightDecay).
            AdamOptions adam = _options.Optimizer.WeightDecay is null
                ? _options.Optimizer with
                {
                    WeightDecay = _flowMatching is null ? AdamOptions.SizeAdaptedWeightDecay(_trainRows, _options.Optimizer.LearningRate) : 0,
                }
                : _options.Optimizer;
            var optimizer = new Adam<T>(_parameters, adam);
            var gradient = new DataParallelGradient<T>(_flow, _flowMatching);
            var globalNorm = new GradientNorm<T>(_parameters);
            int degree = Parallelism.Resolve(_options.MaxDegreeOfParallelism);
            _flow.ResolveDefensiveShare(_trainRows);
            InitializeDataDependentLayers();
            _best = new ParameterSnapshot<T>(_parameters, _flow.Layers.Layers.Select(l => l.Layer).OfType<BatchNorm<T>>());
            double averageDecay = _options.AverageDecay ?? (_flowMatching is null ? 0 : 0.9999);
            _average = averageDecay > 0 ? new ParameterAverage<T>(_parameters, averageDecay) : null;

            // Epoch 0: the start is a check like any other, so a fit whose every epoch is worse keeps it.
            double initialTrain = MeanNegativeLogLikelihood(_trainScored, _trainContext, _trainRows, validation: false);
            double? initialValidation = _validationRows > 0
                ? MeanNegativeLogLikelihood(_validation, _validationContext, _validationRows, validation: true)
                : null;
            _initial = new EpochReport(0, initialTrain, initialValidation);
            _bestCheck = new FitCheck(0, 0, initialValidation ?? initialTrain) { StandardError = _lastStandardError };
            _checks.Add(_bestCheck);
            if (!double.IsFinite(_bestCheck.Loss))
            {
                return Diverged(string.Create(CultureInfo.InvariantCulture, 
                    $"The {Watched} loss is {_bestCheck.Loss} at the start, before any step: the flow gives some rows zero or non-finite density"));
            }

            int batchSize = Math.Min(_options.BatchSize, _trainRows);
            var batch = new T[batchSize * _dimension];
            var batchContext = new T[batchSize * _contextDimension];
            int[] order = [.. Enumerable.Range(0, _trainRows)];
            T? maxNorm = _options.MaxGradientNorm is double norm ? T.CreateTruncating(norm) : null;
            FitStatus status = FitStatus.Completed;
            int sinceCheck = 0;
            int stepsPerEpoch = (_trainRows + batchSize - 1) / batchSize;
            int epochs = _options.EpochsFor(stepsPerEpoch);
            int patience = _options.PatienceFor(stepsPerEpoch);

            for (_epoch = 1; _epoch <= epochs; _epoch++)
            {
                _random.Shuffle(order);
                double lossSum = 0;
                int batches = 0;
                for (int start = 0; start < _trainRows; start += batchSize)
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        Cancel(cancellationToken);
                    }

                    int count = Math.Min(batchSize, _trainRows - start);
                    ReadOnlySpan<int> rows = order.AsSpan(start, count);
                    Fill(_train, rows, _dimension, batch);
                    Dequantization.AddNoise<T>(batch.AsSpan(0, count * _dimension), _dimension, _integerColumns, _noise);
                    Fill(_trainContext, rows, _contextDimension, batchContext);
                    _flowMatching?.Draw(count, batchContext.AsSpan(0, count * _contextDimension));

                    // Forward and backward, in blocks on up to `degree` threads (the gradients are zeroed first).
                    T lossValue = gradient.Run(batch, _contextDimension == 0 ? null : batchContext, 0, count, degree);
                    if (!T.IsFinite(lossValue))
                    {
                        WorstOfBatch(gradient.LogDensity, rows);
                        return Diverged(string.Create(CultureInfo.InvariantCulture, 
                            $"The training loss became {double.CreateTruncating(lossValue)} at epoch {_epoch}, batch {batches + 1} (step {_steps + 1})"));
                    }

                    T gradientNorm = globalNorm.Compute(degree);
                    if (!T.IsFinite(gradientNorm))
                    {
                        WorstOfBatch(gradient.LogDensity, rows);
                        return Diverged(string.Create(CultureInfo.InvariantCulture, 
                            $"A gradient became non-finite at epoch {_epoch}, batch {batches + 1} (step {_steps + 1}, loss {double.CreateTruncating(lossValue):G6})"));
                    }

                    if (maxNorm is T limit)
                    {
                        globalNorm.Clip(limit, gradientNorm, degree);
                    }

                    optimizer.Step(degree);
                    _steps++;
                    // A finite gradient can still give a non-finite step (a huge learning rate); say so, not what it breaks next.
                    if (!optimizer.LastStepWasFinite && _flow.Layers.FirstNonFiniteParameter() is string nonFinite)
                    {
                        WorstOfBatch(gradient.LogDensity, rows);
                        return Diverged(string.Create(CultureInfo.InvariantCulture,
                            $"The Adam step made a parameter non-finite at epoch {_epoch}, batch {batches + 1} (step {_steps}): {nonFinite}"));
                    }

                    _average?.Update();
                    lossSum += double.CreateTruncating(lossValue);
                    batches++;
                    sinceCheck++;
                    // A check within the epoch, unless the epoch ends with this step and checks anyway.
                    if (_options.ValidationInterval is int interval && sinceCheck == interval && start + count < _trainRows)
                    {
                        sinceCheck = 0;
                        // Checks score the average when there is one (FitOptions.AverageDecay).
                        _average?.Exchange();
                        string? what = Check(WatchedLoss());
                        _average?.Exchange();
                        if (what is not null)
                        {
                            return Diverged(what);
                        }
                    }
                }

                double trainLoss = lossSum / batches;
                _average?.Exchange();
                double? validationLoss = _validationRows > 0
                    ? MeanNegativeLogLikelihood(_validation, _validationContext, _validationRows, validation: true)
                    : null;
                var report = new EpochReport(_epoch, trainLoss, validationLoss);
                _history.Add(report);
                _options.Progress?.Report(report);

                // The loss that decides the snapshot must be that of the parameters snapshotted. Without a split, the
                // running train loss was measured before each step, so a last step that diverged would be kept as best.
                sinceCheck = 0;
                string? diverged = Check(validationLoss ?? WatchedLoss());
                _average?.Exchange();
                if (diverged is not null)
                {
                    return Diverged(diverged);
                }

                if (_epoch - _bestCheck.Epoch >= patience)
                {
                    status = _epoch < epochs ? FitStatus.EarlyStopped : FitStatus.Completed;
                    break;
                }
            }

            return Finish(status);
        }

        private string Watched => _validationRows > 0 ? "validation" : "training";

        // Data-initialized layers (ActNorm, a Gaussian start's LowerTriangularAffine) take their start from the training
        // rows — all of them up to InitializationRows, never fewer than a minibatch — seen through the layers between
        // them and the data, in one pass outside training (so that BatchNorm's running statistics are left to the
        // training steps). A layer that only an evaluation initialized — a probe of the untrained flow, say — starts
        // again from the training data; one initialized on purpose (Initialize, an earlier fit, a file) is kept. Doing
        // this before the first snapshot means that restoring a snapshot never pairs an initialized flag with values
        // from before the initialization.
        private void InitializeDataDependentLayers()
        {
            DataInitialization[] initializations = [.. _flow.Layers.DataInitialized.Select(l => l.Initialization)];
            foreach (DataInitialization initialization in initializations)
            {
                initialization.ForgetIfByEvaluation();
            }

            InitializeDefensiveGaussian();
            if (initializations.All(i => i.IsInitialized))
            {
                return;
            }

            int rows = Math.Min(_trainRows, Math.Max(_options.BatchSize, InitializationRows));
            _evaluation.Reset();
            Node<T>? context = _contextDimension == 0 ? null
                : _evaluation.Constant(_trainContext.AsSpan(0, rows * _contextDimension), rows, _contextDimension);
            _flow.DensityLn(_evaluation, _evaluation.Constant(_trainScored.AsSpan(0, rows * _dimension), rows, _dimension), context);
            foreach (DataInitialization initialization in initializations)
            {
                initialization.Keep();
            }
        }

        // The defensive Gaussian (see DefensiveShare) is fitted by every fit to data, to its training and validation rows
        // together, up to DefensiveGaussianRows: it is a function of the data alone (no gradient steps to overfit with, and
        // none to move it to new data on a refit), and the bound it gives (no row more than log(1/ε) below the Gaussian's
        // log-density) then holds against the Gaussian of all the data the fit was given. The validation score is thus
        // slightly optimistic: the Gaussian in the mixture has seen the validation rows (at most ε of the density).
        private void InitializeDefensiveGaussian()
        {
            if (_flow.DefensiveComponent is not { } defensive || _flow.DefensiveWeight == 0)
            {
                return;
            }

            DataInitialization[] initializations = [.. defensive.Layers.DataInitialized.Select(l => l.Initialization)];
            foreach (DataInitialization initialization in initializations)
            {
                initialization.Forget();
            }

            int trainRows = Math.Min(_trainRows, DefensiveGaussianRows);
            int validationRows = Math.Min(_validationRows, DefensiveGaussianRows - trainRows);
            _evaluation.Reset();
            Node<T> x = Stacked(_trainScored, trainRows, _validation, validationRows, _dimension);
            Node<T>? context = _contextDimension == 0 ? null : Stacked(_trainContext, trainRows, _validationContext, validationRows, _contextDimension);
            defensive.DensityLn(_evaluation, x, context);
            foreach (DataInitialization initialization in initializations)
            {
                initialization.Keep();
            }
        }

        private Node<T> Stacked(T[] first, int firstRows, T[] second, int secondRows, int columns)
        {
            Node<T> stacked = _evaluation.Allocate(firstRows + secondRows, columns);
            first.AsSpan(0, firstRows * columns).CopyTo(stacked.Values);
            second.AsSpan(0, secondRows * columns).CopyTo(stacked.Values[(firstRows * columns)..]);
            return stacked;
        }

        private double WatchedLoss() => _validationRows > 0
            ? MeanNegativeLogLikelihood(_validation, _validationContext, _validationRows, validation: true)
            : MeanNegativeLogLikelihood(_trainScored, _trainContext, _trainRows, validation: false);

        // Records a check and keeps its parameters when it is the best; returns what happened when it diverged.
        private string? Check(double loss)
        {
            var check = new FitCheck(_epoch, _steps, loss) { StandardError = _lastStandardError };
            _checks.Add(check);
            double best = _bestCheck.Loss;
            double limit = _options.DivergenceTolerance * Math.Max(_dimension, Math.Abs(best));
            if (!double.IsFinite(loss))
            {
                return string.Create(CultureInfo.InvariantCulture, $"The {Watched} loss became {loss} at epoch {_epoch} (step {_steps})");
            }

            if (loss - best > limit)
            {
                return string.Create(CultureInfo.InvariantCulture, 
                    $"The {Watched} loss rose to {loss:G6} at epoch {_epoch} (step {_steps}) from a best of {best:G6} at epoch {_bestCheck.Epoch}, " +
                    $"more than DivergenceTolerance × max(Dimension, |best|) = {limit:G3} above it");
            }

            if (loss < best)
            {
                _bestCheck = check;
                _best.Take();
            }

            return null;
        }

        private FitReport Finish(FitStatus status)
        {
            double lastLoss = _checks[^1].Loss;
            if (_options.RestoreBest)
            {
                _best.Restore();
                if (_bestCheck.Epoch == 0 && _history.Count > 0)
                {
                    _warnings.Add(string.Create(CultureInfo.InvariantCulture, 
                        $"No check improved on the start ({Watched} loss {_bestCheck.Loss:G6}), so the flow is returned as it was before the fit. " +
                        $"Try a smaller learning rate (now {_options.Optimizer.LearningRate:G3}) or check the data."));
                }
            }
            else if (_average is not null)
            {
                // The last check scored the average, which the flow keeps (FitOptions.AverageDecay).
                _average.Exchange();
            }

            if (!_options.RestoreBest && lastLoss > _bestCheck.Loss)
            {
                string worseThanStart = lastLoss > _checks[0].Loss ? string.Create(CultureInfo.InvariantCulture, $", and above the start's ({_checks[0].Loss:G6})") : "";
                _warnings.Add(string.Create(CultureInfo.InvariantCulture, 
                    $"RestoreBest is false, so the flow keeps the parameters of the last step, whose {Watched} loss {lastLoss:G6} is above that of the " +
                    $"best check ({_bestCheck.Loss:G6}, epoch {_bestCheck.Epoch}){worseThanStart}."));
            }

            return Report(status, divergence: null);
        }

        private FitReport Diverged(string what)
        {
            string rows = "";
            bool anyOutlier = false;
            if (_worst.Count > 0)
            {
                _describer ??= new RowDescriber<T>(_train, _validation, _trainOriginal, _validationOriginal, _dimension);
                (string described, anyOutlier) = _describer.Describe(_worst, _worstAreValidationRows);
                rows = $" The {(_worstAreValidationRows ? "validation" : "training")} rows the flow fits worst there: {described}.";
            }

            string clipping = _options.MaxGradientNorm is double norm
                ? string.Create(CultureInfo.InvariantCulture, $" or a smaller MaxGradientNorm (now {norm:G3})")
                : " or gradient clipping (MaxGradientNorm)";
            string advice = anyOutlier
                ? " Rows that lie far from the rest of their column can dominate the loss: remove or transform them, or standardize each column."
                : _steps == 0
                    ? " Standardize the data, or start from a flow that covers them."
                    : string.Create(CultureInfo.InvariantCulture,
                        $" The rows named are not outliers of the data, so the step size is the likely cause: try a smaller learning rate (now {_options.Optimizer.LearningRate:G3}){clipping}.");
            string restored = _steps == 0
                ? " The flow is as it was at the start."
                : string.Create(CultureInfo.InvariantCulture, $" The parameters of the best check (epoch {_bestCheck.Epoch}, step {_bestCheck.Step}, {Watched} loss {_bestCheck.Loss:G6}) were restored.");
            string message = $"{what}.{rows}{advice}{restored}";
            _best.Restore();
            FitReport report = Report(FitStatus.Diverged, message);
            return _options.ThrowOnDivergence ? throw new InvalidOperationException(message) : report;
        }

        [System.Diagnostics.CodeAnalysis.DoesNotReturn]
        private void Cancel(CancellationToken cancellationToken)
        {
            _best.Restore();
            throw new FitCanceledException<FitReport>(
                string.Create(CultureInfo.InvariantCulture, $"The fit was cancelled in epoch {_epoch} after {_steps} steps; the parameters of epoch {_bestCheck.Epoch} " +
                    $"({Watched} loss {_bestCheck.Loss:G6}) were restored. The exception's Report holds the history."),
                Report(FitStatus.Cancelled, divergence: null),
                cancellationToken);
        }

        private FitReport Report(FitStatus status, string? divergence)
            => new(status, _initial, [.. _history], [.. _checks], _bestCheck, _steps, divergence, [.. _warnings]);

        private void WorstOfBatch(ReadOnlySpan<T> logDensity, ReadOnlySpan<int> rows)
        {
            _worst.Clear();
            _worstAreValidationRows = false;
            for (int i = 0; i < rows.Length; i++)
            {
                _worst.Offer(rows[i], double.CreateTruncating(logDensity[i]));
            }
        }

        // Also notes the rows with the lowest density, which a divergence found by this pass names.
        private double MeanNegativeLogLikelihood(T[] data, T[] context, int rows, bool validation)
        {
            if (_flowMatching is not null)
            {
                (double mean, _lastStandardError) = _flowMatching.MeanLoss(data, context, rows, validation);
                return mean;
            }

            const int chunk = TransformedDistribution<T>.EvaluationChunkRows;
            _worst.Clear();
            _worstAreValidationRows = validation;
            double sum = 0;
            // Squares about the first row's value, so that a large common offset of the log-densities cancels exactly.
            double shift = double.NaN;
            double shiftedSum = 0;
            double shiftedSquares = 0;
            for (int start = 0; start < rows; start += chunk)
            {
                int count = Math.Min(chunk, rows - start);
                _evaluation.Reset();
                Node<T> x = _evaluation.Constant(data.AsSpan(start * _dimension, count * _dimension), count, _dimension);
                Node<T>? c = _contextDimension == 0 ? null
                    : _evaluation.Constant(context.AsSpan(start * _contextDimension, count * _contextDimension), count, _contextDimension);
                Node<T> logDensity = _flow.DensityLn(_evaluation, x, c);
                for (int i = 0; i < count; i++)
                {
                    double value = double.CreateTruncating(logDensity.Values[i]);
                    _worst.Offer(start + i, value);
                    shift = double.IsNaN(shift) ? value : shift;
                    shiftedSum += value - shift;
                    shiftedSquares += (value - shift) * (value - shift);
                }

                sum -= double.CreateTruncating(_evaluation.Sum(logDensity).Values[0]);
            }

            double variance = (shiftedSquares - (shiftedSum * shiftedSum / rows)) / (rows - 1);
            _lastStandardError = rows > 1 && double.IsFinite(sum) ? Math.Sqrt(Math.Max(variance, 0) / rows) : double.NaN;

            // A non-finite total is reported as +∞ (or NaN), which a check counts as divergence.
            return double.IsFinite(sum) ? sum / rows : double.IsNaN(sum) ? double.NaN : double.PositiveInfinity;
        }

        private static T[] Gather(ReadOnlySpan<T> source, ReadOnlySpan<int> rows, int width)
        {
            var result = new T[rows.Length * width];
            Fill(source, rows, width, result);
            return result;
        }

        private static void Fill(ReadOnlySpan<T> source, ReadOnlySpan<int> rows, int width, Span<T> destination)
        {
            for (int i = 0; i < rows.Length; i++)
            {
                source.Slice(rows[i] * width, width).CopyTo(destination.Slice(i * width, width));
            }
        }
    }
}
