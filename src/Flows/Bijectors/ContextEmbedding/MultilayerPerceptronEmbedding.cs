using System.Numerics;
using Flows.Autodiff;
using Flows.Neural;

namespace Flows.Bijectors;

/// <summary>
/// The default context embedding: a ReLU network <c>e = W_L relu(… relu(W₁c + b₁) …) + b_L</c> from
/// ContextDimension raw features to EmbeddingDimension features, as sbi's fully connected embedding.
/// </summary>
/// <remarks>Weights start as PyTorch's default, U(−1/√in, 1/√in) per layer, the last layer included, so the embedded
/// context has the scale of a standardized input from the start.</remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class MultilayerPerceptronEmbedding<T> : IContextEmbedding<T>, IHasSavedForm<T, IContextEmbedding<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly MultilayerPerceptron<T> _network;

    /// <summary>Creates the embedding.</summary>
    /// <param name="contextDimension">Raw context features. Range: &gt; 0.</param>
    /// <param name="embeddingDimension">Embedded features. Range: &gt; 0.</param>
    /// <param name="hiddenFeatures">Hidden widths; default [64]. Each &gt; 0; empty for a linear embedding.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public MultilayerPerceptronEmbedding(int contextDimension, int embeddingDimension, IReadOnlyList<int>? hiddenFeatures = null, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(contextDimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(embeddingDimension);
        hiddenFeatures ??= [64];
        for (int l = 0; l < hiddenFeatures.Count; l++)
        {
            if (hiddenFeatures[l] <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(hiddenFeatures), hiddenFeatures[l], $"hiddenFeatures[{l}] is {hiddenFeatures[l]}; every width must be > 0.");
            }
        }

        ContextDimension = contextDimension;
        EmbeddingDimension = embeddingDimension;
        HiddenFeatures = [.. hiddenFeatures];
        _network = new MultilayerPerceptron<T>("embedding", [contextDimension, .. hiddenFeatures, embeddingDimension], new Random(seed), lastLayerInitialScale: 1.0);
    }

    /// <inheritdoc/>
    public int ContextDimension { get; }

    /// <inheritdoc/>
    public int EmbeddingDimension { get; }

    /// <summary>The hidden widths.</summary>
    public IReadOnlyList<int> HiddenFeatures { get; }

    /// <inheritdoc/>
    public IReadOnlyList<Parameter<T>> Parameters => _network.Parameters;

    static SavedForm<T, IContextEmbedding<T>> IHasSavedForm<T, IContextEmbedding<T>>.SavedForm => new(
        "MultilayerPerceptron",
        typeof(MultilayerPerceptronEmbedding<T>),
        (e, w) =>
        {
            var embedding = (MultilayerPerceptronEmbedding<T>)e;
            w.Int32("contextDimension", embedding.ContextDimension);
            w.Int32("embeddingDimension", embedding.EmbeddingDimension);
            w.Int32Array("hiddenFeatures", embedding.HiddenFeatures);
        },
        r => new MultilayerPerceptronEmbedding<T>(
            r.Int32("contextDimension", minimum: 1),
            r.Int32("embeddingDimension", minimum: 1),
            r.Int32Array("hiddenFeatures")));

    /// <inheritdoc/>
    public Node<T> Apply(Tape<T> tape, Node<T> context)
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(context);
        if (context.Columns != ContextDimension)
        {
            throw new ArgumentException($"context has {context.Columns} columns but the embedding has ContextDimension {ContextDimension}.", nameof(context));
        }

        return _network.Apply(tape, context, null);
    }

    /// <inheritdoc/>
    public override string ToString()
        => $"MultilayerPerceptronEmbedding(contextDimension: {ContextDimension}, embeddingDimension: {EmbeddingDimension}, hidden: [{string.Join(", ", HiddenFeatures)}])";
}
