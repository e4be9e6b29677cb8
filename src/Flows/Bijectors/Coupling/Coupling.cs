using System.Numerics;
using Flows.Autodiff;
using Flows.Neural;

namespace Flows.Bijectors;

/// <summary>
/// A coupling layer: the features where <see cref="TransformedMask"/> is false pass through unchanged and condition the
/// others, <c>x_B = τ(z_B; θ(z_A))</c>, <c>x_A = z_A</c>, with an elementwise transform τ (affine for RealNVP, see
/// <see cref="AffineCoupling{T}"/>; a rational-quadratic spline for a coupling neural spline flow).
/// </summary>
/// <remarks>
/// <para>Both directions take one pass of the conditioner θ, an MLP on the fixed features (and the context):
/// the inverse is z_B = τ⁻¹(x_B; θ(x_A)). log|det J| is the transform's, summed over the transformed features. The
/// conditioner's outputs for the fixed features are multiplied by zero, which gives the identity there, and its
/// last layer starts at zero, so a new layer is the identity. Alternate the mask between layers (see
/// <see cref="AlternatingMask"/>) so every feature gets transformed. With <c>conditionerInputBound</c> B the conditioner
/// sees the soft clip x / (1 + |x|/B) of the fixed features, which keeps its outputs bounded far from the data (see
/// <see cref="MultilayerPerceptron{T}"/>).</para>
/// <para>References: Dinh, Krueger &amp; Bengio, "NICE", arXiv:1410.8516 (2014); Dinh, Sohl-Dickstein &amp; Bengio,
/// "Density estimation using Real NVP", ICLR 2017, arXiv:1605.08803; Durkan et al., "Neural Spline Flows", NeurIPS
/// 2019, arXiv:1906.04032.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public partial class Coupling<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly bool[] _transformed;
    private readonly Node<T> _inputMask;
    private readonly Node<T> _outputMask;

    /// <summary>Creates a coupling layer.</summary>
    /// <param name="transformedMask">Per feature, whether it is transformed (true) or passed through and conditioned on (false); at least one of each.</param>
    /// <param name="hiddenFeatures">MLP hidden widths; default [64, 64].</param>
    /// <param name="contextDimension">Context features per row. Range: ≥ 0.</param>
    /// <param name="transform">The elementwise transform; default <see cref="AffineTransform{T}"/>.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <param name="conditionerInputBound">B, the soft clip of the conditioner's inputs, or null for none (the default).
    /// Range: &gt; 0, finite.</param>
    /// <exception cref="ArgumentException">The mask transforms no feature or every feature.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size or the bound is out of range.</exception>
    public Coupling(IReadOnlyList<bool> transformedMask, IReadOnlyList<int>? hiddenFeatures = null, int contextDimension = 0,
        IConditionalTransform<T>? transform = null, int seed = 0, double? conditionerInputBound = null)
        : base(CheckedLength(transformedMask), contextDimension)
    {
        if (!transformedMask.Contains(true) || !transformedMask.Contains(false))
        {
            throw new ArgumentException("transformedMask must mark at least one feature as transformed (true) and one as fixed (false).", nameof(transformedMask));
        }

        int d = transformedMask.Count;
        _transformed = [.. transformedMask];
        Transform = transform ?? new AffineTransform<T>();
        int blocks = Transform.ParametersPerFeature;
        T[] inputMask = [.. _transformed.Select(t => t ? T.Zero : T.One)];
        T[] outputMask = [.. Enumerable.Range(0, blocks * d).Select(c => _transformed[c % d] ? T.One : T.Zero)];
        _inputMask = new Node<T>(inputMask, null, 1, d, isParameter: false);
        _outputMask = new Node<T>(outputMask, null, 1, blocks * d, isParameter: false);
        int[] sizes = [d, .. hiddenFeatures ?? [64, 64], blocks * d];
        Conditioner = new MultilayerPerceptron<T>("conditioner", sizes, seed, contextDimension: contextDimension, inputBound: conditionerInputBound);
    }

    /// <summary>Per feature, whether it is transformed.</summary>
    public IReadOnlyList<bool> TransformedMask => _transformed;

    /// <summary>The MLP that gives the transform's parameters from the fixed features.</summary>
    public MultilayerPerceptron<T> Conditioner { get; }

    /// <summary>The elementwise transform applied to the transformed features.</summary>
    public IConditionalTransform<T> Transform { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => Conditioner.Parameters;

    /// <summary>Transforms the odd features (<paramref name="parity"/> 1) or the even ones (0) of <paramref name="dimension"/>.</summary>
    /// <param name="dimension">Features per row. Range: ≥ 2.</param>
    /// <param name="parity">0 or 1.</param>
    public static bool[] AlternatingMask(int dimension, int parity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 2);
        return [.. Enumerable.Range(0, dimension).Select(j => j % 2 == (parity & 1))];
    }

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "Coupling",
        typeof(Coupling<T>),
        (b, w) =>
        {
            ((Coupling<T>)b).WriteCouplingFields(w);
            w.Transform("transform", ((Coupling<T>)b).Transform);
        },
        r => new Coupling<T>(
            r.BooleanArray("transformedMask"),
            r.Int32Array("hiddenFeatures"),
            r.Int32("contextFeatures", minimum: 0),
            r.Transform("transform"),
            conditionerInputBound: ReadConditionerInputBound(r)));

    // The fields that AffineCoupling's saved form shares. The input bound is written only when set, so files of layers
    // without it (all files before it existed) read as they did.
    private protected void WriteCouplingFields(ISavedFormWriter<T> writer)
    {
        writer.Int32Array("transformedMask", [.. TransformedMask.Select(t => t ? 1 : 0)]);
        writer.Int32Array("hiddenFeatures", [.. Conditioner.Sizes.Skip(1).SkipLast(1)]);
        writer.Int32("contextFeatures", ContextDimension);
        if (Conditioner.InputBound is double bound)
        {
            writer.Double("conditionerInputBound", bound);
        }
    }

    private protected static double? ReadConditionerInputBound(ISavedFormReader<T> reader)
        => reader.Has("conditionerInputBound") ? reader.Double("conditionerInputBound") : null;

    /// <inheritdoc/>
    public override string ToString()
        => $"{GetType().Name[..^2]}(transformed: [{string.Join(", ", _transformed.Select(t => t ? 1 : 0))}], hidden: [{string.Join(", ", Conditioner.Sizes.Skip(1).SkipLast(1))}], context: {ContextDimension}, transform: {Transform}"
            + (Conditioner.InputBound is double bound ? $", conditionerInputBound: {bound})" : ")");

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => Transform.Forward(tape, z, TransformParameters(tape, z, context));

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => Transform.Inverse(tape, x, TransformParameters(tape, x, context));

    // The conditioner sees only the fixed features; zeroing its outputs on the fixed features gives the identity there.
    // Masking selects rather than multiplies, so that a transformed feature at ±∞ (an earlier layer's overflow) or a
    // conditioner output at ±∞ gives 0 where masked out, not 0 · ∞ = NaN.
    private Node<T> TransformParameters(Tape<T> tape, Node<T> input, Node<T>? context)
        => tape.MaskColumns(Conditioner.Apply(tape, tape.MaskColumns(input, _inputMask), context), _outputMask);

    private static int CheckedLength(IReadOnlyList<bool> mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        return mask.Count;
    }
}
