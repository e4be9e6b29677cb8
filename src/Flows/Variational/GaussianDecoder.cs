using System.Numerics;
using Flows.Autodiff;
using Flows.Neural;

namespace Flows.Variational;

/// <summary>
/// A Gaussian likelihood with a mean from a ReLU network and a learned per-feature scale:
/// <c>p(x | z) = N(x; f(z), diag(σ²))</c>, σ = exp(log σ).
/// </summary>
/// <remarks>
/// log p(x | z) = Σⱼ log φ((xⱼ − fⱼ(z))/σⱼ) − log σⱼ. With no hidden layers f is affine, f(z) = Wz + b: the
/// linear-Gaussian model (probabilistic PCA, factor analysis with a shared diagonal), whose posterior and marginal
/// likelihood are known exactly. The network's last layer starts at zero and log σ at 0 (σ = 1).
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class GaussianDecoder<T> : IDecoder<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T> _logScale;

    /// <summary>Creates the decoder.</summary>
    /// <param name="latentDimension">Features of z. Range: &gt; 0.</param>
    /// <param name="dataDimension">Features of x. Range: &gt; 0.</param>
    /// <param name="hiddenFeatures">Hidden widths; default [64]. Each &gt; 0; empty for a mean affine in z.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public GaussianDecoder(int latentDimension, int dataDimension, IReadOnlyList<int>? hiddenFeatures = null, int seed = 0)
    {
        Network = DecoderNetworks.Create<T>(latentDimension, dataDimension, hiddenFeatures, seed);
        LatentDimension = latentDimension;
        DataDimension = dataDimension;
        HiddenFeatures = [.. hiddenFeatures ?? [64]];
        _logScale = new Parameter<T>("decoder.logScale", 1, dataDimension);
        Parameters = [.. Network.Parameters, _logScale];
    }

    /// <inheritdoc/>
    public int LatentDimension { get; }

    /// <inheritdoc/>
    public int DataDimension { get; }

    /// <summary>The hidden widths.</summary>
    public IReadOnlyList<int> HiddenFeatures { get; }

    /// <summary>The network z → mean.</summary>
    public MultilayerPerceptron<T> Network { get; }

    /// <summary>log σ, 1 × DataDimension.</summary>
    public Parameter<T> LogScale => _logScale;

    /// <inheritdoc/>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <inheritdoc/>
    public Node<T> LogLikelihood(Tape<T> tape, Node<T> z, Node<T> x)
    {
        DecoderNetworks.CheckPair(this, z, x);
        Node<T> residual = tape.Subtract(x, Network.Apply(tape, z, null));
        // The inverse elementwise affine map with zero shift gives (x − f)/σ and −Σ log σ in one fused op.
        Node<T> zeroShift = tape.Allocate(1, DataDimension);
        zeroShift.Values.Clear();
        (Node<T> standardized, Node<T> logDet) = tape.AffineElementwise(residual, zeroShift, tape.Use(_logScale), inverse: true);
        return tape.Add(tape.StandardNormalLogDensity(standardized), logDet);
    }

    /// <inheritdoc/>
    public Node<T> Mean(Tape<T> tape, Node<T> z)
    {
        DecoderNetworks.CheckLatent(this, z);
        return Network.Apply(tape, z, null);
    }

    /// <summary>Every finite value is in the support.</summary>
    /// <param name="x">The data.</param>
    /// <param name="name">The argument's name.</param>
    public void CheckSupport(ReadOnlySpan<T> x, string name)
    {
    }

    /// <inheritdoc/>
    public override string ToString()
        => $"GaussianDecoder(latentDimension: {LatentDimension}, dataDimension: {DataDimension}, hidden: [{string.Join(", ", HiddenFeatures)}])";
}
