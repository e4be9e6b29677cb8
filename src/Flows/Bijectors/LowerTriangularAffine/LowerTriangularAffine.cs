using System.Numerics;
using Flows.Autodiff;
using Flows.Neural;
using Flows.Numerics;
using MathNet.Numerics.LinearAlgebra;

namespace Flows.Bijectors;

/// <summary>
/// The affine map <c>x = μ + L z</c> with L lower-triangular and positive on the diagonal: on a standard normal base
/// it gives the multivariate normal N(μ, L Lᵀ).
/// </summary>
/// <remarks>
/// <para>L is built from d(d+1)/2 unconstrained values packed row by row: below the diagonal as they are, on the diagonal
/// through exp, so log|det J| = Σᵢ log Lᵢᵢ on every row. The inverse is one forward substitution per row.
/// All-zero parameters give the identity.</para>
/// <para><b>Starting at the Gaussian of the data.</b> <see cref="Initialize"/>, or for a layer built with
/// <c>initializeFromData: true</c> the first non-empty batch passed to <see cref="Bijector{T}.Inverse"/> (the direction
/// <c>DensityLn</c> and <c>Fit</c> use: <c>Fit</c> passes it its training data before any step), sets μ to the
/// batch mean and L to the Cholesky factor of its covariance (divisor n): the maximum-likelihood normal, the same
/// numbers <c>MultivariateNormal.Fit</c> gives. In a flow whose other layers start at the identity it makes the whole
/// flow start as that Gaussian, so training only has to learn the departures from it (the presets'
/// <c>GaussianStart.Full</c>). When the covariance is singular (no more rows than features, a constant feature, or one
/// a linear combination of others) L falls back to the diagonal of standard deviations, with 1 for a constant feature.
/// The data-dependent initialization happens once and follows the rules of <see cref="ActNorm{T}"/>: on a tape that
/// records gradients outside training (variational inference) the layer adopts its current parameters instead;
/// <see cref="IsInitialized"/> is saved with the model, so a loaded layer never re-initializes.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class LowerTriangularAffine<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>>, IInitializesFromData where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T> _shift;
    private readonly Parameter<T> _packedScale;

    /// <summary>Creates the identity map on <paramref name="dimension"/> features.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <param name="initializeFromData">Whether the first data batch scored sets μ and L to its maximum-likelihood
    /// normal (see the remarks). Default false: the layer keeps its parameters until trained.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public LowerTriangularAffine(int dimension, bool initializeFromData = false) : base(dimension)
    {
        // A data-initialized layer's start is the data's Gaussian: weight decay would pull it back to the identity.
        _shift = new Parameter<T>("shift", 1, dimension) { ExemptFromWeightDecay = initializeFromData };
        _packedScale = new Parameter<T>("scaleTril", 1, dimension * (dimension + 1) / 2) { ExemptFromWeightDecay = initializeFromData };
        Parameters = [_shift, _packedScale];
        InitializesFromData = initializeFromData;
        Initialization = new DataInitialization(isInitialized: !initializeFromData);
    }

    /// <summary>μ, 1 × Dimension.</summary>
    public Parameter<T> Shift => _shift;

    /// <summary>The unconstrained lower triangle of L, packed row by row (diagonal entries are log Lᵢᵢ).</summary>
    public Parameter<T> PackedScale => _packedScale;

    /// <summary>Whether the layer was built to initialize from the first data batch it scores.</summary>
    public bool InitializesFromData { get; }

    /// <summary>
    /// Whether μ and L are settled, so that no later batch re-initializes them: true from the start for a layer built
    /// without <c>initializeFromData</c>; otherwise after the data-dependent initialization, <see cref="Initialize"/>,
    /// or a first use on a recording tape outside training (see the remarks). It becomes true once; saved with the model.
    /// </summary>
    public bool IsInitialized { get => Initialization.IsInitialized; internal set => Initialization.IsInitialized = value; }

    DataInitialization IInitializesFromData.Initialization => Initialization;

    private DataInitialization Initialization { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>
    /// Sets μ and L to the maximum-likelihood normal of <paramref name="data"/> now (see the remarks), overwriting the
    /// current parameters; a layer that initializes from data then leaves them alone.
    /// </summary>
    /// <param name="data">n × Dimension data rows, n &gt; 0, all finite.</param>
    /// <exception cref="ArgumentException"><paramref name="data"/> has the wrong width, no rows, or a non-finite value.</exception>
    public void Initialize(T[,] data)
    {
        InitializeFrom(Batch.InitializationRows(data, Dimension));
        Initialization.Keep();
    }

    /// <summary>Sets μ and L; <paramref name="lower"/> must have a positive diagonal.</summary>
    internal void SetGaussian(IReadOnlyList<double> mean, Matrix<double> lower)
    {
        for (int j = 0; j < Dimension; j++)
        {
            _shift.Values[j] = T.CreateTruncating(mean[j]);
        }

        for (int i = 0, k = 0; i < Dimension; i++)
        {
            for (int j = 0; j <= i; j++, k++)
            {
                _packedScale.Values[k] = T.CreateTruncating(i == j ? Math.Log(lower[i, i]) : lower[i, j]);
            }
        }

        IsInitialized = true;
    }

    /// <summary>The current L as a dense Dimension × Dimension array.</summary>
    public T[,] GetScaleMatrix()
    {
        var tape = new Tape<T>(isRecording: false);
        Node<T> l = tape.LowerTriangularFromPacked(tape.Use(_packedScale), Dimension);
        var result = new T[Dimension, Dimension];
        for (int i = 0; i < Dimension; i++)
        {
            for (int j = 0; j < Dimension; j++)
            {
                result[i, j] = l[i, j];
            }
        }

        return result;
    }

    // A layer that initializes from data saves whether it has, so a loaded one never re-initializes; the two fields are
    // written only for such a layer, so a plain layer's file reads as it did before they existed.
    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "LowerTriangularAffine",
        typeof(LowerTriangularAffine<T>),
        (b, w) =>
        {
            var affine = (LowerTriangularAffine<T>)b;
            w.Int32("dimension", affine.Dimension);
            if (affine.InitializesFromData)
            {
                w.Boolean("initializeFromData", true);
                w.Boolean("initialized", affine.IsInitialized);
            }
        },
        r =>
        {
            int dimension = r.Int32("dimension", minimum: 1);
            bool fromData = r.Has("initializeFromData") && r.Boolean("initializeFromData");
            return new LowerTriangularAffine<T>(dimension, fromData) { IsInitialized = !fromData || r.Boolean("initialized") };
        });

    /// <inheritdoc/>
    public override string ToString()
        => InitializesFromData ? $"LowerTriangularAffine(dimension: {Dimension}, initializeFromData: true)" : $"LowerTriangularAffine(dimension: {Dimension})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
    {
        Initialization.OnForward(tape);
        Node<T> l = tape.LowerTriangularFromPacked(tape.Use(_packedScale), Dimension);
        Node<T> x = tape.Linear(z, l, tape.Use(_shift)); // z Lᵀ + μ: each row is L z + μ
        return (x, tape.RepeatRows(tape.LogAbsDiagonalSum(l), z.Rows));
    }

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
    {
        if (Initialization.OnInverse(tape, x.Rows))
        {
            InitializeFrom(x.Values);
        }

        Node<T> l = tape.LowerTriangularFromPacked(tape.Use(_packedScale), Dimension);
        Node<T> z = tape.SolveLowerTransposed(tape.Subtract(x, tape.Use(_shift)), l);
        return (z, tape.RepeatRows(tape.Negate(tape.LogAbsDiagonalSum(l)), x.Rows));
    }

    private void InitializeFrom(ReadOnlySpan<T> x)
    {
        (double[] mean, double[] scale, Matrix<double>? lower) = SampleMoments.Of(x, Dimension);
        // A singular covariance has no Cholesky factor; the diagonal of standard deviations still standardizes every
        // feature that varies, and leaves a constant one unscaled rather than dividing by zero.
        lower ??= Matrix<double>.Build.DiagonalOfDiagonalArray(scale);
        SetGaussian(mean, lower);
    }
}
