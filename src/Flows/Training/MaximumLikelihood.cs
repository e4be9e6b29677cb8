using System.Numerics;
using Flows.Autodiff;
using Flows.Distributions;
using Flows.Numerics;

namespace Flows.Training;

/// <summary>Fitting a flow to data by maximum likelihood: minimizing the mean negative log-density with Adam.</summary>
public static class MaximumLikelihood
{
    /// <summary>
    /// Fits <paramref name="flow"/> to the rows of <paramref name="data"/>: minibatches shuffled each epoch, a held-out
    /// validation split, early stopping, and at the end the parameters of the best epoch restored.
    /// </summary>
    /// <remarks>
    /// Training steps run on a tape in training mode (<see cref="Tape{T}.IsTraining"/>): BatchNorm normalizes with batch
    /// statistics and updates its running averages. The validation loss, and the pass before the first step in which an
    /// uninitialized ActNorm initializes from the first minibatch, run outside training.
    /// </remarks>
    /// <param name="flow">The flow; its parameters are updated in place.</param>
    /// <param name="data">n × Dimension training data, all finite.</param>
    /// <param name="options">The settings; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the fit between minibatches; the best parameters so far are restored first.</param>
    /// <returns>The loss history and the epoch kept.</returns>
    /// <exception cref="ArgumentException">The data are empty, have the wrong width or hold a non-finite value (named by row and column).</exception>
    /// <exception cref="InvalidOperationException">The loss or a gradient became non-finite; the best parameters so far are restored.</exception>
    /// <exception cref="OperationCanceledException">The fit was cancelled.</exception>
    public static FitReport Fit<T>(this TransformedDistribution<T> flow, T[,] data, FitOptions? options = null,
        CancellationToken cancellationToken = default)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Fit(flow, data, context: null, options, cancellationToken);

    /// <summary>Fits a conditional flow to (x, context) pairs; see <see cref="Fit{T}(TransformedDistribution{T}, T[,], FitOptions?, CancellationToken)"/>.</summary>
    /// <param name="flow">The flow; its parameters are updated in place.</param>
    /// <param name="data">n × Dimension training data, all finite.</param>
    /// <param name="context">n × ContextDimension context rows, all finite; null for an unconditional flow.</param>
    /// <param name="options">The settings; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the fit between minibatches; the best parameters so far are restored first.</param>
    /// <returns>The loss history and the epoch kept.</returns>
    /// <exception cref="ArgumentException">The data are empty, have the wrong width or hold a non-finite value (named by row and column).</exception>
    /// <exception cref="InvalidOperationException">The loss or a gradient became non-finite; the best parameters so far are restored.</exception>
    /// <exception cref="OperationCanceledException">The fit was cancelled.</exception>
    public static FitReport Fit<T>(this TransformedDistribution<T> flow, T[,] data, T[,]? context, FitOptions? options = null,
        CancellationToken cancellationToken = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new FitOptions();
        options.Validate();
        int rows = CheckData(flow, data, context);
        var trainer = new Trainer<T>(flow, Batch.AsSpan(data), context is null ? default : Batch.AsSpan(context), rows, options);
        return trainer.Run(cancellationToken);
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

        Batch.CheckFinite<T>(Batch.AsSpan(context), flow.ContextDimension, nameof(context), "conditional flows");
        return rows;
    }

    // One fit: the split data, the reusable tape and batch buffers, and the best parameters so far.
    private sealed class Trainer<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly TransformedDistribution<T> _flow;
        private readonly FitOptions _options;
        private readonly int _dimension;
        private readonly int _contextDimension;
        private readonly T[] _train;
        private readonly T[] _trainContext;
        private readonly T[] _validation;
        private readonly T[] _validationContext;
        private readonly int _trainRows;
        private readonly int _validationRows;
        private readonly IReadOnlyList<Parameter<T>> _parameters;
        private ParameterSnapshot<T> _best = null!;
        private readonly Random _random;

        public Trainer(TransformedDistribution<T> flow, ReadOnlySpan<T> data, ReadOnlySpan<T> context, int rows, FitOptions options)
        {
            _flow = flow;
            _options = options;
            _dimension = flow.Dimension;
            _contextDimension = flow.ContextDimension;
            _random = new Random(options.Seed);
            _parameters = flow.Parameters;

            int[] order = [.. Enumerable.Range(0, rows)];
            _random.Shuffle(order);
            _validationRows = (int)Math.Round(rows * options.ValidationFraction);
            if (_validationRows >= rows)
            {
                _validationRows = rows - 1;
            }

            _trainRows = rows - _validationRows;
            _train = Gather(data, order.AsSpan(_validationRows), _dimension);
            _validation = Gather(data, order.AsSpan(0, _validationRows), _dimension);
            _trainContext = Gather(context, order.AsSpan(_validationRows), _contextDimension);
            _validationContext = Gather(context, order.AsSpan(0, _validationRows), _contextDimension);
        }

