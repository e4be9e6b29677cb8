using System.Numerics;
using Flows.Autodiff;
using Flows.Neural;

namespace Flows.Bijectors;

/// <summary>
/// Activation normalization: the per-feature affine map <c>x = z ⊙ exp(s) + t</c>, with s and t initialized from the
/// first data batch so that that batch comes out standardized.
/// </summary>
/// <remarks>
/// <para>Inverse (data → base): <c>z = (x − t) ⊙ exp(−s)</c>, log|det J| = −Σⱼ sⱼ; forward: log|det J| = Σⱼ sⱼ.</para>
/// <para>Data-dependent initialization: the first non-empty batch passed to <see cref="Bijector{T}.Inverse"/> (the
/// direction <c>DensityLn</c> and <c>Fit</c> use) — or to <see cref="Initialize"/> — sets, per feature j,
/// <c>tⱼ = mean(x[:, j])</c> and <c>sⱼ = log std(x[:, j])</c> (population standard deviation, divisor n), so that the
/// outputs on that batch have mean 0 and standard deviation 1 (to rounding, ~1e-15). It happens exactly once:
/// <see cref="IsInitialized"/> is then true, is saved with the model, and a loaded ActNorm never re-initializes.</para>
/// <para>A feature whose batch standard deviation is at most 1e-10 · maxᵢ|xᵢⱼ| — every feature of a batch of one row,
/// or a constant feature — is treated as constant: it is centred (tⱼ = mean) but not scaled (sⱼ = 0), never NaN.</para>
/// <para><see cref="Bijector{T}.Forward"/> before initialization (sampling an untrained flow) uses the current
/// parameters — the identity for a new layer — and does not initialize. All-zero parameters give the identity.</para>
/// <para>Reference: D. P. Kingma and P. Dhariwal, "Glow: Generative Flow with Invertible 1x1 Convolutions", 2018,
/// arXiv:1807.03039, section 3.1.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class ActNorm<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Relative threshold below which a feature's batch standard deviation counts as zero.
    private const double ConstantFeatureThreshold = 1e-10;

    private readonly Parameter<T> _shift;
    private readonly Parameter<T> _logScale;

    /// <summary>Creates an uninitialized layer (the identity until it sees data).</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public ActNorm(int dimension) : base(dimension)
    {
        _shift = new Parameter<T>("shift", 1, dimension);
        _logScale = new Parameter<T>("logScale", 1, dimension);
        Parameters = [_shift, _logScale];
    }

    /// <summary>t, 1 × Dimension.</summary>
    public Parameter<T> Shift => _shift;

    /// <summary>s = log scale, 1 × Dimension.</summary>
    public Parameter<T> LogScale => _logScale;

    /// <summary>Whether the data-dependent initialization has happened (it happens once; saved with the model).</summary>
    public bool IsInitialized { get; internal set; }

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
        ArgumentNullException.ThrowIfNull(data);
        if (data.GetLength(1) != Dimension || data.GetLength(0) == 0)
        {
            throw new ArgumentException($"data is {data.GetLength(0)} × {data.GetLength(1)}; expected at least one row of {Dimension} features.", nameof(data));
        }

        if (IsInitialized)
        {
            throw new InvalidOperationException($"{this} is already initialized; ActNorm initializes exactly once.");
        }

        var values = new T[data.Length];
        int k = 0;
        foreach (T value in data)
        {
            if (!T.IsFinite(value))
            {
                throw new ArgumentException($"data[{k / Dimension}, {k % Dimension}] is {value}; initialization needs finite data.", nameof(data));
            }

            values[k++] = value;
        }

        InitializeFrom(values);
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
        => tape.AffineElementwise(z, tape.Use(_shift), tape.Use(_logScale), inverse: false);

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
    {
        if (!IsInitialized && x.Rows > 0)
        {
            InitializeFrom(x.Values);
        }

        return tape.AffineElementwise(x, tape.Use(_shift), tape.Use(_logScale), inverse: true);
    }

    // Two-pass mean and variance per feature (the second pass on the centred values avoids cancellation).
    private void InitializeFrom(ReadOnlySpan<T> x)
    {
        int d = Dimension;
        int n = x.Length / d;
        T count = T.CreateTruncating(n);
        T threshold = T.CreateTruncating(ConstantFeatureThreshold);
        for (int j = 0; j < d; j++)
        {
            T sum = T.Zero;
            T largest = T.Zero;
            for (int i = 0; i < n; i++)
            {
                T v = x[(i * d) + j];
                sum += v;
                largest = T.Max(largest, T.Abs(v));
            }

            T mean = sum / count;
            T squares = T.Zero;
            for (int i = 0; i < n; i++)
            {
                T c = x[(i * d) + j] - mean;
                squares += c * c;
            }

            T std = T.Sqrt(squares / count);
            _shift.Values[j] = mean;
            _logScale.Values[j] = std > threshold * largest ? T.Log(std) : T.Zero;
        }

        IsInitialized = true;
    }
}
