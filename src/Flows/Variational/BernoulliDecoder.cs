using System.Numerics;
using Flows.Autodiff;
using Flows.Neural;

namespace Flows.Variational;

/// <summary>
/// A Bernoulli likelihood for binary data from a ReLU network: logits <c>ℓ = f(z)</c>,
/// <c>log p(x | z) = Σⱼ xⱼℓⱼ − softplus(ℓⱼ)</c>.
/// </summary>
/// <remarks>
/// The formula is the Bernoulli log-probability for x ∈ {0, 1}; values in between are accepted (the binary cross-entropy
/// of a grey level, as most VAE code uses for MNIST) but then it is not a normalized density. The network's last layer
/// starts at zero, so a new decoder gives probability ½ everywhere until it trains.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class BernoulliDecoder<T> : IDecoder<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the decoder.</summary>
    /// <param name="latentDimension">Features of z. Range: &gt; 0.</param>
    /// <param name="dataDimension">Features of x. Range: &gt; 0.</param>
    /// <param name="hiddenFeatures">Hidden widths; default [64]. Each &gt; 0; empty for logits linear in z.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public BernoulliDecoder(int latentDimension, int dataDimension, IReadOnlyList<int>? hiddenFeatures = null, int seed = 0)
    {
        Network = DecoderNetworks.Create<T>(latentDimension, dataDimension, hiddenFeatures, seed);
        LatentDimension = latentDimension;
        DataDimension = dataDimension;
        HiddenFeatures = [.. hiddenFeatures ?? [64]];
    }

    /// <inheritdoc/>
    public int LatentDimension { get; }

    /// <inheritdoc/>
    public int DataDimension { get; }

    /// <summary>The hidden widths.</summary>
    public IReadOnlyList<int> HiddenFeatures { get; }

    /// <summary>The network z → logits.</summary>
    public MultilayerPerceptron<T> Network { get; }

    /// <inheritdoc/>
    public IReadOnlyList<Parameter<T>> Parameters => Network.Parameters;

    /// <inheritdoc/>
    public Node<T> LogLikelihood(Tape<T> tape, Node<T> z, Node<T> x)
    {
        DecoderNetworks.CheckPair(this, z, x);
        Node<T> logits = Network.Apply(tape, z, null);
        // x·ℓ − softplus(ℓ) = x log σ(ℓ) + (1 − x) log(1 − σ(ℓ)), stable for any ℓ.
        return tape.RowSums(tape.Subtract(tape.Multiply(x, logits), tape.Softplus(logits)));
    }

    /// <inheritdoc/>
    public Node<T> Mean(Tape<T> tape, Node<T> z)
    {
        DecoderNetworks.CheckLatent(this, z);
        return tape.Sigmoid(Network.Apply(tape, z, null));
    }

    /// <inheritdoc/>
    public void CheckSupport(ReadOnlySpan<T> x, string name)
    {
        for (int i = 0; i < x.Length; i++)
        {
            if (x[i] < T.Zero || x[i] > T.One)
            {
                throw new ArgumentException(
                    $"{name}[{i / DataDimension}, {i % DataDimension}] is {x[i]}; a Bernoulli likelihood takes values in [0, 1].", name);
            }
        }
    }

    /// <inheritdoc/>
    public override string ToString()
        => $"BernoulliDecoder(latentDimension: {LatentDimension}, dataDimension: {DataDimension}, hidden: [{string.Join(", ", HiddenFeatures)}])";
}
