using System.Numerics;
using Flows.Autodiff;
using Flows.Neural;

namespace Flows.Bijectors;

/// <summary>
/// A coupling layer on angles and reals: the features where <see cref="TransformedMask"/> is true go through a
/// <see cref="CircularSplineTransform{T}"/> (circular splines on angles, ordinary splines on reals) whose parameters an
/// MLP computes from the other features, seen periodically: <c>x_B = τ(z_B; θ(e(z_A)))</c>, <c>x_A = z_A</c>, with
/// e(θ) = (cos θ, sin θ) for an angle and e(v) = v for a real.
/// </summary>
/// <remarks>
/// <para>Both directions take one pass of the conditioner: the inverse is z_B = τ⁻¹(x_B; θ(e(x_A))). log|det J| is the
/// spline's, summed over the transformed features. Because the conditioner sees angles only through their sine and
/// cosine, the layer is a diffeomorphism of the torus (times ℝ for real columns): the density it gives is continuous where
/// an angle wraps from π to −π. The conditioner's last layer starts at zero, so a new layer is the identity.</para>
/// <para>A mask that transforms every feature leaves the conditioner no input, and the layer is then an elementwise
/// spline whose parameters are the network's output bias (learned, shared by every row).</para>
/// <para>References: Rezende et al., "Normalizing Flows on Tori and Spheres", ICML 2020, arXiv:2002.02428; Dinh,
/// Sohl-Dickstein &amp; Bengio, "Density estimation using Real NVP", ICLR 2017, arXiv:1605.08803.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class CircularCoupling<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly bool[] _transformed;
    private readonly int[] _angleColumns;
    private readonly Node<T> _inputMask;
    private readonly Node<T> _outputMask;

    /// <summary>Creates the identity layer.</summary>
    /// <param name="transformedMask">Per feature, whether it is transformed (true) or passed through and conditioned on
    /// (false); at least one transformed.</param>
    /// <param name="transform">The spline; its <see cref="CircularSplineTransform{T}.Angles"/> say which columns are angles
    /// and fix the dimension.</param>
    /// <param name="hiddenFeatures">MLP hidden widths; default [64, 64].</param>
    /// <param name="contextDimension">Context features per row. Range: ≥ 0.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The mask transforms no feature or does not have one entry per column of the transform.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range.</exception>
    public CircularCoupling(IReadOnlyList<bool> transformedMask, CircularSplineTransform<T> transform, IReadOnlyList<int>? hiddenFeatures = null,
        int contextDimension = 0, int seed = 0)
        : base(CheckedLength(transformedMask, transform), contextDimension)
    {
        int d = transformedMask.Count;
        _transformed = [.. transformedMask];
        Transform = transform;
        (_angleColumns, _) = CircularOps.Columns(transform.Angles, nameof(transform));
        int blocks = transform.ParametersPerFeature;
        int inputs = d + _angleColumns.Length;

        // Conditioner inputs: the features (cosines for angles) and then the sines of the angles, each zeroed when its
        // feature is transformed.
        T[] inputMask = [.. Enumerable.Range(0, inputs).Select(c => _transformed[c < d ? c : _angleColumns[c - d]] ? T.Zero : T.One)];
        T[] outputMask = [.. Enumerable.Range(0, blocks * d).Select(c => _transformed[c % d] ? T.One : T.Zero)];
        _inputMask = new Node<T>(inputMask, null, 1, inputs, isParameter: false);
        _outputMask = new Node<T>(outputMask, null, 1, blocks * d, isParameter: false);
        int[] sizes = [inputs, .. hiddenFeatures ?? [64, 64], blocks * d];
        Conditioner = new MultilayerPerceptron<T>("conditioner", sizes, seed, contextDimension: contextDimension);
    }

    /// <summary>Per feature, whether it is transformed.</summary>
    public IReadOnlyList<bool> TransformedMask => _transformed;

    /// <summary>The spline applied to the transformed features.</summary>
    public CircularSplineTransform<T> Transform { get; }

    /// <summary>The MLP that gives the spline's parameters from the periodic view of the fixed features.</summary>
    public MultilayerPerceptron<T> Conditioner { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => Conditioner.Parameters;

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "CircularCoupling",
        typeof(CircularCoupling<T>),
        (b, w) =>
        {
            var layer = (CircularCoupling<T>)b;
            w.Int32Array("transformedMask", [.. layer.TransformedMask.Select(t => t ? 1 : 0)]);
            w.Int32Array("hiddenFeatures", [.. layer.Conditioner.Sizes.Skip(1).SkipLast(1)]);
            w.Int32("contextFeatures", layer.ContextDimension);
            w.Transform("transform", layer.Transform);
        },
        r => new CircularCoupling<T>(
            r.BooleanArray("transformedMask"),
            r.Transform("transform") as CircularSplineTransform<T> ?? throw r.Error("transform", "expected a CircularRationalQuadratic transform"),
            r.Int32Array("hiddenFeatures"),
            r.Int32("contextFeatures", minimum: 0)));

    /// <inheritdoc/>
    public override string ToString()
        => $"CircularCoupling(transformed: [{string.Join(", ", _transformed.Select(t => t ? 1 : 0))}], hidden: [{string.Join(", ", Conditioner.Sizes.Skip(1).SkipLast(1))}], context: {ContextDimension}, transform: {Transform})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => Transform.Forward(tape, z, TransformParameters(tape, z, context));

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => Transform.Inverse(tape, x, TransformParameters(tape, x, context));

    // Masking selects rather than multiplies (as in Coupling), so a masked-out infinity gives 0, not NaN.
    private Node<T> TransformParameters(Tape<T> tape, Node<T> input, Node<T>? context)
        => tape.MaskColumns(Conditioner.Apply(tape, tape.MaskColumns(tape.AngleFeatures(input, _angleColumns), _inputMask), context), _outputMask);

    private static int CheckedLength(IReadOnlyList<bool> transformedMask, CircularSplineTransform<T> transform)
    {
        ArgumentNullException.ThrowIfNull(transformedMask);
        ArgumentNullException.ThrowIfNull(transform);
        if (!transformedMask.Contains(true))
        {
            throw new ArgumentException("transformedMask must mark at least one feature as transformed (true).", nameof(transformedMask));
        }

        if (transformedMask.Count != transform.Angles.Count)
        {
            throw new ArgumentException($"transformedMask has {transformedMask.Count} entries but the transform has {transform.Angles.Count} columns.", nameof(transformedMask));
        }

        return transformedMask.Count;
    }
}
