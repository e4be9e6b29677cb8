using System.Numerics;
using Flows.Autodiff;
using Flows.Neural;
using Flows.Numerics;
using MathNet.Numerics.LinearAlgebra;

namespace Flows.Bijectors;

/// <summary>
/// The affine map <c>x = μ + L z</c> with L lower-triangular and positive on the diagonal: on a standard normal base
/// it gives the multivariate normal N(μ, L Lᵀ). With a context c it is <c>x = μ + A c + L z</c>, the linear-Gaussian
/// regression N(μ + A c, L Lᵀ) of x on c.
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
/// <para><b>Conditional.</b> With <c>contextDimension</c> k &gt; 0 the shift depends linearly on the context through a
/// d × k matrix A (zero at the start; the log-determinant does not depend on it). The data-dependent start is then the
/// maximum-likelihood linear-Gaussian model of x given c: A and μ by least squares (a ridge of 1e-9 per row on the
/// standardized context, which only matters for a constant or exactly collinear context feature), L the Cholesky factor
/// of the residuals' covariance, as ordinary regression gives it. Fewer than 10 rows per regression coefficient
/// (10 (k + 1) rows) would fit the noise of the batch, so such a batch leaves A at zero and takes the plain Gaussian.
/// A feature the context (with the features before it) determines to within 1e-3 of its own scale starts with that
/// residual scale (and L diagonal), so that a deterministic relation in the data does not start the flow as a near-delta
/// that no gradient step survives.
/// A conditional flow whose other layers start at the identity then starts at this regression, and a fit that keeps its
/// best validation score cannot end below it (the presets' Gaussian starts with a context).</para>
/// <para>With <c>diagonalStart</c> the data-dependent start keeps only the diagonal of L (the residuals' standard
/// deviations); the entries below it start at zero and are trained like the rest.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class LowerTriangularAffine<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>>, IInitializesFromData where T : unmanaged, IFloatingPointIeee754<T>
{
    // Rows per regression coefficient below which the conditional start keeps A at zero (see the remarks).
    private const int RowsPerCoefficient = 10;

    // The narrowest residual scale the conditional start takes, as a fraction of the feature's scale (see the remarks).
    private const double MinimumResidualScale = 1e-3;

    private readonly Parameter<T> _shift;
    private readonly Parameter<T> _packedScale;
    private readonly Parameter<T>? _contextWeight;

    /// <summary>Creates the identity map on <paramref name="dimension"/> features.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <param name="initializeFromData">Whether the first data batch scored sets μ and L (and A) to its maximum-likelihood
    /// normal (see the remarks). Default false: the layer keeps its parameters until trained.</param>
    /// <param name="contextDimension">Context features k; with k &gt; 0 the shift is μ + A c. Default 0. Range: ≥ 0.</param>
    /// <param name="diagonalStart">Whether the data-dependent start keeps only L's diagonal (see the remarks). Default false.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive, or
    /// <paramref name="contextDimension"/> is negative.</exception>
    public LowerTriangularAffine(int dimension, bool initializeFromData = false, int contextDimension = 0, bool diagonalStart = false)
        : base(dimension, contextDimension)
    {
        // A data-initialized layer's start is the data's Gaussian: weight decay would pull it back to the identity.
        _shift = new Parameter<T>("shift", 1, dimension) { ExemptFromWeightDecay = initializeFromData };
        _packedScale = new Parameter<T>("scaleTril", 1, dimension * (dimension + 1) / 2) { ExemptFromWeightDecay = initializeFromData };
        _contextWeight = contextDimension == 0 ? null
            : new Parameter<T>("contextWeight", dimension, contextDimension) { ExemptFromWeightDecay = initializeFromData };
        Parameters = _contextWeight is null ? [_shift, _packedScale] : [_shift, _packedScale, _contextWeight];
        InitializesFromData = initializeFromData;
        DiagonalStart = diagonalStart;
        Initialization = new DataInitialization(isInitialized: !initializeFromData);
    }

    /// <summary>μ, 1 × Dimension.</summary>
    public Parameter<T> Shift => _shift;

    /// <summary>The unconstrained lower triangle of L, packed row by row (diagonal entries are log Lᵢᵢ).</summary>
    public Parameter<T> PackedScale => _packedScale;

    /// <summary>A, Dimension × ContextDimension: the shift's dependence on the context; null without a context.</summary>
    public Parameter<T>? ContextWeight => _contextWeight;

    /// <summary>Whether the layer was built to initialize from the first data batch it scores.</summary>
    public bool InitializesFromData { get; }

    /// <summary>Whether the data-dependent start keeps only L's diagonal.</summary>
    public bool DiagonalStart { get; }

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
    /// <param name="context">n × ContextDimension context rows for a conditional layer; null otherwise.</param>
    /// <exception cref="ArgumentException"><paramref name="data"/> or <paramref name="context"/> has the wrong shape, no
    /// rows, or a non-finite value.</exception>
    public void Initialize(T[,] data, T[,]? context = null)
    {
        ReadOnlySpan<T> rows = Batch.InitializationRows(data, Dimension);
        ReadOnlySpan<T> contextRows = default;
        if (ContextDimension > 0)
        {
            ArgumentNullException.ThrowIfNull(context);
            contextRows = Batch.InitializationRows(context, ContextDimension, nameof(context));
            if (context.GetLength(0) != data.GetLength(0))
            {
                throw new ArgumentException($"context has {context.GetLength(0)} rows but data has {data.GetLength(0)}.", nameof(context));
            }
        }
        else if (context is not null)
        {
            throw new ArgumentException("context was given but the layer takes none (ContextDimension 0).", nameof(context));
        }

        InitializeFrom(rows, contextRows);
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

            if (affine.ContextDimension > 0)
            {
                w.Int32("contextDimension", affine.ContextDimension);
            }

            if (affine.DiagonalStart)
            {
                w.Boolean("diagonalStart", true);
            }
        },
        r =>
        {
            int dimension = r.Int32("dimension", minimum: 1);
            bool fromData = r.Has("initializeFromData") && r.Boolean("initializeFromData");
            int contextDimension = r.Has("contextDimension") ? r.Int32("contextDimension", minimum: 1) : 0;
            bool diagonalStart = r.Has("diagonalStart") && r.Boolean("diagonalStart");
            return new LowerTriangularAffine<T>(dimension, fromData, contextDimension, diagonalStart) { IsInitialized = !fromData || r.Boolean("initialized") };
        });

    /// <inheritdoc/>
    public override string ToString()
    {
        string context = ContextDimension > 0 ? $", contextDimension: {ContextDimension}" : "";
        string start = InitializesFromData ? ", initializeFromData: true" + (DiagonalStart ? ", diagonalStart: true" : "") : "";
        return $"LowerTriangularAffine(dimension: {Dimension}{context}{start})";
    }

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
    {
        Initialization.OnForward(tape);
        Node<T> l = tape.LowerTriangularFromPacked(tape.Use(_packedScale), Dimension);
        Node<T> x = tape.Linear(z, l, tape.Use(_shift)); // z Lᵀ + μ: each row is L z + μ
        if (_contextWeight is not null)
        {
            x = tape.Add(x, tape.Linear(context!, tape.Use(_contextWeight))); // + A c
        }

        return (x, tape.RepeatRows(tape.LogAbsDiagonalSum(l), z.Rows));
    }

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
    {
        if (Initialization.OnInverse(tape, x.Rows))
        {
            InitializeFrom(x.Values, context is null ? default : context.Values);
        }

        Node<T> l = tape.LowerTriangularFromPacked(tape.Use(_packedScale), Dimension);
        Node<T> centered = tape.Subtract(x, tape.Use(_shift));
        if (_contextWeight is not null)
        {
            centered = tape.Subtract(centered, tape.Linear(context!, tape.Use(_contextWeight)));
        }

        Node<T> z = tape.SolveLowerTransposed(centered, l);
        return (z, tape.RepeatRows(tape.Negate(tape.LogAbsDiagonalSum(l)), x.Rows));
    }

    private void InitializeFrom(ReadOnlySpan<T> x, ReadOnlySpan<T> context)
    {
        int rows = x.Length / Dimension;
        double[] intercept = new double[Dimension];
        double[] residuals;
        bool regressed = _contextWeight is not null && rows >= RowsPerCoefficient * (ContextDimension + 1);
        if (regressed)
        {
            residuals = Regress(x, context, rows, intercept);
        }
        else
        {
            _contextWeight?.Values.AsSpan().Clear();
            residuals = new double[x.Length];
            for (int i = 0; i < x.Length; i++)
            {
                residuals[i] = double.CreateTruncating(x[i]);
            }
        }

        if (regressed)
        {
            // Centred first, so that the moments judge a residual's spread against its own size, not the feature's mean:
            // a feature near 1e6 that the context fixes to 1e-3 is not "constant".
            for (int j = 0; j < Dimension; j++)
            {
                double residualMean = 0;
                for (int i = j; i < residuals.Length; i += Dimension)
                {
                    residualMean += residuals[i] / rows;
                }

                for (int i = j; i < residuals.Length; i += Dimension)
                {
                    residuals[i] -= residualMean;
                }

                intercept[j] += residualMean;
            }
        }

        (double[] mean, double[] scale, Matrix<double>? lower) = SampleMoments.Of<double>(residuals, Dimension);
        if (_contextWeight is not null)
        {
            // A feature the context (almost) determines, alone or with the features before it, would start as a near-delta
            // that no gradient step survives: its residual scale, and its conditional one (Lⱼⱼ), are kept at least
            // MinimumResidualScale of the feature's own, with the diagonal start then.
            (_, double[] featureScale) = SampleMoments.OfFeatures(x, Dimension);
            for (int j = 0; j < Dimension; j++)
            {
                double floor = MinimumResidualScale * featureScale[j];
                double spread = Math.Sqrt(Enumerable.Range(0, rows).Sum(i => residuals[(i * Dimension) + j] * residuals[(i * Dimension) + j]) / rows);
                if (spread < floor || (lower is not null && lower[j, j] < floor))
                {
                    scale[j] = Math.Max(spread, floor);
                    lower = null;
                }
            }
        }

        // A singular covariance has no Cholesky factor; the diagonal of standard deviations still standardizes every
        // feature that varies, and leaves a constant one unscaled rather than dividing by zero.
        lower = DiagonalStart || lower is null ? Matrix<double>.Build.DiagonalOfDiagonalArray(scale) : lower;
        SetGaussian([.. mean.Select((m, j) => m + intercept[j])], lower);
    }

    // Least squares of x on the standardized context: sets A, adds the context's mean term to intercept, and returns the
    // residuals (rows × Dimension, row-major), whose mean and covariance give μ's rest and L.
    private double[] Regress(ReadOnlySpan<T> x, ReadOnlySpan<T> context, int rows, double[] intercept)
    {
        int k = ContextDimension;
        (double[] contextMean, double[] contextScale) = SampleMoments.OfFeatures(context, k);
        Matrix<double> design = Matrix<double>.Build.Dense(rows, k);
        Matrix<double> targets = Matrix<double>.Build.Dense(rows, Dimension);
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < k; j++)
            {
                design[i, j] = (double.CreateTruncating(context[(i * k) + j]) - contextMean[j]) / contextScale[j];
            }

            for (int j = 0; j < Dimension; j++)
            {
                targets[i, j] = double.CreateTruncating(x[(i * Dimension) + j]);
            }
        }

        Matrix<double> gram = design.TransposeThisAndMultiply(design) + Matrix<double>.Build.DenseIdentity(k).Multiply(1e-9 * rows);
        Matrix<double> coefficients = gram.Cholesky().Solve(design.TransposeThisAndMultiply(targets)); // k × d
        Matrix<double> residuals = targets - (design * coefficients);
        for (int j = 0; j < Dimension; j++)
        {
            for (int i = 0; i < k; i++)
            {
                double a = coefficients[i, j] / contextScale[i];
                _contextWeight!.Values[(j * k) + i] = T.CreateTruncating(a);
                intercept[j] -= a * contextMean[i];
            }
        }

        return residuals.ToRowMajorArray();
    }
}
