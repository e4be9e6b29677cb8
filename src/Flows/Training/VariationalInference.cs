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
    /// log Z is estimated by importance sampling. The parameters of the last step are kept.
    /// </summary>
    /// <param name="flow">q: an unconditional flow; its parameters are updated in place.</param>
    /// <param name="target">log p̃ and its gradient, for a batch.</param>
    /// <param name="options">The settings; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the fit between steps; the parameters of the best smoothed ELBO so far are restored first.</param>
    /// <returns>The ELBO trace and the log Z estimate.</returns>
    /// <exception cref="ArgumentException">The flow is conditional or has no parameters.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    /// <exception cref="InvalidOperationException">The target returned NaN, +∞ or a non-finite gradient, or the ELBO or a
    /// gradient became non-finite; the parameters of the best smoothed ELBO so far (or the initial ones) are restored.</exception>
    /// <exception cref="OperationCanceledException">The fit was cancelled.</exception>
    /// <remarks>An exception thrown by <paramref name="target"/> propagates unchanged, after the same restoration.</remarks>
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

        // Log-sum-exp about the largest log-weight: every exp(lw − max) lies in [0, 1] and the largest is 1.
        double sum = 0;
        double sumOfSquares = 0;
        double meanLogWeight = 0;
        for (int i = 0; i < sampleCount; i++)
        {
            double w = Math.Exp(logWeights[i] - max);
            sum += w;
            sumOfSquares += w * w;
            meanLogWeight += logWeights[i];
        }

        double n = sampleCount;
        double logNormalizer = max + Math.Log(sum) - Math.Log(n);
        // (Σw)²/Σw² ≤ N by Cauchy–Schwarz; clamp the last-digit excess of equal weights.
        double ess = Math.Min(sum * sum / sumOfSquares, n);
        // Var(w)/mean(w)² = N·Σw²/(Σw)² − 1 = N/ESS − 1 (with the N/(N − 1) correction of the sample variance).
        double standardError = sampleCount > 1 ? Math.Sqrt(Math.Max(0, (1 / ess) - (1 / n)) * n / (n - 1)) : double.NaN;
        return new LogNormalizerEstimate(logNormalizer, standardError, ess, sampleCount, meanLogWeight / n);
    }

    // One fit: the objective, the optimizer, the ELBO trace and the parameters of the best smoothed ELBO so far.
    private sealed class Trainer<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly VariationalObjective<T> _objective;
        private readonly VariationalOptions _options;
        private readonly IReadOnlyList<Parameter<T>> _parameters;
        private readonly ParameterSnapshot<T> _best;

        public Trainer(VariationalObjective<T> objective, VariationalOptions options)
        {
            _objective = objective;
            _options = options;
            _parameters = objective.Flow.Parameters;
            _best = new ParameterSnapshot<T>(_parameters);
        }

        public VariationalReport Run(CancellationToken cancellationToken)
        {
            var random = new Random(_options.Seed);
            var optimizer = new Adam<T>(_parameters, _options.Optimizer);
            T? maxNorm = _options.MaxGradientNorm is double norm ? T.CreateTruncating(norm) : null;
            var elbo = new double[_options.Steps];
            var smoothed = new double[_options.Steps];
            double weight = 1.0 / _options.SmoothingWindow;
            double average = 0;
            double decayPower = 1;
            double bestSmoothed = double.NegativeInfinity;

            for (int step = 1; step <= _options.Steps; step++)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    _best.Restore();
                    cancellationToken.ThrowIfCancellationRequested();
                }

                (T value, string? failure) = Evaluate(random);
                if (failure is not null)
                {
                    Diverged($"{failure} (step {step})");
                }

                T gradientNorm = GradientClipping.GlobalNorm(_parameters);
                if (!T.IsFinite(gradientNorm))
                {
                    Diverged($"A gradient became non-finite at step {step} (ELBO {value.ToString(null, CultureInfo.InvariantCulture)})");
                }

                // Bias-corrected exponential moving average, as Adam corrects its moments: exact at step 1.
                double current = double.CreateTruncating(value);
                average = ((1 - weight) * average) + (weight * current);
                decayPower *= 1 - weight;
                double smoothedValue = average / (1 - decayPower);
                elbo[step - 1] = current;
                smoothed[step - 1] = smoothedValue;

                // The snapshot is of the parameters that produced this step's estimate, taken before they are updated.
                if (smoothedValue > bestSmoothed)
                {
                    bestSmoothed = smoothedValue;
                    _best.Take();
                }

                if (maxNorm is T limit)
                {
                    GradientClipping.ClipByGlobalNorm(_parameters, limit);
                }

                optimizer.Step();
                if (step % _options.ProgressInterval == 0 || step == _options.Steps)
                {
                    _options.Progress?.Report(new VariationalProgress(step, current, smoothedValue, double.CreateTruncating(gradientNorm)));
                }
            }

            LogNormalizerEstimate? logNormalizer = _options.ImportanceSamples > 0
                ? _objective.Flow.EstimateLogNormalizer(_objective.Target, _options.ImportanceSamples, new Random(random.Next()))
                : null;
            return new VariationalReport(elbo, smoothed, logNormalizer, _options.StickingTheLanding);
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

        [DoesNotReturn]
        private void Diverged(string what)
        {
            _best.Restore();
            throw new InvalidOperationException(
                $"{what}. The parameters of the best smoothed ELBO so far (or the initial ones) were restored; check the target, " +
                "or try a smaller learning rate, gradient clipping (MaxGradientNorm) or a better-scaled initial flow.");
        }
    }
}
