using System.Numerics;
using Flows.Autodiff;

namespace Flows.Neural;

/// <summary>
/// A ReLU network <c>h₀ = u W₀ᵀ + c W_cᵀ + b₀, hₗ = relu(hₗ₋₁) Wₗᵀ + bₗ</c>, with optional fixed masks on its weights
/// and an optional context that feeds the first layer: the conditioner of coupling layers and the body of MADE. The
/// input u is x itself, or with an input bound B its soft clip u = x / (1 + |x|/B).
/// </summary>
/// <remarks>
/// <para><b>Initial weights.</b> Hidden layers draw weights from U(−1/√fan_in, 1/√fan_in), PyTorch's default (fan_in
/// counts masked inputs too, as zuko's masked layers do), with zero biases; the last layer starts at exactly zero, so a
/// flow layer whose transform maps all-zero parameters to the identity starts as the identity, and a preset that starts
/// at a Gaussian starts exactly there. The hidden layers still get gradients after the first step, once the last
/// layer has moved.</para>
/// <para><b>Input bound.</b> A ReLU network grows linearly with its input, so far outside the training data a
/// conditioner's outputs (log-scales, spline slopes) grow without limit, and in a chain each layer then stretches the
/// next layer's input further: on small tables a held-out row a few standard deviations out could score 10⁹ nats below
/// the Gaussian's figure for it. With the input soft-clipped, the outputs far out stay near their values at |x| ≈ B,
/// which the data constrain.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class MultilayerPerceptron<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Linear<T>[] _layers;
    private readonly Linear<T>? _contextLayer;

    /// <summary>Creates the network with PyTorch-style initial hidden weights and a zero last layer (see the remarks).</summary>
    /// <param name="name">The parameters' name prefix.</param>
    /// <param name="sizes">Input width, the hidden widths, output width: at least two entries, each &gt; 0.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <param name="masks">One outputs × inputs 0/1 mask per layer, or null for a dense network.</param>
    /// <param name="contextDimension">Context features feeding the first layer unmasked. Range: ≥ 0.</param>
    /// <param name="inputBound">B, the soft clip of the inputs (not the context), or null for none. Range: &gt; 0, finite.</param>
    /// <exception cref="ArgumentException">Fewer than two sizes, or the masks do not match the layers.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size or the bound is out of range.</exception>
    public MultilayerPerceptron(string name, IReadOnlyList<int> sizes, int seed, IReadOnlyList<IReadOnlyList<T>>? masks = null, int contextDimension = 0,
        double? inputBound = null)
        : this(name, sizes, new Random(seed), masks, contextDimension, inputBound)
    {
    }

    // Draws every layer's weights from one caller's generator, in layer order, then the context layer's. A flow's
    // conditioner starts with a zero last layer (see the remarks); an embedding wants its last layer drawn like the rest.
    internal MultilayerPerceptron(string name, IReadOnlyList<int> sizes, Random random, IReadOnlyList<IReadOnlyList<T>>? masks = null, int contextDimension = 0,
        double? inputBound = null, double lastLayerInitialScale = 0)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(contextDimension);
        if (inputBound is double bound && !(bound > 0 && double.IsFinite(bound)))
        {
            throw new ArgumentOutOfRangeException(nameof(inputBound), bound, "inputBound must be finite and > 0, or null.");
        }
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
            // The last layer's weights are still drawn (times the scale, zero for a conditioner), so every seed gives the hidden layers the weights it
            // gave them before the last layer's scale changed.
            _layers[l] = new Linear<T>($"{name}.layer{l}", sizes[l], sizes[l + 1], random, initialScale: last ? lastLayerInitialScale : 1.0, mask: masks?[l]);
        }

        if (contextDimension > 0)
        {
            _contextLayer = new Linear<T>($"{name}.context", contextDimension, sizes[1], random, hasBias: false);
        }

        Sizes = [.. sizes];
        ContextDimension = contextDimension;
        InputBound = inputBound;
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

    /// <summary>B, the soft clip of the inputs, or null when the network sees them as they are.</summary>
    public double? InputBound { get; }

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

    /// <summary>Reorders the output units (the rows of the last layer's weight and its bias): new output q is old output
    /// <paramref name="source"/>[q]. The network computes the same outputs, permuted.</summary>
    internal void ReorderOutputs(IReadOnlyList<int> source)
    {
        Linear<T> last = _layers[^1];
        Reorder(last.Weight, source, rows: true);
        if (last.Bias is not null)
        {
            Reorder(last.Bias, source, rows: false);
        }
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
        if (InputBound is double bound)
        {
            x = tape.SoftClip(x, T.CreateTruncating(bound));
        }

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

    // New row (or column) s of the parameter is old row (or column) source[s].
    internal static void Reorder(Parameter<T> parameter, IReadOnlyList<int> source, bool rows)
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
