using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;
using Flows.Autodiff;
using Flows.Distributions;

namespace Flows.Training;

/// <summary>
/// Fitting a flow q to an unnormalized target density p̃ by variational inference: maximizing the evidence lower bound
/// ELBO = E_q[log p̃(z) − log q(z)] = log Z − KL(q ‖ p) with reparameterized samples and Adam, then estimating log Z by
/// importance sampling.
/// </summary>
/// <remarks>
/// The target is a <see cref="LogDensityWithGradient{T}"/>: a batch of points in, log p̃ and ∇log p̃ out. Reverse KL
/// is mode-seeking: q may miss modes of p, and the importance-sampling diagnostics (effective sample size) show it.
/// An inverse autoregressive flow samples in one pass per layer, the natural choice here; with
/// <see cref="VariationalOptions.StickingTheLanding"/> each step also scores the samples through the inverse. No pass
/// runs in training mode (<see cref="Tape{T}.IsTraining"/>): BatchNorm uses its running statistics and an ActNorm that
/// has not seen data starts from its current parameters (the identity for a new layer), as described on
/// <see cref="VariationalObjective{T}"/>.
/// References: Rezende &amp; Mohamed, "Variational Inference with Normalizing Flows", ICML 2015, arXiv:1505.05770;
/// Kingma et al., "Improved Variational Inference with Inverse Autoregressive Flow", NeurIPS 2016, arXiv:1606.04934.
/// </remarks>
public static class VariationalInference
{

    /// <summary>
    /// Fits <paramref name="flow"/> to the target by maximizing the ELBO: each step draws
    /// <see cref="VariationalOptions.SamplesPerStep"/> samples, differentiates −ELBO and takes one Adam step; at the end
    /// log Z is estimated by importance sampling.
    /// </summary>
    /// <remarks>
    /// <para><b>Never worse than its start.</b> The fit watches the smoothed ELBO (see
    /// <see cref="VariationalOptions.SmoothingWindow"/>). It keeps the parameters of the last step unless the smoothed
    /// ELBO ended below the estimate of the initial parameters; then it restores those of the best smoothed ELBO (a
    /// warning in the report says so, and <see cref="VariationalReport.KeptStep"/> which they are).</para>
    /// <para><b>Divergence.</b> A target that returns NaN, +∞ or a non-finite gradient, a non-finite ELBO or gradient, a
    /// step that leaves a parameter non-finite, a non-finite ELBO in one more estimate of the parameters the last step
    /// left (made after the last step, outside the trace, since no later step scores them), a smoothed ELBO — or that
    /// last estimate — more than <see cref="VariationalOptions.DivergenceTolerance"/> × max(Dimension, |best|) below the
    /// best, stops the fit and restores the parameters of the best smoothed ELBO so far (the initial ones at step 1). The
    /// report's status is then <see cref="FitStatus.Diverged"/> and its <see cref="VariationalReport.Divergence"/> says
    /// what happened, at which step and sample; with <see cref="VariationalOptions.ThrowOnDivergence"/> the same text
    /// comes as an <see cref="InvalidOperationException"/>. An exception thrown by <paramref name="target"/> propagates
    /// unchanged, after the same restoration.</para>
    /// <para><b>Threads.</b> As <c>MaximumLikelihood.Fit</c>: the fit holds the flow's evaluation lock from start to end,
    /// so array-level calls on other threads wait for it and never change it.</para>
    /// </remarks>
    /// <param name="flow">q: an unconditional flow; its parameters are updated in place.</param>
    /// <param name="target">log p̃ and its gradient, for a batch.</param>
    /// <param name="options">The settings; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the fit between steps; the parameters of the best smoothed ELBO so far are restored first.</param>
    /// <returns>How the fit ended, the ELBO trace, the parameters kept and the log Z estimate.</returns>
    /// <exception cref="ArgumentException">The flow is conditional or has no parameters.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    /// <exception cref="InvalidOperationException">A parameter of the flow is not finite before the fit; the flow is
    /// already being fitted on this thread; or, with <see cref="VariationalOptions.ThrowOnDivergence"/>, the fit diverged
    /// (the parameters of the best smoothed ELBO so far, or the initial ones, are restored first).</exception>
    /// <exception cref="FitCanceledException{VariationalReport}">The fit was cancelled; the exception carries the report so far.</exception>
    public static VariationalReport Fit<T>(this TransformedDistribution<T> flow, LogDensityWithGradient<T> target,
        VariationalOptions? options = null, CancellationToken cancellationToken = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(target);
        options ??= new VariationalOptions();
        options.Validate();
        var objective = new VariationalObjective<T>(flow, target, options.StickingTheLanding);
        return new Trainer<T>(objective, options).Run(cancellationToken);
    }

