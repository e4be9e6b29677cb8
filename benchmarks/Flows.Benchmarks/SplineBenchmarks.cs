using System.Numerics;
using BenchmarkDotNet.Attributes;
using Flows.Bijectors;
using Flows.Autodiff;

namespace Flows.Benchmarks;

/// <summary>
/// The fused rational-quadratic spline tape op alone, at the NSF-8 shape: a 512 × 8 input (about one in six elements
/// in the identity tails), K = 8 bins on [−5, 5], per-row parameters 512 × 184 drawn as a MADE might give them, with
/// the lanes forced to 256 or 512 bits (<see cref="Numerics.VectorWidth"/>).
/// </summary>
/// <remarks>Eight features fill one 512-bit vector in double but half of one in float, so float runs 256-bit lanes at
/// either setting (<c>RationalQuadraticSpline.UsesWideLanes</c>): its two rows measure the same code.</remarks>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
[GenericTypeArguments(typeof(double))]
[GenericTypeArguments(typeof(float))]
public class SplineBenchmarks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Rows = 512;
    private const int Features = 8;
    private const int BinCount = 8;
    private const double Bound = 5;

    private Parameter<T> _input = null!;
    private Parameter<T> _parameters = null!;
    private Tape<T> _recording = null!;
    private Tape<T> _evaluation = null!;

    /// <summary>Whether to run the inverse (the density direction of a MAF-style spline flow).</summary>
    [Params(false, true)]
    public bool Inverse { get; set; }

    /// <summary>The forced vector width, in bits.</summary>
    [Params(256, 512)]
    public int Bits { get; set; } = 256;

    /// <summary>Fills input and parameters from fixed seeds and warms both tapes.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _input = new Parameter<T>("x", Rows, Features);
        for (int i = 0; i < _input.Values.Length; i++)
        {
            _input.Values[i] = T.CreateTruncating((random.NextDouble() * 12) - 6);
        }

        _parameters = new Parameter<T>("p", Rows, ((3 * BinCount) - 1) * Features);
        for (int i = 0; i < _parameters.Values.Length; i++)
        {
            _parameters.Values[i] = T.CreateTruncating((random.NextDouble() * 4) - 2);
        }

        _recording = new Tape<T>();
        _evaluation = new Tape<T>(isRecording: false);
        Value();
        ValueAndBackward();
    }

    /// <summary>Output and log-det, recording off.</summary>
    [Benchmark]
    public T Value()
    {
        using Numerics.VectorWidth.Scope width = Numerics.VectorWidth.Force(Bits);
        _evaluation.Reset();
        var (output, logDet) = _evaluation.RationalQuadraticSpline(_evaluation.Use(_input), _evaluation.Use(_parameters),
            BinCount, Bound, 1e-3, 1e-3, 1e-3, Inverse);
        return output.Values[0] + logDet.Values[0];
    }

    /// <summary>Output and log-det recorded, loss = Σ output + Σ log-det, backward into input and parameters.</summary>
    [Benchmark]
    public T ValueAndBackward()
    {
        using Numerics.VectorWidth.Scope width = Numerics.VectorWidth.Force(Bits);
        _recording.Reset();
        _input.ZeroGradients();
        _parameters.ZeroGradients();
        var (output, logDet) = _recording.RationalQuadraticSpline(_recording.Use(_input), _recording.Use(_parameters),
            BinCount, Bound, 1e-3, 1e-3, 1e-3, Inverse);
        Node<T> loss = _recording.Add(_recording.Sum(output), _recording.Sum(logDet));
        _recording.Backward(loss);
        return loss.Values[0];
    }
}
