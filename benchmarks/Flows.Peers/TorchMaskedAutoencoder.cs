using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flows.Peers;

/// <summary>A linear layer <c>y = x (W ⊙ M)ᵀ + b</c> whose fixed 0/1 mask M is a buffer, as MADE is written in PyTorch.</summary>
internal sealed class MaskedLinear : nn.Module<Tensor, Tensor>
{
    private readonly Parameter _weight;
    private readonly Parameter _bias;
    private readonly Tensor _mask;

    /// <param name="name">The module's name.</param>
    /// <param name="weight">outputs × inputs.</param>
    /// <param name="bias">outputs.</param>
    /// <param name="mask">outputs × inputs, 0/1.</param>
    public MaskedLinear(string name, Tensor weight, Tensor bias, Tensor mask) : base(name)
    {
        _weight = nn.Parameter(weight);
        _bias = nn.Parameter(bias);
        _mask = mask;
        register_parameter("weight", _weight);
        register_parameter("bias", _bias);
        register_buffer("mask", _mask);
    }

    public Parameter Weight => _weight;

    public Parameter Bias => _bias;

    public Tensor Mask => _mask;

    public override Tensor forward(Tensor input) => nn.functional.linear(input, _weight * _mask, _bias);
}

/// <summary>
/// MADE (Germain et al. 2015, arXiv:1502.03509) in TorchSharp: masked linear layers with ReLU between them. The output
/// units are grouped by feature in the autoregressive order (unit k·P + p is parameter p of feature order[k], as zuko's
/// MADE unflattens its output to d × P), then gathered to the block layout the transforms read: column p·d + j is
/// parameter p of feature j. A conditional MADE adds the context, unmasked and without bias, to the
/// first hidden layer's pre-activation and directly to every output (as zuko's adjacency connects it).
/// </summary>
/// <remarks>
/// The degrees follow the same rule as Flows' MaskedAutoencoder, derived here from the paper rather than read from
/// Flows: input feature order[k] has degree k + 1; hidden unit u of a layer has degree (u mod (d − 1)) + 1, the units
/// then sorted by degree (a stable sort); a hidden unit keeps inputs of degree ≤ its own, an output of feature j only
/// inputs of degree &lt; m(j). The same masks and the same unit order let the equivalence check copy weights one to one.
/// </remarks>
internal sealed class TorchMaskedAutoencoder : nn.Module<Tensor, Tensor>
{
    private readonly MaskedLinear[] _layers;
    private readonly Parameter? _contextWeight;
    private readonly Parameter? _contextToOutputWeight;
    private readonly Tensor _unitOfBlockColumn;

    /// <param name="features">d.</param>
    /// <param name="hiddenFeatures">Hidden widths.</param>
    /// <param name="parametersPerFeature">Output blocks per feature.</param>
    /// <param name="order">The autoregressive order.</param>
    /// <param name="initial">Initial weights and biases, layer by layer (weight outputs × inputs row-major, then bias),
    /// then, with a context, the context's weights into the first hidden layer and into the outputs.</param>
    /// <param name="contextFeatures">Context features; 0 for none.</param>
    /// <param name="dtype">The element type.</param>
    public TorchMaskedAutoencoder(int features, IReadOnlyList<int> hiddenFeatures, int parametersPerFeature, IReadOnlyList<int> order,
        IReadOnlyList<double[]> initial, int contextFeatures, ScalarType dtype) : base("made")
    {
        int[] inputDegrees = new int[features];
        for (int k = 0; k < features; k++)
        {
            inputDegrees[order[k]] = k + 1;
        }

        var degrees = new List<int[]> { inputDegrees };
        foreach (int width in hiddenFeatures)
        {
            degrees.Add([.. Enumerable.Range(0, width).Select(u => features == 1 ? 0 : (u % (features - 1)) + 1).Order()]);
        }

        // Output unit k·P + p belongs to feature order[k], whose degree is k + 1.
        degrees.Add([.. Enumerable.Range(0, parametersPerFeature * features).Select(u => (u / parametersPerFeature) + 1)]);
        _unitOfBlockColumn = torch.tensor([.. Enumerable.Range(0, parametersPerFeature * features)
            .Select(c => ((inputDegrees[c % features] - 1) * parametersPerFeature) + (c / features))], ScalarType.Int64);
        register_buffer("unitOfBlockColumn", _unitOfBlockColumn);
        _layers = new MaskedLinear[degrees.Count - 1];
        for (int l = 0; l < _layers.Length; l++)
        {
            int[] inputs = degrees[l];
            int[] outputs = degrees[l + 1];
            bool last = l == _layers.Length - 1;
            var mask = new double[outputs.Length * inputs.Length];
            for (int o = 0; o < outputs.Length; o++)
            {
                for (int i = 0; i < inputs.Length; i++)
                {
                    mask[(o * inputs.Length) + i] = (last ? outputs[o] > inputs[i] : outputs[o] >= inputs[i]) ? 1 : 0;
                }
            }

            _layers[l] = new MaskedLinear($"layer{l}",
                torch.tensor(initial[2 * l], [outputs.Length, inputs.Length], dtype),
                torch.tensor(initial[(2 * l) + 1], [outputs.Length], dtype),
                torch.tensor(mask, [outputs.Length, inputs.Length], dtype));
            register_module($"layer{l}", _layers[l]);
        }

        if (contextFeatures > 0)
        {
            int n = 2 * _layers.Length;
            _contextWeight = nn.Parameter(torch.tensor(initial[n], [hiddenFeatures[0], contextFeatures], dtype));
            _contextToOutputWeight = nn.Parameter(torch.tensor(initial[n + 1], [degrees[^1].Length, contextFeatures], dtype));
            register_parameter("context", _contextWeight);
            register_parameter("contextToOutput", _contextToOutputWeight);
        }
    }

    public IReadOnlyList<MaskedLinear> Layers => _layers;

    /// <summary>The parameters in Flows' order: each layer's weight and bias, then the context's two weights.</summary>
    public IEnumerable<Parameter> OrderedParameters
        => _layers.SelectMany(m => new[] { m.Weight, m.Bias })
            .Concat(_contextWeight is null ? [] : [_contextWeight, _contextToOutputWeight!]);

    public override Tensor forward(Tensor input) => forward(input, null);

    /// <summary>n × d inputs (and n × context) → n × (parametersPerFeature · d).</summary>
    public Tensor forward(Tensor input, Tensor? context)
    {
        Tensor h = _layers[0].call(input);
        if (_contextWeight is not null)
        {
            h = h + nn.functional.linear(context!, _contextWeight);
        }

        for (int l = 1; l < _layers.Length; l++)
        {
            h = _layers[l].call(nn.functional.relu(h));
        }

        if (_contextToOutputWeight is not null)
        {
            h = h + nn.functional.linear(context!, _contextToOutputWeight);
        }

        return h.index_select(1, _unitOfBlockColumn);
    }
}
