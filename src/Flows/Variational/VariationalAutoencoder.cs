using System.Diagnostics;
using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;
using Flows.Training;

namespace Flows.Variational;

/// <summary>
/// A generative model p(x, z) with an amortized flow posterior q(z | x), trained together by the ELBO (or the IWAE
/// bound) with reparameterized samples, minibatches and Adam: the variational autoencoder of Kingma &amp; Welling (2014)
/// with the flow posteriors of Rezende &amp; Mohamed (2015), Kingma et al. (2016) and van den Berg et al. (2018).
/// </summary>
/// <remarks>
/// <para>Training maximizes, per minibatch of observations x, the ELBO
/// <c>(1/nk) Σᵢ Σₛ log p(xᵢ, zᵢₛ) − log q(zᵢₛ | xᵢ)</c> with zᵢₛ = the posterior's reparameterized draws, or the IWAE
/// bound <c>(1/n) Σᵢ log (1/k) Σₛ p(xᵢ, zᵢₛ)/q(zᵢₛ | xᵢ)</c>. <see cref="EstimateLogLikelihood"/> gives the held-out
/// marginal log-likelihood by importance sampling with q as the proposal.</para>
/// <para>The same seed gives the same fit, bit for bit, on the same machine. A fit holds the parameters: do not use the
/// model from other threads while it runs.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class VariationalAutoencoder<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Rows × samples per pass of the importance-sampling estimate: large enough to keep the GEMMs busy, small enough to
    // keep a pass's tape in the caches.
    private const int EstimateBudget = 4096;

    /// <summary>Pairs a posterior with a model.</summary>
    /// <param name="posterior">q(z | x).</param>
    /// <param name="model">p(x, z), with the posterior's data and latent dimensions.</param>
    /// <exception cref="ArgumentException">The dimensions disagree.</exception>
    public VariationalAutoencoder(AmortizedPosterior<T> posterior, ILatentVariableModel<T> model)
    {
        ArgumentNullException.ThrowIfNull(posterior);
        ArgumentNullException.ThrowIfNull(model);
        if (posterior.DataDimension != model.DataDimension || posterior.LatentDimension != model.LatentDimension)
        {
            throw new ArgumentException(
                $"model ({model}) has DataDimension {model.DataDimension} and LatentDimension {model.LatentDimension}, but the posterior {posterior.DataDimension} and {posterior.LatentDimension}.",
                nameof(model));
        }

        Posterior = posterior;
        Model = model;
        Parameters = [.. posterior.Parameters, .. model.Parameters];
    }

    /// <summary>q(z | x).</summary>
    public AmortizedPosterior<T> Posterior { get; }

    /// <summary>p(x, z).</summary>
    public ILatentVariableModel<T> Model { get; }

    /// <summary>Features of x.</summary>
    public int DataDimension => Model.DataDimension;

    /// <summary>Features of z.</summary>
    public int LatentDimension => Model.LatentDimension;

    /// <summary>The posterior's parameters, then the model's.</summary>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>The negative bound of one minibatch on a tape, 1 × 1: what a training step differentiates. Use it for a
    /// loop of your own.</summary>
    /// <param name="tape">A tape; recording for gradients.</param>
    /// <param name="x">n × DataDimension observations.</param>
    /// <param name="samplesPerRow">k, samples of z per row. Range: &gt; 0.</param>
    /// <param name="objective">The bound.</param>
    /// <param name="random">The source of the draws.</param>
    /// <returns>−ELBO or −IWAE bound, averaged over the rows, in nats per row.</returns>
    /// <exception cref="ArgumentException"><paramref name="x"/> has the wrong width.</exception>
    public Node<T> Loss(Tape<T> tape, Node<T> x, int samplesPerRow, AmortizedObjective objective, Random random)
        => Step(tape, x, samplesPerRow, objective, T.One, random).Loss;

    /// <summary>Fits the posterior and (unless <see cref="AmortizedFitOptions.TrainModel"/> is false) the model to
    /// <paramref name="data"/>.</summary>
    /// <param name="data">n × DataDimension training rows, all finite and in the likelihood's support.</param>
    /// <param name="options">Settings; default <see cref="AmortizedFitOptions"/>'s.</param>
    /// <returns>Every epoch's objective, ELBO, KL and reconstruction, and how the fit ended.</returns>
    /// <exception cref="ArgumentException"><paramref name="data"/> has the wrong width, no rows or a value the model cannot take;
    /// or the warm-up is asked for without the ELBO objective and a <see cref="LatentVariableModel{T}"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public AmortizedFitReport Fit(T[,] data, AmortizedFitOptions? options = null)
    {
        options ??= new AmortizedFitOptions();
        ReadOnlySpan<T> rows = VariationalData.Check(data, DataDimension, nameof(data));
        Model.CheckSupport(rows, nameof(data));
        CheckOptions(options);
        int n = data.GetLength(0);
        int d = DataDimension;
        IReadOnlyList<Parameter<T>> trained = options.TrainModel ? Parameters : Posterior.Parameters;
        var adam = new Adam<T>(trained, options.Optimizer);
        var snapshot = new ParameterSnapshot<T>(trained);
        snapshot.Take();
        var random = new Random(options.Seed);
        var tape = new Tape<T>();
        int[] order = [.. Enumerable.Range(0, n)];
        var batch = new T[Math.Min(options.BatchSize, n) * d];
        var epochs = new List<AmortizedEpochReport>(options.Epochs);
        var total = Stopwatch.StartNew();
        FitStatus status = FitStatus.Completed;
        for (int epoch = 1; epoch <= options.Epochs && status == FitStatus.Completed; epoch++)
        {
            var clock = Stopwatch.StartNew();
            random.Shuffle(order);
            T beta = options.WarmupEpochs > 0 ? T.CreateTruncating(Math.Min(1.0, (double)epoch / options.WarmupEpochs)) : T.One;
            double objective = 0, elbo = 0, kl = 0, reconstruction = 0;
            for (int start = 0; start < n; start += options.BatchSize)
            {
                int count = Math.Min(options.BatchSize, n - start);
                for (int r = 0; r < count; r++)
                {
                    rows.Slice(order[start + r] * d, d).CopyTo(batch.AsSpan(r * d, d));
                }

                tape.Reset();
                Node<T> x = tape.Constant(batch.AsSpan(0, count * d), count, d);
                StepResult step = Step(tape, x, options.SamplesPerRow, options.Objective, beta, random);
                if (!T.IsFinite(step.Loss.Values[0]))
                {
                    snapshot.Restore();
                    status = FitStatus.Diverged;
                    break;
                }

                adam.ZeroGradients();
                tape.Backward(step.Loss);
                if (options.MaxGradientNorm is double maxNorm)
                {
                    GradientClipping.ClipByGlobalNorm(trained, T.CreateTruncating(maxNorm));
                }

                adam.Step();
                double weight = (double)count / n;
                objective += weight * step.Objective;
                elbo += weight * step.Elbo;
                kl += weight * step.KullbackLeibler;
                reconstruction += weight * step.Reconstruction;
            }

            if (status != FitStatus.Completed)
            {
                break;
            }

            snapshot.Take();
            var report = new AmortizedEpochReport(epoch, objective, elbo, kl, reconstruction, clock.Elapsed.TotalSeconds);
            epochs.Add(report);
            options.Progress?.Report(report);
        }

        return new AmortizedFitReport(epochs, status, total.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// The marginal log-likelihood of <paramref name="data"/> by importance sampling with the posterior as proposal:
    /// per row, log p̂(x) = log (1/k) Σₛ p(x, zₛ)/q(zₛ | x), zₛ ~ q(z | x); with its standard errors and the ELBO.
    /// </summary>
    /// <param name="data">n × DataDimension held-out rows, all finite and in the likelihood's support.</param>
    /// <param name="importanceSamples">k per row. Default 1,000 (the papers use 5,000). Range: &gt; 0.</param>
    /// <param name="seed">Seed of the draws.</param>
    /// <returns>The estimate; see <see cref="MarginalLogLikelihoodEstimate"/> for its two standard errors.</returns>
    /// <exception cref="ArgumentException"><paramref name="data"/> has the wrong width, no rows or a value the model cannot take.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="importanceSamples"/> is not positive.</exception>
    public MarginalLogLikelihoodEstimate EstimateLogLikelihood(T[,] data, int importanceSamples = 1000, int seed = 0)
    {
        ReadOnlySpan<T> rows = VariationalData.Check(data, DataDimension, nameof(data));
        Model.CheckSupport(rows, nameof(data));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(importanceSamples);
        int n = data.GetLength(0);
        int d = DataDimension;
        int k = importanceSamples;
        int rowsPerPass = Math.Max(1, EstimateBudget / k);
        int samplesPerPass = Math.Min(k, EstimateBudget);
        var random = new Random(seed);
        var tape = new Tape<T>(isRecording: false);
        var perRow = new double[n];
        var elbos = new double[n];
        double monteCarloVariance = 0;
        var logWeights = new double[Math.Min(rowsPerPass, n) * k];
        for (int first = 0; first < n; first += rowsPerPass)
        {
            int m = Math.Min(rowsPerPass, n - first);
            for (int s0 = 0; s0 < k; s0 += samplesPerPass)
            {
                int s = Math.Min(samplesPerPass, k - s0);
                tape.Reset();
                Node<T> x = tape.Constant(rows.Slice(first * d, m * d), m, d);
                (Node<T> z, Node<T> logQ) = Posterior.SampleWithDensityLn(tape, x, s, random);
                Node<T> joint = Model.JointDensityLn(tape, Repeat(tape, x, s), z);
                for (int i = 0; i < m; i++)
                {
                    for (int t = 0; t < s; t++)
                    {
                        int source = (i * s) + t;
                        logWeights[(i * k) + s0 + t] = double.CreateTruncating(joint.Values[source] - logQ.Values[source]);
                    }
                }
            }

            for (int i = 0; i < m; i++)
            {
                LogNormalizerEstimate row = LogNormalizerEstimate.FromLogWeights(logWeights.AsSpan(i * k, k));
                perRow[first + i] = row.LogNormalizer;
                elbos[first + i] = row.Elbo;
                monteCarloVariance += k > 1 ? row.StandardError * row.StandardError : double.NaN;
            }
        }

        (double mean, double standardError) = MeanAndStandardError(perRow);
        (double elbo, double elboStandardError) = MeanAndStandardError(elbos);
        return new MarginalLogLikelihoodEstimate(mean, standardError, Math.Sqrt(monteCarloVariance) / n, elbo, elboStandardError, n, k, perRow);
    }

    /// <summary>Reconstructions: for each row, the decoder's mean at one draw z ~ q(z | x).</summary>
    /// <param name="x">n × DataDimension observations, all finite.</param>
    /// <param name="random">The source of the draws.</param>
    /// <returns>n × DataDimension means of p(x | z) (probabilities for a Bernoulli decoder).</returns>
    /// <exception cref="InvalidOperationException">The model is not a <see cref="LatentVariableModel{T}"/>, so it has no decoder.</exception>
    /// <exception cref="ArgumentException"><paramref name="x"/> has the wrong width or a non-finite value.</exception>
    public T[,] Reconstruct(T[,] x, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (Model is not LatentVariableModel<T> model)
        {
            throw new InvalidOperationException($"Reconstructions need a decoder; the model {Model} is not a LatentVariableModel.");
        }

        var tape = new Tape<T>(isRecording: false);
        Node<T> xNode = VariationalData.Constant(tape, x, DataDimension, nameof(x));
        Node<T> z = Posterior.SampleWithDensityLn(tape, xNode, 1, random).Z;
        Node<T> mean = model.Decoder.Mean(tape, z);
        var result = new T[x.GetLength(0), DataDimension];
        mean.Values.CopyTo(Batch.AsSpan(result));
        return result;
    }

    /// <inheritdoc/>
    public override string ToString() => $"VariationalAutoencoder(posterior: {Posterior}, model: {Model})";

    // One minibatch: the loss to differentiate (with the KL term weighted by β) and the figures the report averages.
    private StepResult Step(Tape<T> tape, Node<T> x, int samplesPerRow, AmortizedObjective objective, T beta, Random random)
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(samplesPerRow);
        if (x.Columns != DataDimension)
        {
            throw new ArgumentException($"x has {x.Columns} columns but the model takes {DataDimension} features.", nameof(x));
        }

        int n = x.Rows;
        int k = samplesPerRow;
        (Node<T> z, Node<T> logQ) = Posterior.SampleWithDensityLn(tape, x, k, random);
        Node<T> xRepeated = Repeat(tape, x, k);
        Node<T> joint;
        Node<T>? logPrior = null;
        Node<T>? logLikelihood = null;
        if (Model is LatentVariableModel<T> model)
        {
            (logPrior, logLikelihood) = model.Terms(tape, xRepeated, z);
            joint = tape.Add(logPrior, logLikelihood);
        }
        else
        {
            joint = Model.JointDensityLn(tape, xRepeated, z);
        }

        Node<T> logWeights = tape.Subtract(joint, logQ);
        double elbo = Average(logWeights.Values);
        double kl = logPrior is null ? double.NaN : Average(logQ.Values) - Average(logPrior.Values);
        double reconstruction = logLikelihood is null ? double.NaN : Average(logLikelihood.Values);
        Node<T> bound;
        double objectiveValue;
        if (objective == AmortizedObjective.ImportanceWeighted)
        {
            // log (1/k) Σₛ wₛ is the mixture log-density with equal weights: a zero row of logits.
            Node<T> logits = tape.Allocate(1, k);
            logits.Values.Clear();
            bound = tape.Mean(tape.WeightedLogSumExp(tape.Reshape(logWeights, n, k), logits));
            objectiveValue = double.CreateTruncating(bound.Values[0]);
        }
        else if (beta != T.One)
        {
            // log p(x | z) + β(log p(z) − log q(z | x)), the warmed-up ELBO.
            bound = tape.Mean(tape.Add(logLikelihood!, tape.Scale(tape.Subtract(logPrior!, logQ), beta)));
            objectiveValue = elbo;
        }
        else
        {
            bound = tape.Mean(logWeights);
            objectiveValue = elbo;
        }

        return new StepResult(tape.Negate(bound), objectiveValue, elbo, kl, reconstruction);
    }

    private void CheckOptions(AmortizedFitOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Epochs, "options.Epochs");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.BatchSize, "options.BatchSize");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.SamplesPerRow, "options.SamplesPerRow");
        ArgumentOutOfRangeException.ThrowIfNegative(options.WarmupEpochs, "options.WarmupEpochs");
        ArgumentNullException.ThrowIfNull(options.Optimizer, "options.Optimizer");
        if (options.MaxGradientNorm is double maxNorm && !(maxNorm > 0 && double.IsFinite(maxNorm)))
        {
            throw new ArgumentOutOfRangeException("options.MaxGradientNorm", maxNorm, "MaxGradientNorm must be finite and > 0, or null.");
        }

        if (options.WarmupEpochs > 0 && (options.Objective != AmortizedObjective.Elbo || Model is not LatentVariableModel<T>))
        {
            throw new ArgumentException(
                $"A KL warm-up needs the Elbo objective and a LatentVariableModel (prior and likelihood as separate terms); got {options.Objective} and {Model}.",
                nameof(options));
        }
    }

    // x with each row repeated k times, matching the posterior's sample layout.
    private static Node<T> Repeat(Tape<T> tape, Node<T> x, int k) => k == 1 ? x : tape.GatherRows(x, VariationalData.RepeatEach(x.Rows, k));

    private static double Average(ReadOnlySpan<T> values)
    {
        double sum = 0;
        foreach (T v in values)
        {
            sum += double.CreateTruncating(v);
        }

        return sum / values.Length;
    }

    private static (double Mean, double StandardError) MeanAndStandardError(ReadOnlySpan<double> values)
    {
        double mean = 0;
        foreach (double v in values)
        {
            mean += v;
        }

        mean /= values.Length;
        double squares = 0;
        foreach (double v in values)
        {
            squares += (v - mean) * (v - mean);
        }

        return (mean, values.Length > 1 ? Math.Sqrt(squares / (values.Length - 1) / values.Length) : double.NaN);
    }

    private readonly record struct StepResult(Node<T> Loss, double Objective, double Elbo, double KullbackLeibler, double Reconstruction);
}
