using System.Numerics;
using BenchmarkDotNet.Attributes;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Training;
using Flows.Variational;
using TorchSharp;
using static TorchSharp.torch;

namespace Flows.Peers;

/// <summary>
/// One ELBO training step of a VAE with a 16-layer amortized (triangular) Sylvester posterior on 64-feature binary data,
/// batch 100, in Flows and in TorchSharp (libtorch CPU) in one run: encoder 64 → 256 → [μ | log σ | h] with a 64-feature
/// context h, 16 layers whose R, R̃, b come per row from h through each layer's linear head (Q a fixed identity or
/// reversal permutation, alternating), a 16-feature latent, a Bernoulli decoder 16 → 256 → 64, a standard-normal prior;
/// one reparameterized sample per row, the mean negative ELBO, backward, Adam. The torch model starts from the Flows
/// model's parameters, so both step the same function (their draws ε differ). One thread each.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[Config(typeof(PeerJobConfig))]
[GenericTypeArguments(typeof(double))]
[GenericTypeArguments(typeof(float))]
public class SylvesterVaeBenchmarks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Features = 64;
    private const int Latent = 16;
    private const int Context = 64;
    private const int Hidden = 256;
    private const int Layers = 16;
    private const int BatchSize = 100;
    private const int Rows = 1000;

    private VariationalAutoencoder<T> _vae = null!;
    private Adam<T> _adam = null!;
    private Tape<T> _tape = null!;
    private Random _random = null!;
    private T[] _data = null!;
    private int _next;

    private TorchSylvesterVae? _torch;
    private optim.Optimizer? _torchOptimizer;
    private Tensor? _torchData;
    private Generator? _generator;

    /// <summary>Flows, or TorchSharp 0.107.0 on libtorch 2.10 (CPU).</summary>
    [Params("Flows", "TorchSharp")]
    public string Library { get; set; } = "Flows";

    [GlobalSetup]
    public void Setup()
    {
        var flow = new Chain<T>([.. Enumerable.Range(0, Layers).Select(l => (IBijector<T>)new AmortizedSylvester<T>(Latent, Context, reversed: l % 2 == 1, seed: 10 + l))]);
        var posterior = new AmortizedPosterior<T>(Features, Latent, [Hidden], flow, seed: 1);
        var decoder = new BernoulliDecoder<T>(Latent, Features, [Hidden], seed: 2);
        _vae = new VariationalAutoencoder<T>(posterior, LatentVariableModel<T>.WithStandardNormalPrior(decoder));
        // Move every parameter off its start (the encoder's and decoder's last layers start at zero), as after some training.
        var random = new Random(3);
        foreach (Parameter<T> p in _vae.Parameters)
        {
            for (int i = 0; i < p.Values.Length; i++)
            {
                p.Values[i] += T.CreateTruncating(0.05 * ((2 * random.NextDouble()) - 1));
            }
        }

        _data = new T[Rows * Features];
        for (int i = 0; i < _data.Length; i++)
        {
            _data[i] = random.NextDouble() < 0.3 ? T.One : T.Zero;
        }

        _adam = new Adam<T>(_vae.Parameters);
        _tape = new Tape<T>();
        _random = new Random(4);
        if (Library == "TorchSharp")
        {
            torch.set_num_threads(1);
            ScalarType dtype = typeof(T) == typeof(double) ? ScalarType.Float64 : ScalarType.Float32;
            _torch = TorchSylvesterVae.Create(_vae, dtype);
            _torchOptimizer = optim.Adam(_torch.Parameters, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8);
            _torchData = torch.tensor(_data.Select(double.CreateTruncating).ToArray(), [Rows, Features], dtype);
            _generator = new Generator(5);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _torchOptimizer?.Dispose();
        _torch?.Dispose();
        _torchData?.Dispose();
        _generator?.Dispose();
    }

    /// <summary>One ELBO step on the next batch of 100 rows.</summary>
    [Benchmark]
    public T TrainingStep()
    {
        int start = _next;
        _next = (_next + BatchSize) % Rows;
        if (_torch is not null)
        {
            using DisposeScope scope = torch.NewDisposeScope();
            Tensor loss = _torch.Loss(_torchData!.narrow(0, start, BatchSize), _generator!);
            _torchOptimizer!.zero_grad();
            loss.backward();
            _torchOptimizer.step();
            return T.CreateTruncating(loss.to_type(ScalarType.Float64).item<double>());
        }

        _tape.Reset();
        Node<T> x = _tape.Constant(_data.AsSpan(start * Features, BatchSize * Features), BatchSize, Features);
        Node<T> flowsLoss = _vae.Loss(_tape, x, 1, AmortizedObjective.Elbo, _random);
        _adam.ZeroGradients();
        _tape.Backward(flowsLoss);
        _adam.Step();
        return flowsLoss.Values[0];
    }
}

