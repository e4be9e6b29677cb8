using System.Numerics;
using Flows.Autodiff;

namespace Flows.Neural;

/// <summary>
/// MADE, the masked autoencoder for distribution estimation: a ReLU network whose masks make every output block for
/// feature j depend only on the features before j in a chosen order (and on the context, if any).
/// </summary>
/// <remarks>
/// <para>Feature j has degree m(j) = its position in <see cref="Order"/> + 1. The units of every hidden layer hold the
/// degrees 1 … d − 1 as evenly as possible (the degrees (k mod (d − 1)) + 1 of units k = 0, 1, …), sorted ascending, so a
/// layer of at least d − 1 units holds every degree and every mask between hidden layers is a staircase whose zero
/// part the matrix products skip. A weight from a unit of degree a into a
/// hidden unit of degree b is kept when b ≥ a; into an output of feature j when m(j) &gt; a. Context features connect
/// to every unit of the first hidden layer and, directly, to every output. The output layer's units are grouped by
/// feature, in the order: unit k·P + p (P = <see cref="ParametersPerFeature"/>) is parameter p of feature Order[k], so its
/// mask is a staircase too and the products skip its zero part (a tile of output columns reads only the hidden units
/// below its features' degrees); <see cref="Apply"/> hands the outputs out by parameter block, column p·d + j is
/// parameter p of feature j, the layout <see cref="Flows.Bijectors.IConditionalTransform{T}"/> reads. With an input bound B the network sees the soft clip x / (1 + |x|/B) of
/// its inputs (see <see cref="MultilayerPerceptron{T}"/>), which keeps its outputs bounded far from the data; the clip
/// is elementwise, so the masks' dependencies are unchanged.</para>
/// <para>The direct connection is what lets the first feature in the order depend on the context: hidden units hold
/// degrees 1 … d − 1, so the outputs of the feature of degree 1 receive no hidden unit, and without it their values
/// would be output biases alone, the same for every context (zuko's adjacency connects the context to every output;
/// nflows' conditional MADE lacks it). Its weights start at zero, so a new MADE computes what it did before the
/// connection existed and training moves them; flows saved before it load with them at zero.</para>
/// <para>Reference: Germain, Gregor, Murray &amp; Larochelle, "MADE: Masked Autoencoder for Distribution
/// Estimation", ICML 2015, arXiv:1502.03509.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class MaskedAutoencoder<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly MultilayerPerceptron<T> _network;
    private readonly Linear<T>? _contextToOutput;
    private readonly int[] _order;

    // _unitsUpToDegree[l][g]: how many units of hidden layer l have degree ≤ g (they come first: units are sorted).
    private readonly int[][] _unitsUpToDegree;

    // _outputToBlock[k·P + p] = p·d + Order[k]: the block-layout column of each output unit; _blockToOutput is its inverse,
    // the column permutation Apply ends with (null when it is the identity).
    private readonly int[] _outputToBlock;
    private readonly int[]? _blockToOutput;

    /// <summary>Creates a MADE.</summary>
    /// <param name="dimension">d, the features. Range: &gt; 0.</param>
    /// <param name="hiddenFeatures">The width of each hidden layer, at least one layer, each ≥ d − 1.</param>
    /// <param name="parametersPerFeature">Output blocks per feature (2 for shift and log-scale). Range: &gt; 0.</param>
    /// <param name="order">The autoregressive order, a permutation of 0..d−1: order[0] depends on nothing.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <param name="contextDimension">Context features feeding every first-layer unit and every output. Range: ≥ 0.</param>
    /// <param name="name">The parameters' name prefix.</param>
    /// <param name="inputBound">B, the soft clip of the inputs (not the context), or null for none. Range: &gt; 0, finite.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size or the bound is out of range.</exception>
    /// <exception cref="ArgumentException">A hidden layer is too narrow, or <paramref name="order"/> is not a permutation.</exception>
    public MaskedAutoencoder(int dimension, IReadOnlyList<int> hiddenFeatures, int parametersPerFeature, IReadOnlyList<int> order,
        int seed, int contextDimension = 0, string name = "made", double? inputBound = null)
        : this(dimension, hiddenFeatures, parametersPerFeature, order, new Random(seed), contextDimension, name, inputBound)
    {
    }

    // Draws the weights from a caller's generator (see MultilayerPerceptron).
    internal MaskedAutoencoder(int dimension, IReadOnlyList<int> hiddenFeatures, int parametersPerFeature, IReadOnlyList<int> order,
        Random random, int contextDimension = 0, string name = "made", double? inputBound = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentNullException.ThrowIfNull(hiddenFeatures);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(parametersPerFeature);
        ArgumentOutOfRangeException.ThrowIfNegative(contextDimension);
        ArgumentNullException.ThrowIfNull(random);
        Orders.Check(order, dimension, nameof(order));
        if (hiddenFeatures.Count == 0)
        {
            throw new ArgumentException("MADE needs at least one hidden layer.", nameof(hiddenFeatures));
        }

        for (int l = 0; l < hiddenFeatures.Count; l++)
        {
            if (hiddenFeatures[l] < Math.Max(1, dimension - 1))
            {
                throw new ArgumentException(
                    $"Hidden layer {l} has {hiddenFeatures[l]} units, but {dimension} features need at least {Math.Max(1, dimension - 1)} so that every output can depend on every feature before it.",
                    nameof(hiddenFeatures));
            }
        }

        Dimension = dimension;
        ParametersPerFeature = parametersPerFeature;
        ContextDimension = contextDimension;
        HiddenFeatures = [.. hiddenFeatures];
        _order = [.. order];

        int[] inputDegrees = new int[dimension];
        for (int position = 0; position < dimension; position++)
        {
            inputDegrees[_order[position]] = position + 1;
        }

        int[][] degrees = new int[hiddenFeatures.Count + 2][];
        degrees[0] = inputDegrees;
        for (int l = 0; l < hiddenFeatures.Count; l++)
        {
            degrees[l + 1] = HiddenDegrees(hiddenFeatures[l], dimension);
        }

        // Output unit k·P + p belongs to feature Order[k], of degree k + 1: grouped by feature, ascending in degree.
        degrees[^1] = [.. Enumerable.Range(0, parametersPerFeature * dimension).Select(q => (q / parametersPerFeature) + 1)];
        _outputToBlock = [.. Enumerable.Range(0, parametersPerFeature * dimension)
            .Select(q => ((q % parametersPerFeature) * dimension) + _order[q / parametersPerFeature])];
        var blockToOutput = new int[_outputToBlock.Length];
        for (int q = 0; q < blockToOutput.Length; q++)
        {
            blockToOutput[_outputToBlock[q]] = q;
        }

        _blockToOutput = blockToOutput.Where((source, column) => source != column).Any() ? blockToOutput : null;
        _unitsUpToDegree = [.. Enumerable.Range(1, hiddenFeatures.Count)
            .Select(l => Enumerable.Range(0, dimension + 1).Select(g => degrees[l].Count(degree => degree <= g)).ToArray())];
        var masks = new IReadOnlyList<T>[degrees.Length - 1];
        for (int l = 0; l < masks.Length; l++)
        {
            bool output = l == masks.Length - 1;
            masks[l] = Mask(degrees[l + 1], degrees[l], output);
        }

        _network = new MultilayerPerceptron<T>(name, [.. degrees.Select(d => d.Length)], random, masks, contextDimension, inputBound);
        if (contextDimension > 0)
        {
            // Zero weights drawn from no generator: the initial network, and every other weight, are what they were
            // before this connection existed.
            _contextToOutput = new Linear<T>($"{name}.contextToOutput", contextDimension, parametersPerFeature * dimension, random: null, hasBias: false);
        }

        Parameters = _contextToOutput is null ? _network.Parameters : [.. _network.Parameters, _contextToOutput.Weight];
    }

    /// <summary>d, the features.</summary>
    public int Dimension { get; }

    /// <summary>Output blocks per feature.</summary>
    public int ParametersPerFeature { get; }

    /// <summary>Context features.</summary>
    public int ContextDimension { get; }

    /// <summary>The hidden layer widths.</summary>
    public IReadOnlyList<int> HiddenFeatures { get; }

    /// <summary>B, the soft clip of the inputs, or null when the network sees them as they are.</summary>
    public double? InputBound => _network.InputBound;

    /// <summary>The autoregressive order: Order[0] depends on nothing, Order[d − 1] on all others.</summary>
    public IReadOnlyList<int> Order => _order;

    /// <summary>All parameters: layer by layer, then the context's weights into the first hidden layer, then its direct
    /// weights into the outputs.</summary>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>The masked layers, input side first.</summary>
    internal IReadOnlyList<Linear<T>> Layers => _network.Layers;

    /// <summary>For each output unit k·P + p of the last layer (and row of the direct context weights), the block-layout
    /// column p·d + Order[k] it becomes in <see cref="Apply"/>'s result.</summary>
    internal IReadOnlyList<int> OutputColumns => _outputToBlock;

    /// <summary>The parameters stored by file format versions 1 and 2, which had no direct connection from the context
    /// to the outputs.</summary>
    internal IReadOnlyList<Parameter<T>> ParametersWithoutContextToOutput => _network.Parameters;

    /// <summary>Runs the network: n × d (and n × context) → n × (parametersPerFeature · d).</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="x">n × d inputs.</param>
    /// <param name="context">n × ContextDimension, or null when there is none.</param>
    public Node<T> Apply(Tape<T> tape, Node<T> x, Node<T>? context)
    {
        Node<T> output = _network.Apply(tape, x, context);
        // The context's direct term is formed on its own and added last: RunSequentially adds it the same way, and with
        // zero weights (a file from before the connection) it adds exact zeros, leaving every output's bits unchanged.
        if (_contextToOutput is not null && context is not null)
        {
            output = tape.Add(output, _contextToOutput.Apply(tape, context));
        }

        // From units grouped by feature to the parameter blocks the transforms read: a copy, so no bit changes.
        return _blockToOutput is null ? output : tape.PermuteColumns(output, _blockToOutput);
    }

    /// <summary>Sets the direct context-to-output weights to zero: how a MADE saved before they existed is read.</summary>
    internal void ClearContextToOutput() => _contextToOutput?.Weight.Values.AsSpan().Clear();

    /// <summary>
    /// Brings output-layer parameters stored by file format versions 1 to 3, whose output units were laid out by parameter
    /// block (unit p·d + j was parameter p of feature j), to the units grouped by feature: the same network, so the same
    /// densities.
    /// </summary>
    internal void ReorderOutputsFromBlockLayout()
    {
        _network.ReorderOutputs(_outputToBlock);
        if (_contextToOutput is not null)
        {
            MultilayerPerceptron<T>.Reorder(_contextToOutput.Weight, _outputToBlock, rows: true);
        }
    }

    /// <summary>
    /// Brings parameters stored in the hidden-unit order of file format version 1, where unit k had degree
    /// (k mod (d − 1)) + 1, to the sorted order: the same network, so the same densities.
    /// </summary>
    internal void ReorderHiddenUnitsFromCyclicDegrees()
    {
        for (int l = 0; l < HiddenFeatures.Count; l++)
        {
            _network.ReorderHiddenUnits(l, CyclicToSorted(HiddenFeatures[l], Dimension));
        }
    }

    // Sorted by degree: the cyclic degrees in a stable ascending order.
    private static int[] HiddenDegrees(int width, int features)
    {
        int[] cyclic = CyclicDegrees(width, features);
        return [.. CyclicToSorted(width, features).Select(k => cyclic[k])];
    }

    private static int[] CyclicDegrees(int width, int features)
        => features == 1
            ? new int[width] // degree 0: no input reaches them (only the context), every output does
            : [.. Enumerable.Range(0, width).Select(k => (k % (features - 1)) + 1)];

    // Sorted unit s is cyclic unit result[s].
    private static int[] CyclicToSorted(int width, int features)
    {
        int[] cyclic = CyclicDegrees(width, features);
        return [.. Enumerable.Range(0, width).OrderBy(k => cyclic[k])];
    }

    // Hidden units keep inputs of degree ≤ their own; outputs only inputs of strictly smaller degree.
    private static T[] Mask(int[] outputDegrees, int[] inputDegrees, bool output)
    {
        var mask = new T[outputDegrees.Length * inputDegrees.Length];
        for (int o = 0; o < outputDegrees.Length; o++)
        {
            for (int i = 0; i < inputDegrees.Length; i++)
            {
                mask[(o * inputDegrees.Length) + i] = (output ? outputDegrees[o] > inputDegrees[i] : outputDegrees[o] >= inputDegrees[i]) ? T.One : T.Zero;
            }
        }

        return mask;
    }
}
