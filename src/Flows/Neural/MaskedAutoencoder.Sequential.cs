using System.Numerics;
using System.Numerics.Tensors;
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
    /// <param name="fix">Called at step k = 0 … d − 1 with the feature Order[k] and its n × ParametersPerFeature
    /// parameters (column p is output block p); it must fill that column of <paramref name="x"/>.</param>
    /// <remarks>
    /// Hidden units are sorted by degree, so the units of degree g in layer l are a block of columns, computed from the
    /// prefix of layer l − 1 with degree ≤ g; feature Order[k] reads the prefix of the last layer with degree ≤ k. Each
    /// weight is thus used once over the d steps. The context's direct term for feature Order[k]'s outputs is formed on its
    /// own and added last. The sums run in the same order over the same nonzero terms as <see cref="Apply"/>, so the
    /// results agree with it bit for bit.
    /// </remarks>
    internal void RunSequentially(Tape<T> tape, Node<T> x, Node<T>? context, Action<int, Node<T>> fix)
    {
        IReadOnlyList<Linear<T>> layers = _network.Layers;
        int n = x.Rows;
        int hiddenLayers = HiddenFeatures.Count;
        var weights = new Node<T>[layers.Count];
        var hidden = new Node<T>[hiddenLayers];
        for (int l = 0; l < layers.Count; l++)
        {
            weights[l] = layers[l].MaskedWeightValues(tape);
        }

        for (int l = 0; l < hiddenLayers; l++)
        {
            hidden[l] = tape.Allocate(n, HiddenFeatures[l]);
        }

        // The first layer reads the inputs as Apply does: soft-clipped, column by column as they are fixed, with the
        // formula of the tape op (same bits).
        Node<T> input = x;
        T inverseBound = InputBound is double bound ? T.One / T.CreateTruncating(bound) : T.Zero;
        if (InputBound is not null)
        {
            input = tape.Allocate(n, Dimension);
            input.Values.Clear();
        }

        Linear<T>? contextLayer = context is null ? null : _network.ContextLayer;
        Node<T>? contextPart = contextLayer is null ? null : tape.Allocate(n, HiddenFeatures[0]);
        Node<T> parameters = tape.Allocate(n, ParametersPerFeature);
        Node<T>? directContext = context is null || _contextToOutput is null ? null : tape.Allocate(n, ParametersPerFeature);
        AddHiddenUnitsOfDegree(0);
        for (int k = 0; k < Dimension; k++)
        {
            int feature = _order[k];
            Linear<T> output = layers[^1];
            int last = HiddenFeatures[^1];
            int prefix = _unitsUpToDegree[^1][k];
            // The feature's outputs are units k·P … k·P + P − 1 of the last layer (grouped by feature, see Apply): P
            // consecutive rows of its weight, P consecutive biases.
            int firstOutput = k * ParametersPerFeature;
            Gemm.MultiplyTransposedB<T>(hidden[^1].Values, last, weights[^1].Values[(firstOutput * last)..], last,
                parameters.Values, ParametersPerFeature, n, prefix, ParametersPerFeature, accumulate: false,
                output.Bias!.Values.AsSpan(firstOutput, ParametersPerFeature));
            if (directContext is not null)
            {
                // The same rows of the direct weights. Formed on its own and then added, as Apply adds it: each element
                // is the same dot product over the context.
                int c = ContextDimension;
                Gemm.MultiplyTransposedB<T>(context!.Values, c, _contextToOutput!.Weight.Values.AsSpan(firstOutput * c), c,
                    directContext.Values, ParametersPerFeature, n, c, ParametersPerFeature, accumulate: false);
                TensorPrimitives.Add<T>(parameters.Values, directContext.Values, parameters.Values);
            }

            fix(feature, parameters);
            if (InputBound is not null)
            {
                for (int i = 0; i < n; i++)
                {
                    input.Values[(i * Dimension) + feature] = TapeOps.SoftClip(x.Values[(i * Dimension) + feature], inverseBound);
                }
            }

            if (k + 1 < Dimension)
            {
                AddHiddenUnitsOfDegree(k + 1);
            }
        }

        // Units of degree g in every layer, from x (layer 0) or from the units of degree ≤ g of the layer below.
        void AddHiddenUnitsOfDegree(int g)
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
                Span<T> block = hidden[l].Values[first..];
                Linear<T> layer = layers[l];
                ReadOnlySpan<T> bias = layer.Bias!.Values.AsSpan(first, count);
                int inputs = l == 0 ? Dimension : HiddenFeatures[l - 1];
                int prefix = l == 0 ? Dimension : _unitsUpToDegree[l - 1][g];
                // As in Apply: bias, product and ReLU in one pass, except that the context's product joins the first
                // layer before its ReLU.
                bool joinContext = l == 0 && contextLayer is not null;
                Gemm.MultiplyTransposedB<T>(l == 0 ? input.Values : hidden[l - 1].Values, inputs, weights[l].Values[(first * inputs)..], inputs,
                    block, width, n, prefix, count, accumulate: false, bias, relu: !joinContext);
                if (joinContext)
                {
                    // Formed on its own, then added, as Apply adds it: accumulating it into the block would round
                    // differently once the context is deeper than one block of k.
                    Span<T> part = contextPart!.Values[first..];
                    Gemm.MultiplyTransposedB<T>(context!.Values, ContextDimension, contextLayer!.Weight.Values.AsSpan(first * ContextDimension), ContextDimension,
                        part, width, n, ContextDimension, count, accumulate: false);
                    for (int i = 0; i < n; i++)
                    {
                        // A loop, not a library call per row: the rows of a degree block are only a few units wide.
                        for (int j = i * width; j < (i * width) + count; j++)
                        {
                            block[j] = T.Max(block[j] + part[j], T.Zero);
                        }
                    }
                }
            }
        }
    }
}
