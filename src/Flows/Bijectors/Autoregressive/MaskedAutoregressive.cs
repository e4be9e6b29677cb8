using System.Numerics;
using Flows.Autodiff;
using Flows.Neural;

namespace Flows.Bijectors;

/// <summary>
/// The masked autoregressive affine bijector (MAF): <c>xᵢ = zᵢ · exp(sᵢ(x₍&lt;ᵢ₎)) + μᵢ(x₍&lt;ᵢ₎)</c>, with μ and s from a
/// MADE conditioner on the features before i in its order (and on the context).
/// </summary>
/// <remarks>
/// <para><b>Which direction is cheap.</b> <see cref="Bijector{T}.Inverse"/> (data → base, what log-density needs)
/// takes one MADE pass: z = (x − μ(x)) ⊙ exp(−s(x)). <see cref="Bijector{T}.Forward"/> (base → data, what sampling
/// needs) takes d sequential passes, each fixing one more feature. So a MAF scores data fast and samples slowly. Its
/// mirror, the inverse autoregressive flow (IAF, Kingma et al. 2016), is this bijector wrapped in
/// <see cref="Inverted{T}"/>: one pass to sample, d passes to score, the right choice for variational inference.</para>
/// <para><b>Stable scale.</b> With the default <see cref="AffineTransform{T}"/> the log-scale is soft-clamped,
/// s = b·tanh(r/b) (b = 5), so no raw exponential of a network output can overflow and the gradient never vanishes
/// abruptly. log|det J| of the forward map = Σᵢ sᵢ. The MADE's last layer starts at zero, so a new layer is the
/// identity.</para>
/// <para><b>Bounded conditioner.</b> With <c>conditionerInputBound</c> B the MADE sees x / (1 + |x|/B) instead of x, so
/// far outside the data μ and s stay near their values at |x| ≈ B rather than growing linearly; without it, one layer's
/// stretch of an outlying row feeds the next layer's conditioner a larger input still, and on small data sets a single
/// held-out row can end up 10⁹ nats below its Gaussian log-density. The presets that start at a Gaussian set B = 3 on
/// standardized data.</para>
/// <para>References: Papamakarios, Pavlakou &amp; Murray, "Masked Autoregressive Flow for Density Estimation", NeurIPS
/// 2017, arXiv:1705.07057; Kingma et al., "Improved Variational Inference with Inverse Autoregressive Flow", NeurIPS
/// 2016, arXiv:1606.04934; Germain et al., MADE, arXiv:1502.03509.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class MaskedAutoregressive<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private long _conditionerEvaluations;

    /// <summary>Creates a MAF layer.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <param name="hiddenFeatures">MADE hidden widths; default [64, 64]. Each ≥ dimension − 1.</param>
    /// <param name="order">The autoregressive order (see <see cref="Orders"/>); default natural.</param>
    /// <param name="contextDimension">Context features per row. Range: ≥ 0.</param>
    /// <param name="transform">The elementwise transform; default <see cref="AffineTransform{T}"/> (MAF). A
    /// <see cref="RationalQuadraticTransform{T}"/> gives the autoregressive neural spline flow.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <param name="conditionerInputBound">B, the soft clip of the MADE's inputs (see the remarks), or null for none
    /// (the default). Range: &gt; 0, finite.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size or the bound is out of range.</exception>
    /// <exception cref="ArgumentException">A hidden layer is too narrow, or the order is not a permutation.</exception>
    public MaskedAutoregressive(int dimension, IReadOnlyList<int>? hiddenFeatures = null, IReadOnlyList<int>? order = null,
        int contextDimension = 0, IConditionalTransform<T>? transform = null, int seed = 0, double? conditionerInputBound = null)
        : base(dimension, contextDimension)
    {
        Transform = transform ?? new AffineTransform<T>();
        Conditioner = new MaskedAutoencoder<T>(dimension, hiddenFeatures ?? [64, 64], Transform.ParametersPerFeature,
            order ?? Orders.Natural(dimension), seed, contextDimension, inputBound: conditionerInputBound);
    }

    /// <summary>The MADE that gives the transform's parameters for each feature.</summary>
    public MaskedAutoencoder<T> Conditioner { get; }

    /// <summary>The elementwise transform whose parameters the MADE gives.</summary>
    public IConditionalTransform<T> Transform { get; }

    /// <summary>MADE passes run so far (an instrumentation count: d per forward call, 1 per inverse call).</summary>
    public long ConditionerEvaluations => Interlocked.Read(ref _conditionerEvaluations);

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => Conditioner.Parameters;

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "MaskedAutoregressive",
        typeof(MaskedAutoregressive<T>),
        (b, w) =>
        {
            var maf = (MaskedAutoregressive<T>)b;
            w.Int32("features", maf.Dimension);
            w.Int32Array("hiddenFeatures", maf.Conditioner.HiddenFeatures);
            w.Int32Array("order", maf.Conditioner.Order);
            w.Int32("contextFeatures", maf.ContextDimension);
            w.Transform("transform", maf.Transform);
            // Written only when set, so files of layers without it (all files before it existed) read as they did.
            if (maf.Conditioner.InputBound is double bound)
            {
                w.Double("conditionerInputBound", bound);
            }
        },
        r => new MaskedAutoregressive<T>(
            r.Int32("features", minimum: 1),
            r.Int32Array("hiddenFeatures"),
            r.Int32Array("order"),
            r.Int32("contextFeatures", minimum: 0),
            r.Transform("transform"),
            conditionerInputBound: r.Has("conditionerInputBound") ? r.Double("conditionerInputBound") : null),
        UpgradeParameters: (b, version) =>
        {
            MaskedAutoencoder<T> made = ((MaskedAutoregressive<T>)b).Conditioner;
            // Version 1 numbered MADE's hidden units cyclically by degree; later versions sort them by degree.
            if (version < 2)
            {
                made.ReorderHiddenUnitsFromCyclicDegrees();
            }

            // Versions 1 and 2 had no direct context-to-output weights: zero is the network those files describe.
            if (version < 3)
            {
                made.ClearContextToOutput();
            }

            // Versions 1 to 3 laid MADE's output units out by parameter block; version 4 groups them by feature.
            if (version < 4)
            {
                made.ReorderOutputsFromBlockLayout();
            }
        },
        StoredParameters: (b, version) =>
        {
            MaskedAutoencoder<T> made = ((MaskedAutoregressive<T>)b).Conditioner;
            return version < 3 ? made.ParametersWithoutContextToOutput : made.Parameters;
        });

    /// <inheritdoc/>
    public override string ToString()
        => $"MaskedAutoregressive(dimension: {Dimension}, hidden: [{string.Join(", ", Conditioner.HiddenFeatures)}], order: [{string.Join(", ", Conditioner.Order)}], context: {ContextDimension}, transform: {Transform}"
            + (Conditioner.InputBound is double bound ? $", conditionerInputBound: {bound})" : ")");

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
    {
        if (!tape.IsRecording && z.Rows > 0)
        {
            return ForwardSequentially(tape, z, context);
        }

        // Pass k fixes the k-th feature in the order: its inputs, the features before it, were fixed by earlier
        // passes. After d passes every feature is exact, and so is the log-det of the last pass.
        (Node<T> x, Node<T> logDet) = Transform.Forward(tape, z, Evaluate(tape, z, context));
        for (int pass = 1; pass < Dimension; pass++)
        {
            (x, logDet) = Transform.Forward(tape, z, Evaluate(tape, x, context));
        }

        return (x, logDet);
    }

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => Transform.Inverse(tape, x, Evaluate(tape, x, context));

    // Without gradients the d passes shrink to one pass's work: each step evaluates only the hidden units that just
    // became computable (see MaskedAutoencoder.RunSequentially), and the transform runs on one column of a group of rows at
    // a time (its outputs are tape scratch for each step of each group, kept until the tape is reset).
    private (Node<T> Output, Node<T> LogDet) ForwardSequentially(Tape<T> tape, Node<T> z, Node<T>? context)
    {
        int n = z.Rows;
        int d = Dimension;
        Node<T> x = tape.Allocate(n, d);
        x.Values.Clear();
        Node<T> logDerivatives = tape.Allocate(n, d);
        Interlocked.Add(ref _conditionerEvaluations, d);
        Conditioner.RunSequentially(tape, x, context, (feature, parameters, firstRow) =>
        {
            int rows = parameters.Rows;
            Node<T> column = tape.Allocate(rows, 1);
            for (int i = 0; i < rows; i++)
            {
                column.Values[i] = z.Values[((firstRow + i) * d) + feature];
            }

            (Node<T> value, Node<T> logDet) = Transform.ForwardColumn(tape, feature, column, parameters);
            for (int i = 0; i < rows; i++)
            {
                x.Values[((firstRow + i) * d) + feature] = value.Values[i];
                logDerivatives.Values[((firstRow + i) * d) + feature] = logDet.Values[i];
            }
        });

        // Each row summed by the transform in the order its whole-row pass sums (the spline: a vector of features at a time,
        // then across the lanes), so the log-det, like x, has the bits of the d passes.
        Node<T> total = tape.Allocate(n, 1);
        Transform.SumLogDerivatives(logDerivatives.Values, d, total.Values);
        return (x, total);
    }

    private Node<T> Evaluate(Tape<T> tape, Node<T> x, Node<T>? context)
    {
        Interlocked.Increment(ref _conditionerEvaluations);
        return Conditioner.Apply(tape, x, context);
    }
}
