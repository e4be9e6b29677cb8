using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// Batch normalization as a bijector. Inverse (data → base): <c>z = exp(logγ) ⊙ (x − μ) / √(σ² + ε) + β</c>, with
/// the batch's own mean and variance while training and running averages otherwise.
/// </summary>
/// <remarks>
/// <para>log|det J| of the inverse is <c>Σⱼ (log γⱼ − ½ log(σⱼ² + ε))</c> on every row; the forward map
/// <c>x = (z − β) ⊙ √(σ² + ε) / γ + μ</c> has its negative. γ = exp(<see cref="LogGamma"/>) is positive by
/// construction; β is <see cref="Beta"/>.</para>
/// <para><b>Modes.</b> μ and σ² are the batch mean and (population, divisor n) variance exactly when the inverse runs
/// on a training tape (<see cref="Tape{T}.IsTraining"/>) and the layer's own <see cref="IsTraining"/> is true: that is
/// the training step of <c>MaximumLikelihood.Fit</c> (through <c>TransformedDistribution.DensityLn</c>), or a custom
/// training loop whose tape is created with <c>isTraining: true</c>. On a recording tape the gradients flow through the
/// batch statistics. Each such call also updates the running statistics,
/// <c>running ← (1 − momentum)·running + momentum·batch</c>, whether or not the tape records (as PyTorch's batch norm
/// does in train mode under <c>no_grad</c>). Every other call — the forward map (sampling), any call on a tape outside
/// training (the array-level <c>DensityLn</c>, validation inside <c>Fit</c>, and every pass of variational inference,
/// including the recording tape on which sticking the landing scores q's samples), or any call with
/// <see cref="IsTraining"/> false — uses the running statistics, so its rows are independent of each other and it
/// changes nothing. Recording alone never selects the batch statistics: it says only that gradients are wanted. Set
/// <see cref="IsTraining"/> to false to freeze the running statistics even on training tapes. <c>Fit</c> restores the
/// running statistics of its best check together with its parameters, as validation scored them.</para>
/// <para>The running variance starts at 1 − ε, so that a new layer with zero parameters is exactly the identity in
/// evaluation. A batch of one row has variance 0: ε keeps every value finite. The running statistics, momentum, ε and
/// the mode are saved with the model.</para>
/// <para>References: L. Dinh, J. Sohl-Dickstein and S. Bengio, "Density estimation using Real NVP", 2017,
/// arXiv:1605.08803, appendix E; G. Papamakarios, T. Pavlakou and I. Murray, "Masked Autoregressive Flow for Density
/// Estimation", 2017, arXiv:1705.07057, appendix B.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class BatchNorm<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T> _logGamma;
    private readonly Parameter<T> _beta;
    private readonly T[] _runningMean;
    private readonly T[] _runningVariance;
    private readonly T[] _epsilonRow;

    /// <summary>Creates the layer in training mode, with zero parameters and running statistics (0, 1 − ε).</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <param name="momentum">Weight of a new batch in the running averages. Default 0.1. Range: (0, 1].</param>
    /// <param name="epsilon">ε added to the variance. Default 1e-5. Range: (0, 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public BatchNorm(int dimension, double momentum = 0.1, double epsilon = 1e-5) : base(dimension)
    {
        if (!(momentum > 0 && momentum <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must lie in (0, 1].");
        }

        if (!(epsilon > 0 && epsilon < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must lie in (0, 1).");
        }

        Momentum = momentum;
        Epsilon = epsilon;
        _logGamma = new Parameter<T>("logGamma", 1, dimension);
        _beta = new Parameter<T>("beta", 1, dimension);
        Parameters = [_logGamma, _beta];
        _runningMean = new T[dimension];
        _runningVariance = new T[dimension];
        _runningVariance.AsSpan().Fill(T.One - T.CreateTruncating(epsilon));
        _epsilonRow = new T[dimension];
        _epsilonRow.AsSpan().Fill(T.CreateTruncating(epsilon));
        IsTraining = true;
    }

    /// <summary>log γ, 1 × Dimension.</summary>
    public Parameter<T> LogGamma => _logGamma;

    /// <summary>β, 1 × Dimension.</summary>
    public Parameter<T> Beta => _beta;

    /// <summary>Weight of a new batch in the running averages.</summary>
    public double Momentum { get; }

    /// <summary>ε added to the variance.</summary>
    public double Epsilon { get; }

    /// <summary>
    /// Whether inverse calls on a training tape (<see cref="Tape{T}.IsTraining"/>) use (and accumulate) batch statistics;
    /// false freezes the layer at its running statistics. See the remarks. Default true.
    /// </summary>
    public bool IsTraining { get; set; }

    /// <summary>The running mean μ, one value per feature; the model's own array (writable, for example to reset it).</summary>
    public Span<T> RunningMean => _runningMean;

    /// <summary>The running variance σ², one value per feature; the model's own array.</summary>
    public Span<T> RunningVariance => _runningVariance;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "BatchNorm",
        typeof(BatchNorm<T>),
        (b, w) =>
        {
            var batchNorm = (BatchNorm<T>)b;
            w.Int32("dimension", b.Dimension);
            w.Double("momentum", batchNorm.Momentum);
            w.Double("epsilon", batchNorm.Epsilon);
            w.Boolean("training", batchNorm.IsTraining);
            w.Values("runningMean", batchNorm.RunningMean);
            w.Values("runningVariance", batchNorm.RunningVariance);
        },
        r =>
        {
            int dimension = r.Int32("dimension", minimum: 1);
            var batchNorm = new BatchNorm<T>(dimension, r.Double("momentum"), r.Double("epsilon"))
            {
                IsTraining = r.Boolean("training"),
            };
            r.Values("runningMean", dimension).CopyTo(batchNorm.RunningMean);
            T[] variance = r.Values("runningVariance", dimension);
            if (variance.Any(v => v < T.Zero))
            {
                throw r.Error("runningVariance", "holds a negative variance");
            }

            variance.CopyTo(batchNorm.RunningVariance);
            return batchNorm;
        });

    /// <inheritdoc/>
    public override string ToString()
        => FormattableString.Invariant($"BatchNorm(dimension: {Dimension}, momentum: {Momentum}, epsilon: {Epsilon})");

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
    {
        // x = (z − β) ⊙ exp(−s) + μ with s = log γ − ½ log(σ² + ε), the running statistics.
        Node<T> s = EffectiveLogScale(tape, tape.Constant(_runningVariance, 1, Dimension));
        (Node<T> centred, Node<T> logDet) = tape.AffineElementwise(z, tape.Use(_beta), s, inverse: true);
        return (tape.Add(centred, tape.Constant(_runningMean, 1, Dimension)), logDet);
    }

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
    {
        Node<T> mean;
        Node<T> variance;
        // The tape's mode, not whether it records, decides: a recording tape outside training (sticking-the-landing
        // variational inference scores q's samples on one) must see the fixed map that sampling and scoring see.
        if (IsTraining && tape.IsTraining && x.Rows > 0)
        {
            T inverseCount = T.One / T.CreateTruncating(x.Rows);
            mean = tape.Scale(tape.ColumnSums(x), inverseCount);
            Node<T> deviation = tape.Subtract(x, mean);
            variance = tape.Scale(tape.ColumnSums(tape.Multiply(deviation, deviation)), inverseCount);
            UpdateRunningStatistics(mean.Values, variance.Values);
            Node<T> s = EffectiveLogScale(tape, variance);
            return tape.AffineElementwise(deviation, tape.Use(_beta), s, inverse: false);
        }

        mean = tape.Constant(_runningMean, 1, Dimension);
        variance = tape.Constant(_runningVariance, 1, Dimension);
        return tape.AffineElementwise(tape.Subtract(x, mean), tape.Use(_beta), EffectiveLogScale(tape, variance), inverse: false);
    }

    // s = log γ − ½ log(σ² + ε): the log of the per-feature scale of the inverse map.
    private Node<T> EffectiveLogScale(Tape<T> tape, Node<T> variance)
    {
        Node<T> halfLogVariance = tape.Scale(tape.Log(tape.Add(variance, tape.Constant(_epsilonRow, 1, Dimension))), T.CreateTruncating(0.5));
        return tape.Subtract(tape.Use(_logGamma), halfLogVariance);
    }

    private void UpdateRunningStatistics(ReadOnlySpan<T> mean, ReadOnlySpan<T> variance)
    {
        T m = T.CreateTruncating(Momentum);
        T keep = T.One - m;
        for (int j = 0; j < Dimension; j++)
        {
            _runningMean[j] = (keep * _runningMean[j]) + (m * mean[j]);
            _runningVariance[j] = (keep * _runningVariance[j]) + (m * variance[j]);
        }
    }
}
