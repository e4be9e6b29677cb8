using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// Activation normalization: the per-feature affine map <c>x = z ⊙ exp(s) + t</c>, with s and t initialized from the
/// first data batch so that that batch comes out standardized.
/// </summary>
/// <remarks>
/// <para>Inverse (data → base): <c>z = (x − t) ⊙ exp(−s)</c>, log|det J| = −Σⱼ sⱼ; forward: log|det J| = Σⱼ sⱼ.</para>
/// <para>Data-dependent initialization: the first non-empty batch of data passed to <see cref="Bijector{T}.Inverse"/>
/// (the direction <c>DensityLn</c> and <c>Fit</c> use) — or to <see cref="Initialize"/> — sets, per feature j,
/// <c>tⱼ = mean(x[:, j])</c> and <c>sⱼ = log std(x[:, j])</c> (population standard deviation, divisor n), so that the
/// outputs on that batch have mean 0 and standard deviation 1 (to rounding, ~1e-15). An inverse call sees data on a
/// training tape (<see cref="Tape{T}.IsTraining"/>: the steps of <c>MaximumLikelihood.Fit</c>, a custom training loop)
/// and on a tape that does not record (the array-level <c>DensityLn</c> and <c>Inverse</c>, and the pass with which
/// <c>Fit</c> starts). It happens once: <see cref="IsInitialized"/> is then true, is saved with the model, and a
/// loaded ActNorm never re-initializes.</para>
/// <para><b>Fitting.</b> <c>MaximumLikelihood.Fit</c> initializes the layer at its start from the training data (its first
/// 4,096 rows in the split and shuffle of its seed, or a minibatch if that is larger), pushed through the layers between the data and this one. A
/// layer that was initialized by an evaluation before the fit — an array-level <c>DensityLn</c> of the flow or
/// <c>Inverse</c> of the layer, such as a probe of an untrained flow — is initialized again from the training data, so
/// that such a probe never decides where the fit starts. A layer initialized on purpose is kept: by
/// <see cref="Initialize"/>, by a previous fit, by a custom training loop, by variational fitting (below), or loaded
/// from a file. An array-level <c>DensityLn</c> of a flow refuses to initialize the layer from fewer than
/// <see cref="MinimumEvaluationRows"/> rows and throws an <see cref="InvalidOperationException"/> naming it; the
/// layer-level <see cref="Bijector{T}.Inverse"/> initializes from whatever batch it is given.</para>
/// <para><b>Variational inference.</b> A tape that records gradients outside training is differentiating something
/// other than a fit to data: variational fitting samples q through the forward map and, with sticking the landing,
/// scores q's own samples through the inverse. Standardizing those samples would make q chase itself, so on such a tape
/// the layer never initializes from its input. It runs with its current parameters — the identity for a new layer,
/// as every Pyro or TFP flow starts variational fitting — and adopts them as its initialization
/// (<see cref="IsInitialized"/> becomes true), so that the parameters gradient steps then learn are not overwritten by
/// the first data scored afterwards. Use <see cref="Initialize"/> first for a data-dependent start.</para>
/// <para>A feature whose batch standard deviation is at most 64 ulps of maxᵢ|xᵢⱼ| (64 machine epsilons of T times it) — every feature of a batch of one row,
/// or a constant feature — is treated as constant: it is centred (tⱼ = mean) but not scaled (sⱼ = 0), never NaN.</para>
/// <para><see cref="Bijector{T}.Forward"/> before initialization (sampling an untrained flow) uses the current
/// parameters — the identity for a new layer — and does not initialize from data (on a recording tape outside
/// training it adopts them, as above). All-zero parameters give the identity.</para>
/// <para>Reference: D. P. Kingma and P. Dhariwal, "Glow: Generative Flow with Invertible 1x1 Convolutions", 2018,
/// arXiv:1807.03039, section 3.1.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class ActNorm<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>>, IInitializesFromData where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// The fewest rows from which an array-level <c>DensityLn</c> of a flow lets this layer initialize: 10. From fewer it
    /// throws, naming the layer; see the remarks.
    /// </summary>
    /// <remarks>
    /// A standard deviation estimated from n rows has a relative standard error of about 1/√(2(n − 1)): 24 % at 10 rows.
    /// That is a workable start for a fit; one row gives no scale at all and the row itself as the shift.
    /// </remarks>
    public const int MinimumEvaluationRows = 10;

    private readonly Parameter<T> _shift;
    private readonly Parameter<T> _logScale;

    /// <summary>Creates an uninitialized layer (the identity until it sees data).</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public ActNorm(int dimension) : base(dimension)
    {
        // Their start is the data's, not zero: weight decay would pull them back to the identity.
        _shift = new Parameter<T>("shift", 1, dimension) { ExemptFromWeightDecay = true };
        _logScale = new Parameter<T>("logScale", 1, dimension) { ExemptFromWeightDecay = true };
        Parameters = [_shift, _logScale];
    }

    /// <summary>t, 1 × Dimension.</summary>
    public Parameter<T> Shift => _shift;

    /// <summary>s = log scale, 1 × Dimension.</summary>
    public Parameter<T> LogScale => _logScale;

    /// <summary>
    /// Whether the shift and log-scale are settled, so that no later batch re-initializes them: after the data-dependent
    /// initialization, <see cref="Initialize"/>, or a first use on a recording tape outside training (which adopts the
    /// current parameters; see the remarks). It becomes true once; saved with the model.
    /// </summary>
    public bool IsInitialized { get => Initialization.IsInitialized; internal set => Initialization.IsInitialized = value; }

    DataInitialization IInitializesFromData.Initialization => Initialization;

    private DataInitialization Initialization { get; } = new(isInitialized: false);

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>
    /// Initializes t and s from <paramref name="data"/> now (see the remarks), as the first inverse call would; later
    /// calls of <see cref="Bijector{T}.Inverse"/> then leave them alone.
    /// </summary>
    /// <param name="data">n × Dimension data rows, n &gt; 0, all finite.</param>
    /// <exception cref="ArgumentException"><paramref name="data"/> has the wrong width, no rows, or a non-finite value.</exception>
    /// <exception cref="InvalidOperationException">The layer is already initialized.</exception>
    public void Initialize(T[,] data)
    {
        ReadOnlySpan<T> rows = Batch.InitializationRows(data, Dimension);
        if (IsInitialized)
        {
            throw new InvalidOperationException($"{this} is already initialized; ActNorm initializes exactly once.");
        }

        InitializeFrom(rows);
    }

    // The initialized flag is saved, so a loaded layer never re-initializes from data.
    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "ActNorm",
        typeof(ActNorm<T>),
        (b, w) =>
        {
            w.Int32("dimension", b.Dimension);
            w.Boolean("initialized", ((ActNorm<T>)b).IsInitialized);
        },
        r => new ActNorm<T>(r.Int32("dimension", minimum: 1)) { IsInitialized = r.Boolean("initialized") });

    /// <inheritdoc/>
    public override string ToString() => $"ActNorm(dimension: {Dimension})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
    {
        Initialization.OnForward(tape);
        return tape.AffineElementwise(z, tape.Use(_shift), tape.Use(_logScale), inverse: false);
    }

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
    {
        if (Initialization.OnInverse(tape, x.Rows))
        {
            InitializeFrom(x.Values);
        }

        return tape.AffineElementwise(x, tape.Use(_shift), tape.Use(_logScale), inverse: true);
    }

    // The moments in double (SampleMoments), so that squares of huge finite values stay finite in either element type.
    private void InitializeFrom(ReadOnlySpan<T> x)
    {
        (double[] mean, double[] scale) = SampleMoments.OfFeatures(x, Dimension);
        for (int j = 0; j < Dimension; j++)
        {
            _shift.Values[j] = T.CreateTruncating(mean[j]);
            _logScale.Values[j] = T.CreateTruncating(Math.Log(scale[j]));
        }

        IsInitialized = true;
    }
}