    /// <summary>
    /// Estimates log Z = log E_q[p̃(z)/q(z)] by importance sampling with <paramref name="sampleCount"/> draws from
    /// <paramref name="flow"/>, with the effective sample size and the standard error (see <see cref="LogNormalizerEstimate"/>).
    /// </summary>
    /// <param name="flow">q: an unconditional flow.</param>
    /// <param name="target">log p̃ (its gradient output is ignored).</param>
    /// <param name="sampleCount">N. Range: &gt; 0.</param>
    /// <param name="random">The source of the draws.</param>
    /// <returns>log Ẑ, its standard error (NaN when N = 1), the ESS and the mean log-weight.</returns>
    /// <exception cref="ArgumentException">The flow is conditional.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sampleCount"/> is not positive.</exception>
    /// <exception cref="InvalidOperationException">The target returned NaN or +∞, log q was not finite, or every draw
    /// had zero target density.</exception>
    public static LogNormalizerEstimate EstimateLogNormalizer<T>(this TransformedDistribution<T> flow, LogDensityWithGradient<T> target,
        int sampleCount, Random random)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleCount);
        if (flow.ContextDimension != 0)
        {
            throw new ArgumentException(
                $"The flow has ContextDimension {flow.ContextDimension}; importance sampling of log Z needs an unconditional flow.", nameof(flow));
        }

        int d = flow.Dimension;
        var tape = new Tape<T>(isRecording: false, isTraining: false);
        int chunk = Math.Min(TransformedDistribution<T>.EvaluationChunkRows, sampleCount);
        var logTarget = new T[chunk];
        var gradient = new T[chunk * d];
        var logWeights = new double[sampleCount];
        double max = double.NegativeInfinity;
        for (int start = 0; start < sampleCount; start += chunk)
        {
            int count = Math.Min(chunk, sampleCount - start);
            tape.Reset();
            (Node<T> z, Node<T> logQ) = flow.SampleWithDensityLn(tape, count, random);
            target(z.Values, logTarget.AsSpan(0, count), gradient.AsSpan(0, count * d));
            for (int i = 0; i < count; i++)
            {
                T lp = logTarget[i];
                T lq = logQ.Values[i];
                if (T.IsNaN(lp) || T.IsPositiveInfinity(lp))
                {
                    throw new InvalidOperationException(
                        $"The target returned log p̃ = {lp.ToString(null, CultureInfo.InvariantCulture)} at z = " +
                        $"{VariationalObjective<T>.Format(z.Values.Slice(i * d, d))}; importance sampling needs values in [−∞, ∞).");
                }

                if (!T.IsFinite(lq))
                {
                    throw new InvalidOperationException(
                        $"log q(z) is {lq.ToString(null, CultureInfo.InvariantCulture)} at z = {VariationalObjective<T>.Format(z.Values.Slice(i * d, d))}.");
                }

                double w = double.CreateTruncating(lp) - double.CreateTruncating(lq);
                logWeights[start + i] = w;
                max = Math.Max(max, w);
            }
        }

        if (double.IsNegativeInfinity(max))
        {
            throw new InvalidOperationException(
                $"All {sampleCount} samples from q have zero target density (log p̃ = −∞), so log Z cannot be estimated.");
        }

        return LogNormalizerEstimate.FromLogWeights(logWeights);
    }

    // One fit: the objective, the optimizer, the ELBO trace and the parameters of the best smoothed ELBO so far.
    private sealed class Trainer<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly VariationalObjective<T> _objective;
        private readonly VariationalOptions _options;
        private readonly IReadOnlyList<Parameter<T>> _parameters;
        private readonly List<double> _elbo = [];
        private readonly List<double> _smoothed = [];
        private readonly List<string> _warnings = [];
        private ParameterSnapshot<T> _best = null!;
        private double _bestSmoothed = double.NegativeInfinity;
        private int _bestStep;

        public Trainer(VariationalObjective<T> objective, VariationalOptions options)
        {
            _objective = objective;
            _options = options;
            _parameters = objective.Flow.Parameters;
        }

        public VariationalReport Run(CancellationToken cancellationToken)
        {
            TransformedDistribution<T> flow = _objective.Flow;
            // Held to the end: readers on other threads wait rather than see, or disturb, a fit in progress.
            using EvaluationScope<T> held = flow.BeginFit();
            flow.Layers.CheckParametersFinite("fitting");
            flow.UseFlowAloneForVariationalFit();

            _best = new ParameterSnapshot<T>(_parameters);
            var random = new Random(_options.Seed);
            var optimizer = new Adam<T>(_parameters, _options.Optimizer);
            var globalNorm = new GradientNorm<T>(_parameters);
            T? maxNorm = _options.MaxGradientNorm is double norm ? T.CreateTruncating(norm) : null;
            double weight = 1.0 / _options.SmoothingWindow;
            double average = 0;
            double decayPower = 1;
            int dimension = flow.Dimension;

            for (int step = 1; step <= _options.Steps; step++)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    Cancel(cancellationToken);
                }

                (T value, string? failure) = Evaluate(random);
                if (failure is not null)
                {
                    return Diverged($"{failure} (step {step})");
                }

                T gradientNorm = globalNorm.Compute(1);
                if (!T.IsFinite(gradientNorm))
                {
                    return Diverged($"A gradient became non-finite at step {step} (ELBO {value.ToString(null, CultureInfo.InvariantCulture)})");
                }

                // Bias-corrected exponential moving average, as Adam corrects its moments: exact at step 1.
                double current = double.CreateTruncating(value);
                average = ((1 - weight) * average) + (weight * current);
                decayPower *= 1 - weight;
                double smoothedValue = average / (1 - decayPower);
                _elbo.Add(current);
                _smoothed.Add(smoothedValue);

                // The snapshot is of the parameters that produced this step's estimate, taken before they are updated.
                if (smoothedValue > _bestSmoothed)
                {
                    _bestSmoothed = smoothedValue;
                    _bestStep = step - 1;
                    _best.Take();
                }
                else if (FellTooFar(smoothedValue, dimension) is string fell)
                {
                    return Diverged(string.Create(CultureInfo.InvariantCulture, $"The smoothed ELBO fell to {smoothedValue:G6} at step {step} {fell}"));
                }

                if (maxNorm is T limit)
                {
                    globalNorm.Clip(limit, gradientNorm, 1);
                }

                optimizer.Step();
                // A step can overflow even from a finite gradient (a huge learning rate): say so here, naming the
                // parameter, rather than as the next estimate's NaN.
                if (!optimizer.LastStepWasFinite && flow.Layers.FirstNonFiniteParameter() is string nonFinite)
                {
                    return Diverged($"The Adam step made a parameter non-finite at step {step}: {nonFinite}");
                }

                if (step % _options.ProgressInterval == 0 || step == _options.Steps)
                {
                    _options.Progress?.Report(new VariationalProgress(step, current, smoothedValue, double.CreateTruncating(gradientNorm)));
                }
            }

            // No later step scores the last one, so its parameters get one estimate of their own (outside the trace): a
            // flow whose samples or log q are not finite is never kept.
            (T last, string? lastFailure) = Evaluate(random);
            if (lastFailure is not null)
            {
                return Diverged($"{lastFailure} after the last step (step {_options.Steps}), in the estimate that checks the parameters it left");
            }

            if (FellTooFar(double.CreateTruncating(last), dimension) is string lastFell)
            {
                return Diverged(string.Create(CultureInfo.InvariantCulture,
                    $"The ELBO estimate of the parameters after the last step (step {_options.Steps}) is {double.CreateTruncating(last):G6}, {lastFell}"));
            }

            // Never worse than the start on the watched ELBO: the last parameters are kept unless the smoothed ELBO ended
            // below the estimate of the initial parameters, and then those of the best smoothed ELBO are restored.
            int keptStep = _options.Steps;
            if (_smoothed[^1] < _elbo[0])
            {
                _best.Restore();
                keptStep = _bestStep;
                _warnings.Add(string.Create(CultureInfo.InvariantCulture,
                    $"The smoothed ELBO ended at {_smoothed[^1]:G6}, below the start's {_elbo[0]:G6}, so the parameters after step {_bestStep} " +
                    $"(smoothed ELBO {_bestSmoothed:G6}) were restored. Try a smaller learning rate (now {_options.Optimizer.LearningRate:G3})."));
            }

            LogNormalizerEstimate? logNormalizer = _options.ImportanceSamples > 0
                ? flow.EstimateLogNormalizer(_objective.Target, _options.ImportanceSamples, new Random(random.Next()))
                : null;
            return Report(FitStatus.Completed, keptStep, logNormalizer, divergence: null);
        }

        // Why an ELBO counts as diverged (more than DivergenceTolerance × max(Dimension, |best|) below the best smoothed
        // ELBO), or null.
        private string? FellTooFar(double elbo, int dimension)
        {
            double limit = _options.DivergenceTolerance * Math.Max(dimension, Math.Abs(_bestSmoothed));
            return _bestSmoothed - elbo > limit
                ? string.Create(CultureInfo.InvariantCulture,
                    $"from a best of {_bestSmoothed:G6} after step {_bestStep}, more than DivergenceTolerance × max(Dimension, |best|) = {limit:G3} below it")
                : null;
        }

        // A target that throws leaves the parameters as they were at the best smoothed ELBO, as a divergence does, and
        // its exception propagates unchanged.
        private (T Value, string? Failure) Evaluate(Random random)
        {
            try
            {
                return _objective.Evaluate(_options.SamplesPerStep, random);
            }
            catch
            {
                _best.Restore();
                throw;
            }
        }

        private VariationalReport Diverged(string what)
        {
            _best.Restore();
            string message = string.Create(CultureInfo.InvariantCulture,
                $"{what}. The parameters after step {_bestStep} (the best smoothed ELBO so far, or the initial ones) were restored; check the target, " +
                $"or try a smaller learning rate (now {_options.Optimizer.LearningRate:G3}), gradient clipping (MaxGradientNorm) or a better-scaled initial flow.");
            VariationalReport report = Report(FitStatus.Diverged, _bestStep, logNormalizer: null, message);
            return _options.ThrowOnDivergence ? throw new InvalidOperationException(message) : report;
        }

        [DoesNotReturn]
        private void Cancel(CancellationToken cancellationToken)
        {
            _best.Restore();
            throw new FitCanceledException<VariationalReport>(
                string.Create(CultureInfo.InvariantCulture,
                    $"The variational fit was cancelled after {_elbo.Count} steps; the parameters after step {_bestStep} were restored. The exception's Report holds the trace."),
                Report(FitStatus.Cancelled, _bestStep, logNormalizer: null, divergence: null),
                cancellationToken);
        }

        private VariationalReport Report(FitStatus status, int keptStep, LogNormalizerEstimate? logNormalizer, string? divergence)
            => new(status, [.. _elbo], [.. _smoothed], keptStep, logNormalizer, _options.StickingTheLanding, divergence, [.. _warnings]);
    }
}