        public FitReport Run(CancellationToken cancellationToken)
        {
            var optimizer = new Adam<T>(_parameters, _options.Optimizer);
            // Training steps record and train (BatchNorm uses batch statistics); validation does neither, so it scores
            // the fixed map that DensityLn on arrays gives and leaves the running statistics alone.
            var tape = new Tape<T>(isRecording: true, isTraining: true);
            var evaluation = new Tape<T>(isRecording: false, isTraining: false);

            // One evaluation pass first lets data-initialized layers (ActNorm) initialize before the first snapshot, so
            // that restoring the snapshot can never pair initialized-state flags with pre-initialization values. ActNorm
            // initializes on a tape that does not record; being outside training, the pass leaves BatchNorm's running
            // statistics to the training steps.
            int warmUpRows = Math.Min(_options.BatchSize, _trainRows);
            Node<T>? warmUpContext = _contextDimension == 0 ? null
                : evaluation.Constant(_trainContext.AsSpan(0, warmUpRows * _contextDimension), warmUpRows, _contextDimension);
            _flow.DensityLn(evaluation, evaluation.Constant(_train.AsSpan(0, warmUpRows * _dimension), warmUpRows, _dimension), warmUpContext);
            _best = new ParameterSnapshot<T>(_parameters);

            int batchSize = Math.Min(_options.BatchSize, _trainRows);
            var batch = new T[batchSize * _dimension];
            var batchContext = new T[batchSize * _contextDimension];
            int[] order = [.. Enumerable.Range(0, _trainRows)];
            T? maxNorm = _options.MaxGradientNorm is double norm ? T.CreateTruncating(norm) : null;
            var history = new List<EpochReport>();
            double bestLoss = double.PositiveInfinity;
            int bestEpoch = 0;
            bool stoppedEarly = false;

            for (int epoch = 1; epoch <= _options.Epochs; epoch++)
            {
                _random.Shuffle(order);
                double lossSum = 0;
                int batches = 0;
                for (int start = 0; start < _trainRows; start += batchSize)
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        _best.Restore();
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    int count = Math.Min(batchSize, _trainRows - start);
                    ReadOnlySpan<int> rows = order.AsSpan(start, count);
                    Fill(_train, rows, _dimension, batch);
                    Fill(_trainContext, rows, _contextDimension, batchContext);

                    tape.Reset();
                    Node<T> x = tape.Constant(batch.AsSpan(0, count * _dimension), count, _dimension);
                    Node<T>? c = _contextDimension == 0 ? null : tape.Constant(batchContext.AsSpan(0, count * _contextDimension), count, _contextDimension);
                    Node<T> loss = tape.Negate(tape.Mean(_flow.DensityLn(tape, x, c)));
                    T lossValue = loss.Values[0];
                    if (!T.IsFinite(lossValue))
                    {
                        Diverged($"The training loss became {lossValue} at epoch {epoch}, batch {batches + 1}");
                    }

                    optimizer.ZeroGradients();
                    tape.Backward(loss);
                    T gradientNorm = GradientClipping.GlobalNorm(_parameters);
                    if (!T.IsFinite(gradientNorm))
                    {
                        Diverged($"A gradient became non-finite at epoch {epoch}, batch {batches + 1} (loss {lossValue})");
                    }

                    if (maxNorm is T limit)
                    {
                        GradientClipping.ClipByGlobalNorm(_parameters, limit);
                    }

                    optimizer.Step();
                    lossSum += double.CreateTruncating(lossValue);
                    batches++;
                }

                double trainLoss = lossSum / batches;
                double? validationLoss = _validationRows > 0
                    ? MeanNegativeLogLikelihood(evaluation, _validation, _validationContext, _validationRows)
                    : null;
                var report = new EpochReport(epoch, trainLoss, validationLoss);
                history.Add(report);
                _options.Progress?.Report(report);

                // The loss that decides the snapshot must be that of the parameters snapshotted. Without a split, the
                // running train loss was measured before each step, so a last step that diverged would be kept as best.
                double watched = validationLoss ?? MeanNegativeLogLikelihood(evaluation, _train, _trainContext, _trainRows);
                if (watched < bestLoss)
                {
                    bestLoss = watched;
                    bestEpoch = epoch;
                    _best.Take();
                }
                else if (epoch - bestEpoch >= _options.Patience)
                {
                    stoppedEarly = epoch < _options.Epochs;
                    break;
                }
            }

            _best.Restore();
            return new FitReport(history, bestEpoch, bestLoss, stoppedEarly);
        }

        private double MeanNegativeLogLikelihood(Tape<T> evaluation, T[] data, T[] context, int rows)
        {
            const int chunk = TransformedDistribution<T>.EvaluationChunkRows;
            double sum = 0;
            for (int start = 0; start < rows; start += chunk)
            {
                int count = Math.Min(chunk, rows - start);
                evaluation.Reset();
                Node<T> x = evaluation.Constant(data.AsSpan(start * _dimension, count * _dimension), count, _dimension);
                Node<T>? c = _contextDimension == 0 ? null
                    : evaluation.Constant(context.AsSpan(start * _contextDimension, count * _contextDimension), count, _contextDimension);
                sum -= double.CreateTruncating(evaluation.Sum(_flow.DensityLn(evaluation, x, c)).Values[0]);
            }

            // A non-finite loss never becomes the best; it counts against patience.
            return double.IsFinite(sum) ? sum / rows : double.PositiveInfinity;
        }

        [System.Diagnostics.CodeAnalysis.DoesNotReturn]
        private void Diverged(string what)
        {
            _best.Restore();
            throw new InvalidOperationException(
                $"{what}. The parameters of the best epoch so far were restored; try a smaller learning rate, a smaller MaxGradientNorm or standardized data.");
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
