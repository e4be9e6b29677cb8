using System.Numerics;
using Flows.Autodiff;

namespace Flows.Neural;

/// <summary>
/// A ReLU network <c>h₀ = x W₀ᵀ + c W_cᵀ + b₀, hₗ = relu(hₗ₋₁) Wₗᵀ + bₗ</c>, with optional fixed masks on its weights
/// and an optional context that feeds the first layer: the conditioner of coupling layers and the body of MADE.
/// </summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class MultilayerPerceptron<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Linear<T>[] _layers;
    private readonly Linear<T>? _contextLayer;

    /// <summary>Creates the network with PyTorch-style initial weights and a small last layer (so a flow layer starts near the identity).</summary>
    /// <param name="name">The parameters' name prefix.</param>
    /// <param name="sizes">Input width, the hidden widths, output width: at least two entries, each &gt; 0.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <param name="masks">One outputs × inputs 0/1 mask per layer, or null for a dense network.</param>
    /// <param name="contextDimension">Context features feeding the first layer unmasked. Range: ≥ 0.</param>
    /// <exception cref="ArgumentException">Fewer than two sizes, or the masks do not match the layers.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range.</exception>
    public MultilayerPerceptron(string name, IReadOnlyList<int> sizes, int seed, IReadOnlyList<IReadOnlyList<T>>? masks = null, int contextDimension = 0)
        : this(name, sizes, new Random(seed), masks, contextDimension)
    {
    }

    // Draws every layer's weights from one caller's generator, in layer order, then the context layer's. The last layer's
    // initial scale is small for a flow's conditioner (a new layer near the identity); an embedding wants 1.
    internal MultilayerPerceptron(string name, IReadOnlyList<int> sizes, Random random, IReadOnlyList<IReadOnlyList<T>>? masks = null, int contextDimension = 0,
        double lastLayerInitialScale = 1e-2)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(contextDimension);
        if (sizes.Count < 2)
        {
            throw new ArgumentException($"sizes has {sizes.Count} entries; a network needs at least an input and an output width.", nameof(sizes));
        }

        if (masks is not null && masks.Count != sizes.Count - 1)
        {
            throw new ArgumentException($"masks has {masks.Count} entries but the network has {sizes.Count - 1} layers.", nameof(masks));
        }

        _layers = new Linear<T>[sizes.Count - 1];
        for (int l = 0; l < _layers.Length; l++)
        {
            bool last = l == _layers.Length - 1;
            _layers[l] = new Linear<T>($"{name}.layer{l}", sizes[l], sizes[l + 1], random, initialScale: last ? lastLayerInitialScale : 1.0, mask: masks?[l]);
        }

        if (contextDimension > 0)
        {
            _contextLayer = new Linear<T>($"{name}.context", contextDimension, sizes[1], random, hasBias: false);
        }

        Sizes = [.. sizes];
        ContextDimension = contextDimension;
        Parameters = [.. _layers.SelectMany(l => l.Parameters).Concat(_contextLayer?.Parameters ?? [])];
    }

    /// <summary>The layers, input side first.</summary>
    internal IReadOnlyList<Linear<T>> Layers => _layers;

    /// <summary>The context's weights into the first hidden layer, or null.</summary>
    internal Linear<T>? ContextLayer => _contextLayer;

    /// <summary>Input width, hidden widths, output width.</summary>
    public IReadOnlyList<int> Sizes { get; }

    /// <summary>Context features.</summary>
    public int ContextDimension { get; }

    /// <summary>All parameters, layer by layer, then the context layer's.</summary>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>Reorders the units of hidden layer <paramref name="hiddenLayer"/> (the outputs of layer
    /// <paramref name="hiddenLayer"/>): new unit s is old unit <paramref name="source"/>[s]. The network computes the same function.</summary>
    internal void ReorderHiddenUnits(int hiddenLayer, IReadOnlyList<int> source)
    {
        Linear<T> producer = _layers[hiddenLayer];
        Reorder(producer.Weight, source, rows: true);
        if (producer.Bias is not null)
        {
            Reorder(producer.Bias, source, rows: false);
        }

        if (hiddenLayer == 0 && _contextLayer is not null)
        {
            Reorder(_contextLayer.Weight, source, rows: true);
        }

        Reorder(_layers[hiddenLayer + 1].Weight, source, rows: false);
    }

    /// <summary>Runs the network on n rows.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="x">n × Sizes[0].</param>
    /// <param name="context">n × ContextDimension, or null when there is none.</param>
    /// <returns>n × Sizes[^1].</returns>
    public Node<T> Apply(Tape<T> tape, Node<T> x, Node<T>? context)
    {
        ArgumentNullException.ThrowIfNull(tape);
        // Every layer but the last is followed by ReLU, fused into the layer's op; the context's term joins the first
        // layer before its ReLU.
        bool hasContext = _contextLayer is not null && context is not null;
        Node<T> h = _layers[0].Apply(tape, x, relu: _layers.Length > 1 && !hasContext);
        if (hasContext)
        {
            h = tape.Add(h, _contextLayer!.Apply(tape, context!));
            if (_layers.Length > 1)
            {
                h = tape.Relu(h);
            }
        }

        for (int l = 1; l < _layers.Length; l++)
        {
            h = _layers[l].Apply(tape, h, relu: l < _layers.Length - 1);
        }

        return h;
    }

    private static void Reorder(Parameter<T> parameter, IReadOnlyList<int> source, bool rows)
    {
        T[] old = [.. parameter.Values];
        for (int r = 0; r < parameter.Rows; r++)
        {
            for (int c = 0; c < parameter.Columns; c++)
            {
                parameter.Values[(r * parameter.Columns) + c] = rows ? old[(source[r] * parameter.Columns) + c] : old[(r * parameter.Columns) + source[c]];
            }
        }
    }
}
