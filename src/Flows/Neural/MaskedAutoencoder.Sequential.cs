using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Neural;

public sealed partial class MaskedAutoencoder<T>
{
    /// <summary>
    /// The sequential direction of an autoregressive layer (sampling a MAF, scoring an IAF) in the work of one MADE
    /// pass instead of d: features are fixed one at a time in <see cref="Order"/>, and after each, only the hidden units of
    /// the degree that just became computable are evaluated. Values only, no gradients.
    /// </summary>
    /// <param name="tape">A tape that is not recording; it supplies the scratch.</param>
    /// <param name="x">n × d, all zeros on entry: <paramref name="fix"/> writes column Order[k] at step k, and only the
    /// columns fixed so far are read (every other weight is masked to zero).</param>
    /// <param name="context">n × ContextDimension, or null.</param>
    /// <param name="fix">Called at step k = 0 … d − 1 of each group of rows with the feature Order[k], its parameters for the
    /// group's rows (rows × ParametersPerFeature; column p is output block p) and the group's first row; it must fill
    /// that column of <paramref name="x"/> in the group's rows.</param>
    /// <remarks>
    /// Hidden units are sorted by degree, so the units of degree g in layer l are a block of columns, computed from the
    /// prefix of layer l − 1 with degree ≤ g; feature Order[k] reads the prefix of the last layer with degree ≤ k. Each
    /// weight is thus used once over the d steps. The context's direct term for feature Order[k]'s outputs is formed on its
    /// own and added last. The sums run in the same order over the same nonzero terms as <see cref="Apply"/>, so the
    /// results agree with it bit for bit. Rows are independent, so they run in groups whose activations fit in L2 (each
    /// group through all d steps), rather than each step sweeping the activations of every row (MAF-64: 8 KB a row).
    /// </remarks>
    internal void RunSequentially(Tape<T> tape, Node<T> x, Node<T>? context, Action<int, Node<T>, int> fix)
    {
        IReadOnlyList<Linear<T>> layers = _network.Layers;
        int n = x.Rows;
        int d = Dimension;
        int hiddenLayers = HiddenFeatures.Count;
        int parametersPerFeature = ParametersPerFeature;
        // Every product here is narrow (one degree's units, one feature's parameters), so the activations are kept
        // lane-major, rows in vector lanes (Gemm.MultiplyTransposedBLanes): no tile column is padding. Same sums, same bits.
        int bits = VectorWidth.Current;
        int lanes = Gemm.Lanes<T>(bits);
        int paddedRows = (n + lanes - 1) / lanes * lanes;
        var weights = new Node<T>[layers.Count];
        var hidden = new Node<T>[hiddenLayers];
        for (int l = 0; l < layers.Count; l++)
        {
            weights[l] = layers[l].MaskedWeightValues(tape);
        }

        for (int l = 0; l < hiddenLayers; l++)
        {
            hidden[l] = tape.Allocate(paddedRows, HiddenFeatures[l]);
        }

        // The first layer reads the inputs as Apply does: soft-clipped if bounded, with the formula of the tape op (same
        // bits), filled in column by column as they are fixed; the columns not yet fixed are zero (and so are the padding
        // rows, which keeps every lane finite).
        Node<T> input = tape.Allocate(paddedRows, d);
        input.Values.Clear();
        T inverseBound = InputBound is double bound ? T.One / T.CreateTruncating(bound) : T.Zero;

        Linear<T>? contextLayer = context is null ? null : _network.ContextLayer;
        Node<T>? contextLanes = null;
        if (context is not null)
        {
            contextLanes = tape.Allocate(paddedRows, ContextDimension);
            Gemm.ToLanes<T>(context.Values, ContextDimension, n, ContextDimension, contextLanes.Values, lanes);
        }

        Node<T>? contextPart = contextLayer is null ? null : tape.Allocate(paddedRows, HiddenFeatures[0]);
        Node<T> parameterLanes = tape.Allocate(paddedRows, parametersPerFeature);
        Node<T>? directContext = context is null || _contextToOutput is null ? null : tape.Allocate(paddedRows, parametersPerFeature);
        // What a row keeps: inputs, hidden units, parameters (lane-major and row-major) and, with a context, the context,
        // its part of the first layer and its direct term.
        int valuesPerRow = d + (2 * parametersPerFeature);
        for (int l = 0; l < hiddenLayers; l++)
        {
            valuesPerRow += HiddenFeatures[l];
        }

        if (context is not null)
        {
            valuesPerRow += ContextDimension + HiddenFeatures[0] + parametersPerFeature;
        }

        int bytesPerRow = valuesPerRow * Unsafe.SizeOf<T>();
        int groupRows = Math.Max(1, SequentialGroupBytes / (bytesPerRow * lanes)) * lanes;
        for (int firstRow = 0; firstRow < n; firstRow += groupRows)
        {
            RunGroup(firstRow, Math.Min(groupRows, n - firstRow));
        }

        // Rows [firstRow, firstRow + rows) through all d steps; firstRow is a multiple of the lanes, so the group is
        // whole panels of every lane-major buffer.
        void RunGroup(int firstRow, int rows)
        {
            Node<T> parameters = tape.Allocate(rows, parametersPerFeature);
            AddHiddenUnitsOfDegree(0, firstRow, rows);
            for (int k = 0; k < d; k++)
            {
                Step(k, firstRow, rows, parameters);
            }
        }

        void Step(int k, int firstRow, int rows, Node<T> parameters)
        {
            int feature = _order[k];
            Linear<T> output = layers[^1];
            int last = HiddenFeatures[^1];
            int prefix = _unitsUpToDegree[^1][k];
            // The feature's outputs are units k·P … k·P + P − 1 of the last layer (grouped by feature, see Apply): P
            // consecutive rows of its weight, P consecutive biases.
            int firstOutput = k * parametersPerFeature;
            Gemm.MultiplyTransposedBLanes<T>(Panels(hidden[^1], last, firstRow, rows), last, weights[^1].Values[(firstOutput * last)..], last,
                Panels(parameterLanes, parametersPerFeature, firstRow, rows), parametersPerFeature, 0, rows, prefix, parametersPerFeature,
                output.Bias!.Values.AsSpan(firstOutput, parametersPerFeature), relu: false, bits);
            if (directContext is not null)
            {
                // The same rows of the direct weights. Formed on its own and then added, as Apply adds it: each element
                // is the same dot product over the context.
                int c = ContextDimension;
                Span<T> direct = Panels(directContext, parametersPerFeature, firstRow, rows);
                Span<T> own = Panels(parameterLanes, parametersPerFeature, firstRow, rows);
                Gemm.MultiplyTransposedBLanes<T>(Panels(contextLanes!, c, firstRow, rows), c, _contextToOutput!.Weight.Values.AsSpan(firstOutput * c), c,
                    direct, parametersPerFeature, 0, rows, c, parametersPerFeature, default, relu: false, bits);
                TensorPrimitives.Add<T>(own, direct, own);
            }

            Gemm.FromLanes<T>(Panels(parameterLanes, parametersPerFeature, firstRow, rows), rows, parametersPerFeature, parameters.Values, lanes);
            fix(feature, parameters, firstRow);
            for (int i = firstRow; i < firstRow + rows; i++)
            {
                T value = x.Values[(i * d) + feature];
                input.Values[Gemm.LaneIndex(i, feature, d, lanes)] = InputBound is null ? value : TapeOps.SoftClip(value, inverseBound);
            }

            if (k + 1 < d)
            {
                AddHiddenUnitsOfDegree(k + 1, firstRow, rows);
            }
        }

        // Units of degree g in every layer, from x (layer 0) or from the units of degree ≤ g of the layer below.
        void AddHiddenUnitsOfDegree(int g, int firstRow, int rows)
        {
            for (int l = 0; l < hiddenLayers; l++)
            {
                int first = g == 0 ? 0 : _unitsUpToDegree[l][g - 1];
                int count = _unitsUpToDegree[l][g] - first;
                if (count == 0)
                {
                    continue;
                }

                int width = HiddenFeatures[l];
                Linear<T> layer = layers[l];
                ReadOnlySpan<T> bias = layer.Bias!.Values.AsSpan(first, count);
                int inputs = l == 0 ? d : HiddenFeatures[l - 1];
                int prefix = l == 0 ? d : _unitsUpToDegree[l - 1][g];
                // As in Apply: bias, product and ReLU in one pass, except that the context's product joins the first
                // layer before its ReLU.
                bool joinContext = l == 0 && contextLayer is not null;
                Gemm.MultiplyTransposedBLanes<T>(Panels(l == 0 ? input : hidden[l - 1], inputs, firstRow, rows), inputs, weights[l].Values[(first * inputs)..], inputs,
                    Panels(hidden[l], width, firstRow, rows), width, first, rows, prefix, count, bias, relu: !joinContext, bits);
                if (joinContext)
                {
                    // Formed on its own, then added, as Apply adds it: accumulating it into the block would round
                    // differently once the context is deeper than one block of k.
                    Gemm.MultiplyTransposedBLanes<T>(Panels(contextLanes!, ContextDimension, firstRow, rows), ContextDimension,
                        contextLayer!.Weight.Values.AsSpan(first * ContextDimension), ContextDimension, Panels(contextPart!, width, firstRow, rows), width, first, rows, ContextDimension, count, default, relu: false, bits);
                    Span<T> block = Panels(hidden[l], width, firstRow, rows);
                    ReadOnlySpan<T> part = Panels(contextPart!, width, firstRow, rows);
                    for (int panel = 0; panel < (rows + lanes - 1) / lanes; panel++)
                    {
                        // The degree's units of one panel are contiguous, count · lanes values.
                        int start = ((panel * width) + first) * lanes;
                        for (int j = start; j < start + (count * lanes); j++)
                        {
                            block[j] = T.Max(block[j] + part[j], T.Zero);
                        }
                    }
                }
            }
        }

        // The panels of a lane-major buffer that hold rows [firstRow, firstRow + rows); firstRow is a multiple of the lanes.
        Span<T> Panels(Node<T> lanesMajor, int width, int firstRow, int rows)
            => lanesMajor.Values.Slice(firstRow * width, (rows + lanes - 1) / lanes * lanes * width);
    }

    // Activations a group of rows of the sequential pass keeps: a quarter of a 2 MB L2 (all of the 512 KB one of the
    // smallest machines we run on, where a group partly spills to L3). Smaller groups stream the weights more often: every
    // group reads each masked weight once (MAF-64: 48 rows a group in double, 2.9 MB of masked weights a MADE).
    private const int SequentialGroupBytes = 512 * 1024;
}
