using System.Numerics;
using Flows.Autodiff;
using Flows.Neural;

namespace Flows.Bijectors;

/// <summary>
/// The affine coupling layer of RealNVP: the features where <see cref="TransformedMask"/> is false pass through
/// unchanged and condition the others, <c>x_B = z_B ⊙ exp(s(z_A)) + μ(z_A)</c>, <c>x_A = z_A</c>.
/// </summary>
/// <remarks>
/// <para>Both directions take one pass of the conditioner, an MLP on the fixed features (and the context):
/// the inverse is z_B = (x_B − μ(x_A)) ⊙ exp(−s(x_A)). log|det J| of the forward map = Σ_B s. The log-scale is
/// soft-clamped, s = b·tanh(r/b) (default b = 5), and the MLP's last layer starts small, so a new layer is near the
/// identity. Alternate the mask between layers (see <see cref="AlternatingMask"/>) so every feature gets transformed.</para>
/// <para>References: Dinh, Krueger &amp; Bengio, "NICE", arXiv:1410.8516 (2014); Dinh, Sohl-Dickstein &amp; Bengio,
/// "Density estimation using Real NVP", ICLR 2017, arXiv:1605.08803.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class AffineCoupling<T> : Bijector<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly bool[] _transformed;
    private readonly Node<T> _inputMask;
    private readonly Node<T> _outputMask;
    private readonly T _logScaleBound;

    /// <summary>Creates a coupling layer.</summary>
    /// <param name="transformedMask">Per feature, whether it is transformed (true) or passed through and conditioned on (false); at least one of each.</param>
    /// <param name="hiddenFeatures">MLP hidden widths; default [64, 64].</param>
    /// <param name="contextFeatures">Context features per row. Range: ≥ 0.</param>
    /// <param name="logScaleBound">b in s = b·tanh(r/b). Default 5. Range: &gt; 0.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <exception cref="ArgumentException">The mask transforms no feature or every feature.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size or the bound is out of range.</exception>
    public AffineCoupling(IReadOnlyList<bool> transformedMask, IReadOnlyList<int>? hiddenFeatures = null, int contextFeatures = 0,
        double logScaleBound = 5.0, int seed = 0)
        : base(CheckedLength(transformedMask), contextFeatures)
    {
        if (!transformedMask.Contains(true) || !transformedMask.Contains(false))
        {
            throw new ArgumentException("transformedMask must mark at least one feature as transformed (true) and one as fixed (false).", nameof(transformedMask));
        }

        if (!(logScaleBound > 0 && double.IsFinite(logScaleBound)))
        {
            throw new ArgumentOutOfRangeException(nameof(logScaleBound), logScaleBound, "logScaleBound must be finite and > 0.");
        }

        int d = transformedMask.Count;
        _transformed = [.. transformedMask];
        LogScaleBound = logScaleBound;
        _logScaleBound = T.CreateTruncating(logScaleBound);
        T[] inputMask = [.. _transformed.Select(t => t ? T.Zero : T.One)];
        T[] outputMask = [.. _transformed.Concat(_transformed).Select(t => t ? T.One : T.Zero)];
        _inputMask = new Node<T>(inputMask, null, 1, d, isParameter: false);
        _outputMask = new Node<T>(outputMask, null, 1, 2 * d, isParameter: false);
        int[] sizes = [d, .. hiddenFeatures ?? [64, 64], 2 * d];
        Conditioner = new MultilayerPerceptron<T>("conditioner", sizes, new Random(seed), contextFeatures: contextFeatures);
    }

    /// <summary>Per feature, whether it is transformed.</summary>
    public IReadOnlyList<bool> TransformedMask => _transformed;

    /// <summary>The MLP that gives shift and raw log-scale from the fixed features.</summary>
    public MultilayerPerceptron<T> Conditioner { get; }

    /// <summary>b in s = b·tanh(r/b).</summary>
    public double LogScaleBound { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => Conditioner.Parameters;

    /// <summary>Transforms the odd features (<paramref name="parity"/> 1) or the even ones (0) of <paramref name="features"/>.</summary>
    /// <param name="features">Features. Range: ≥ 2.</param>
    /// <param name="parity">0 or 1.</param>
    public static bool[] AlternatingMask(int features, int parity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(features, 2);
        return [.. Enumerable.Range(0, features).Select(j => j % 2 == (parity & 1))];
    }

    /// <inheritdoc/>
    public override string ToString()
        => $"AffineCoupling(transformed: [{string.Join(", ", _transformed.Select(t => t ? 1 : 0))}], hidden: [{string.Join(", ", Conditioner.Sizes.Skip(1).SkipLast(1))}], context: {ContextDimension})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => tape.ConditionalAffine(z, ShiftAndLogScale(tape, z, context), _logScaleBound, inverse: false);

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => tape.ConditionalAffine(x, ShiftAndLogScale(tape, x, context), _logScaleBound, inverse: true);

    // The conditioner sees only the fixed features; zeroing its outputs on the fixed features makes them pass through
    // (μ = 0, s = 0) and keeps their log-det terms at exactly 0.
    private Node<T> ShiftAndLogScale(Tape<T> tape, Node<T> input, Node<T>? context)
        => tape.Multiply(Conditioner.Apply(tape, tape.Multiply(input, _inputMask), context), _outputMask);

    private static int CheckedLength(IReadOnlyList<bool> mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        return mask.Count;
    }
}
