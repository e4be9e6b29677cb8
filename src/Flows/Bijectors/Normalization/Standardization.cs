using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// The data's standardization as a layer: <c>x = m + s ⊙ z</c> with m each feature's mean and s its population standard
/// deviation, taken once from the training data and then fixed (no trainable parameters). Placed next to the data, it
/// lets every layer beyond it work in standardized units and reports densities in the data's own units, its
/// log|det J| = Σⱼ log sⱼ included.
/// </summary>
/// <remarks>
/// <para>Why fixed: a trainable shift or scale in the data's units (an <see cref="ActNorm{T}"/> next to the data) takes
/// optimizer steps of the learning rate's size in those units, so at a scale of 1e-4 one Adam step of 1e-3 moves it by
/// ten standard deviations, and at 1e4 it barely moves. With this layer in front, a flow fitted to the same data in
/// other units gives the same fit, its log-likelihood shifted by exactly the change of units.</para>
/// <para><b>Initialization</b> follows <see cref="ActNorm{T}"/>'s rules: the first non-empty batch passed to
/// <see cref="Bijector{T}.Inverse"/> on a tape that does not record or that trains, or <see cref="Initialize"/>; <c>Fit</c> passes it up to
/// 4,096 training rows before any step, and initializes it again if only a probe of the untrained flow had; a recording
/// tape outside training (variational fitting) adopts the identity. A feature whose standard deviation is at most
/// 64 ulps of its largest magnitude (64 machine epsilons of T times it), or is not a normal number of T, is constant and only centred (s = 1). m, s and whether they are settled are saved with
/// the flow, so a loaded flow never re-standardizes. Until initialized the layer is the identity.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class Standardization<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>>, IInitializesFromData where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly FeatureStandardization<T> _standardization;

    /// <summary>Creates the layer, the identity until it sees data.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public Standardization(int dimension) : base(dimension)
    {
        _standardization = new FeatureStandardization<T>(dimension, isInitialized: false);
    }

    /// <summary>m, each feature's mean (0 until initialized).</summary>
    public ReadOnlySpan<T> Mean => _standardization.Mean;

    /// <summary>s, each feature's standard deviation, 1 for a constant feature (1 until initialized).</summary>
    public ReadOnlySpan<T> Scale => _standardization.Scale;

    /// <summary>Whether m and s are settled; it becomes true once and is saved with the flow.</summary>
    public bool IsInitialized => _standardization.Initialization.IsInitialized;

    /// <summary>None: m and s are fixed once taken from data.</summary>
    public override IReadOnlyList<Parameter<T>> Parameters => [];

    DataInitialization IInitializesFromData.Initialization => _standardization.Initialization;

    /// <summary>Sets m and s from <paramref name="data"/> now, as the first inverse call would from its batch.</summary>
    /// <param name="data">n × Dimension data rows, n &gt; 0, all finite.</param>
    /// <exception cref="ArgumentException"><paramref name="data"/> has the wrong width, no rows, or a non-finite value.</exception>
    /// <exception cref="InvalidOperationException">The layer is already initialized.</exception>
    public void Initialize(T[,] data)
    {
        ReadOnlySpan<T> rows = Batch.InitializationRows(data, Dimension);
        if (IsInitialized)
        {
            throw new InvalidOperationException($"{this} is already initialized; a standardization is set once.");
        }

        _standardization.InitializeFrom(rows);
    }

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "Standardization",
        typeof(Standardization<T>),
        (b, w) =>
        {
            w.Int32("dimension", b.Dimension);
            ((Standardization<T>)b)._standardization.Write(w, "initialized", "mean", "scale");
        },
        r =>
        {
            var layer = new Standardization<T>(r.Int32("dimension", minimum: 1));
            layer._standardization.Read(r, "initialized", "mean", "scale");
            return layer;
        });

    /// <inheritdoc/>
    public override string ToString() => $"Standardization(dimension: {Dimension})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
    {
        _standardization.Initialization.OnForward(tape);
        return _standardization.Affine(tape, z, inverse: false);
    }

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
    {
        if (_standardization.Initialization.OnInverse(tape, x.Rows))
        {
            _standardization.InitializeFrom(x.Values);
        }

        return _standardization.Affine(tape, x, inverse: true);
    }
}
