using System.Numerics;
using Flows.Bijectors;
using Flows.Distributions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flows.Peers;

/// <summary>An autoregressive layer: a MADE giving the parameters of an elementwise transform of every feature; with an
/// input bound B the MADE sees x / (1 + |x|/B), as a Flows MADE with an input bound does.</summary>
internal sealed class TorchAutoregressive : nn.Module
{
    private readonly TorchMaskedAutoencoder _made;
    private readonly ITorchTransform _transform;
    private readonly double? _inputBound;

    public TorchAutoregressive(string name, TorchMaskedAutoencoder made, ITorchTransform transform, double? inputBound = null) : base(name)
    {
        _made = made;
        _transform = transform;
        _inputBound = inputBound;
        register_module("made", _made);
    }

    private Tensor Conditioner(Tensor x, Tensor? context)
        => _made.forward(_inputBound is double bound ? x / (1 + (x.abs() / bound)) : x, context);

    public TorchMaskedAutoencoder Made => _made;

    /// <summary>Data → base in one MADE pass: the direction density needs.</summary>
    public (Tensor Z, Tensor LogDet) Inverse(Tensor x, Tensor? context)
    {
        (Tensor z, Tensor? logDet) = _transform.Apply(x, Conditioner(x, context), inverse: true, logDet: true);
        return (z, logDet!);
    }

    /// <summary>Base → data in d MADE passes: pass k fixes the k-th feature of the order, as zuko samples a MAF.</summary>
    public Tensor Forward(Tensor z, Tensor? context)
    {
        long d = z.shape[1];
        Tensor x = torch.zeros_like(z);
        for (long pass = 0; pass < d; pass++)
        {
            x = _transform.Apply(z, Conditioner(x, context), inverse: false, logDet: false).Output;
        }

        return x;
    }
}

/// <summary>
/// A chain of autoregressive layers on a standard normal base, the first layer next to the base, as Flows'
/// TransformedDistribution of a Chain: log p(x) = log N(z; 0, I) + Σ log|det ∂z/∂x|.
/// </summary>
internal sealed class TorchFlow : nn.Module
{
    private readonly TorchAutoregressive[] _layers;
    private readonly int _features;
    private readonly ScalarType _dtype;

    private TorchFlow(TorchAutoregressive[] layers, int features, ScalarType dtype) : base("flow")
    {
        _layers = layers;
        _features = features;
        _dtype = dtype;
        for (int i = 0; i < layers.Length; i++)
        {
            register_module($"layers{i}", layers[i]);
        }
    }

    public IReadOnlyList<TorchAutoregressive> Layers => _layers;

    /// <summary>The parameters in Flows' order: layer by layer, each MADE's layers weight then bias, then its context weights.</summary>
    public IReadOnlyList<Parameter> OrderedParameters => [.. _layers.SelectMany(l => l.Made.OrderedParameters)];

    /// <summary>Builds the same architecture as a Flows MAF, autoregressive NSF or SOSPF, starting from that flow's parameters.</summary>
    public static TorchFlow From<T>(TransformedDistribution<T> flow, ScalarType dtype) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var layers = new List<TorchAutoregressive>();
        foreach (IBijector<T> part in ((Chain<T>)flow.Bijector).Parts)
        {
            var layer = (MaskedAutoregressive<T>)part;
            ITorchTransform transform = layer.Transform switch
            {
                AffineTransform<T> affine => new TorchAffine(affine.LogScaleBound),
                RationalQuadraticTransform<T> spline => new TorchSpline(spline.BinCount, spline.TailBound, spline.MinimumBinWidth,
                    spline.MinimumBinHeight, spline.MinimumDerivative),
                SumOfSquaresPolynomialTransform<T> sos => new TorchSumOfSquares(sos.PolynomialCount, sos.Degree, sos.TailBound, sos.MinimumSlope),
                _ => throw new NotSupportedException($"No TorchSharp version of {layer.Transform}."),
            };
            var made = new TorchMaskedAutoencoder(layer.Dimension, layer.Conditioner.HiddenFeatures, transform.ParametersPerFeature,
                layer.Conditioner.Order, [.. layer.Parameters.Select(p => p.Values.Select(double.CreateTruncating).ToArray())],
                layer.Conditioner.ContextDimension, dtype);
            layers.Add(new TorchAutoregressive($"layer{layers.Count}", made, transform, layer.Conditioner.InputBound));
        }

        return new TorchFlow([.. layers], flow.Dimension, dtype);
    }

    /// <summary>log p(x | context) of every row of n × d <paramref name="x"/>.</summary>
    public Tensor LogProb(Tensor x, Tensor? context = null)
    {
        Tensor z = x;
        Tensor? logDet = null;
        for (int i = _layers.Length - 1; i >= 0; i--)
        {
            (z, Tensor layerLogDet) = _layers[i].Inverse(z, context);
            logDet = logDet is null ? layerLogDet : logDet + layerLogDet;
        }

        return logDet! - (0.5 * z.square().sum(1)) - (0.5 * _features * Math.Log(2 * Math.PI));
    }

    /// <summary>Draws <paramref name="count"/> samples, the i-th given row i of the context.</summary>
    public Tensor Sample(long count, Generator generator, Tensor? context = null)
        => Transform(torch.randn(count, _features, _dtype, generator: generator), context);

    /// <summary>Base → data for given base points z.</summary>
    public Tensor Transform(Tensor z, Tensor? context = null)
    {
        foreach (TorchAutoregressive layer in _layers)
        {
            z = layer.Forward(z, context);
        }

        return z;
    }
}
