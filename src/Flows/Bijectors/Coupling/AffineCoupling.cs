using System.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// The affine coupling layer of NICE/RealNVP: <c>x_B = z_B ⊙ exp(s(z_A)) + μ(z_A)</c>, <c>x_A = z_A</c>, a
/// <see cref="Coupling{T}"/> with an <see cref="AffineTransform{T}"/>.
/// </summary>
/// <remarks>One conditioner pass in both directions; log|det J| = Σ_B s with the soft-clamped log-scale
/// s = b·tanh(r/b). The fixed features pass through bit for bit.</remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class AffineCoupling<T> : Coupling<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Re-implemented so that this type, not its base, gives the form.
    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "AffineCoupling",
        typeof(AffineCoupling<T>),
        (b, w) =>
        {
            var coupling = (AffineCoupling<T>)b;
            coupling.WriteCouplingFields(w);
            w.Double("logScaleBound", coupling.LogScaleBound);
        },
        r => new AffineCoupling<T>(
            r.BooleanArray("transformedMask"),
            r.Int32Array("hiddenFeatures"),
            r.Int32("contextFeatures", minimum: 0),
            r.Double("logScaleBound"),
            conditionerInputBound: ReadConditionerInputBound(r)));

    /// <summary>Creates an affine coupling layer.</summary>
    /// <param name="transformedMask">Per feature, whether it is transformed (true) or passed through (false); at least one of each.</param>
    /// <param name="hiddenFeatures">MLP hidden widths; default [64, 64].</param>
    /// <param name="contextDimension">Context features per row. Range: ≥ 0.</param>
    /// <param name="logScaleBound">b in s = b·tanh(r/b). Default 5. Range: &gt; 0.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <param name="conditionerInputBound">B, the soft clip of the conditioner's inputs, or null for none (the default).
    /// Range: &gt; 0, finite.</param>
    /// <exception cref="ArgumentException">The mask transforms no feature or every feature.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size or the bound is out of range.</exception>
    public AffineCoupling(IReadOnlyList<bool> transformedMask, IReadOnlyList<int>? hiddenFeatures = null, int contextDimension = 0,
        double logScaleBound = 5.0, int seed = 0, double? conditionerInputBound = null)
        : base(transformedMask, hiddenFeatures, contextDimension, new AffineTransform<T>(logScaleBound), seed, conditionerInputBound)
    {
    }

    /// <summary>b in s = b·tanh(r/b).</summary>
    public double LogScaleBound => ((AffineTransform<T>)Transform).LogScaleBound;
}