/// <summary>The same VAE in TorchSharp, written as a PyTorch user would: batched matrix products for the per-row
/// triangles, packed upper triangles scattered by constant 0/1 matrices.</summary>
internal sealed class TorchSylvesterVae : IDisposable
{
    private readonly List<(Tensor Weight, Tensor Bias)> _encoder = [];
    private readonly List<(Tensor Weight, Tensor Bias)> _heads = [];
    private readonly List<(Tensor Weight, Tensor Bias)> _decoder = [];
    private readonly List<Tensor> _permutations = [];
    private readonly Tensor _offDiagonal; // P × M²: packed upper triangle → its off-diagonal entries, row-major
    private readonly Tensor _diagonal;    // P × M: packed upper triangle → its diagonal
    private readonly int _latent;
    private readonly int _packed;
    private readonly double _logScaleBound;

    /// <summary>Copies the Flows model's parameters (encoder, each layer's head, decoder) and permutations.</summary>
    public static TorchSylvesterVae Create<T>(VariationalAutoencoder<T> vae, ScalarType dtype) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var layers = ((Chain<T>)vae.Posterior.Flow!).Parts.Cast<AmortizedSylvester<T>>().ToArray();
        var decoder = (BernoulliDecoder<T>)((LatentVariableModel<T>)vae.Model).Decoder;
        return new TorchSylvesterVae(
            Pairs(vae.Posterior.Encoder.Parameters, dtype),
            [.. layers.Select(l => (Parameter(l.HeadWeight, dtype), Parameter(l.HeadBias, dtype, vector: true)))],
            Pairs(decoder.Network.Parameters, dtype),
            [.. layers.Select(l => l.Reversed)],
            vae.LatentDimension,
            vae.Posterior.LogScaleBound,
            dtype);
    }

    private TorchSylvesterVae(List<(Tensor, Tensor)> encoder, List<(Tensor, Tensor)> heads, List<(Tensor, Tensor)> decoder, bool[] reversed,
        int latent, double logScaleBound, ScalarType dtype)
    {
        _encoder = encoder;
        _heads = heads;
        _decoder = decoder;
        _latent = latent;
        _packed = latent * (latent + 1) / 2;
        _logScaleBound = logScaleBound;
        var off = new double[_packed * latent * latent];
        var diagonal = new double[_packed * latent];
        for (int i = 0, k = 0; i < latent; i++)
        {
            for (int j = i; j < latent; j++, k++)
            {
                if (i == j)
                {
                    diagonal[(k * latent) + i] = 1;
                }
                else
                {
                    off[(k * latent * latent) + (i * latent) + j] = 1;
                }
            }
        }

        _offDiagonal = torch.tensor(off, [_packed, latent * latent], dtype);
        _diagonal = torch.tensor(diagonal, [_packed, latent], dtype);
        foreach (bool r in reversed)
        {
            var q = new double[latent * latent];
            for (int j = 0; j < latent; j++)
            {
                q[((r ? latent - 1 - j : j) * latent) + j] = 1;
            }

            _permutations.Add(torch.tensor(q, [latent, latent], dtype));
        }
    }

    public IEnumerable<TorchSharp.Modules.Parameter> Parameters
        => [.. new[] { _encoder, _heads, _decoder }.SelectMany(layers => layers).SelectMany(l => new[] { l.Weight, l.Bias }).Cast<TorchSharp.Modules.Parameter>()];

    /// <summary>The mean negative ELBO of a batch with one reparameterized sample per row.</summary>
    public Tensor Loss(Tensor x, Generator generator)
    {
        int d = _latent;
        long n = x.shape[0];
        Tensor h = Network(_encoder, x);
        Tensor mean = h.narrow(1, 0, d);
        Tensor logScale = _logScaleBound * torch.tanh(h.narrow(1, d, d) / _logScaleBound);
        Tensor context = h.narrow(1, 2 * d, h.shape[1] - (2 * d));
        Tensor epsilon = torch.randn([n, d], dtype: x.dtype, generator: generator);
        Tensor z = mean + (torch.exp(logScale) * epsilon);
        double halfLogTwoPi = 0.5 * d * Math.Log(2 * Math.PI);
        Tensor logQ = (-0.5 * epsilon.square().sum(1)) - halfLogTwoPi - logScale.sum(1);
        const double DiagonalScale = 1 - 1e-6;
        for (int k = 0; k < _heads.Count; k++)
        {
            Tensor raw = torch.nn.functional.linear(context, _heads[k].Weight, _heads[k].Bias);
            Tensor rPacked = raw.narrow(1, 0, _packed);
            Tensor rTildePacked = raw.narrow(1, _packed, _packed);
            Tensor bias = raw.narrow(1, 2 * _packed, d);
            Tensor rDiagonal = DiagonalScale * torch.tanh(rPacked.matmul(_diagonal));
            Tensor rTildeDiagonal = DiagonalScale * torch.tanh(rTildePacked.matmul(_diagonal));
            Tensor r = rPacked.matmul(_offDiagonal).view(n, d, d) + torch.diag_embed(rDiagonal);
            Tensor rTilde = rTildePacked.matmul(_offDiagonal).view(n, d, d) + torch.diag_embed(rTildeDiagonal);
            Tensor q = _permutations[k];
            Tensor y = z.matmul(q);
            Tensor pre = rTilde.bmm(y.unsqueeze(-1)).squeeze(-1) + bias;
            Tensor eta = torch.tanh(pre);
            z = z + r.bmm(eta.unsqueeze(-1)).squeeze(-1).matmul(q.t());
            logQ = logQ - torch.log(torch.abs(1 + (rDiagonal * rTildeDiagonal * (1 - eta.square())))).sum(1);
        }

        Tensor logits = Network(_decoder, z);
        Tensor logLikelihood = ((x * logits) - torch.nn.functional.softplus(logits)).sum(1);
        Tensor logPrior = (-0.5 * z.square().sum(1)) - halfLogTwoPi;
        return -(logLikelihood + logPrior - logQ).mean();
    }

    public void Dispose()
    {
        foreach (Tensor t in Parameters.Concat(_permutations).Append(_offDiagonal).Append(_diagonal))
        {
            t.Dispose();
        }
    }

    private static Tensor Network(List<(Tensor Weight, Tensor Bias)> layers, Tensor x)
    {
        for (int l = 0; l < layers.Count; l++)
        {
            x = torch.nn.functional.linear(x, layers[l].Weight, layers[l].Bias);
            if (l < layers.Count - 1)
            {
                x = torch.nn.functional.relu(x);
            }
        }

        return x;
    }

    // Weight and bias of each Linear layer, in the order the Flows network lists them.
    private static List<(Tensor, Tensor)> Pairs<T>(IReadOnlyList<Parameter<T>> parameters, ScalarType dtype) where T : unmanaged, IFloatingPointIeee754<T>
        => [.. Enumerable.Range(0, parameters.Count / 2).Select(l => (Parameter(parameters[2 * l], dtype), Parameter(parameters[(2 * l) + 1], dtype, vector: true)))];

    private static TorchSharp.Modules.Parameter Parameter<T>(Parameter<T> parameter, ScalarType dtype, bool vector = false) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double[] values = [.. parameter.Values.Select(double.CreateTruncating)];
        long[] shape = vector ? [parameter.Values.Length] : [parameter.Rows, parameter.Columns];
        return nn.Parameter(torch.tensor(values, shape, dtype));
    }
}
