using System.Numerics;
using BenchmarkDotNet.Attributes;
using Flows.Autodiff;
using Flows.Training;

namespace Flows.Benchmarks;

/// <summary>
/// The elementwise hot paths on a 512 × 64 batch: a tape function forward and backward (Softplus, Sigmoid, Tanh), and
/// one Adam step over a parameter of the same size.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
[GenericTypeArguments(typeof(double))]
[GenericTypeArguments(typeof(float))]
public class ElementwiseBenchmarks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Rows = 512;
    private const int Columns = 64;

    private Parameter<T> _parameter = null!;
    private Tape<T> _tape = null!;
    private Adam<T> _optimizer = null!;

    /// <summary>Fills the parameter with values in (−6, 6) and its gradient with small values; warms the tape.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _parameter = new Parameter<T>("x", Rows, Columns);
        var random = new Random(1);
        for (int i = 0; i < _parameter.Values.Length; i++)
        {
            _parameter.Values[i] = T.CreateTruncating((random.NextDouble() * 12) - 6);
        }

        _tape = new Tape<T>();
        _optimizer = new Adam<T>([_parameter]);
        Softplus();
        Sigmoid();
        Tanh();
    }

    /// <summary>y = softplus(x), loss = Σ y, backward.</summary>
    [Benchmark]
    public T Softplus() => Run(static (tape, x) => tape.Softplus(x));

    /// <summary>y = σ(x), loss = Σ y, backward.</summary>
    [Benchmark]
    public T Sigmoid() => Run(static (tape, x) => tape.Sigmoid(x));

    /// <summary>y = tanh(x), loss = Σ y, backward (the map is TensorPrimitives; only the backward changed).</summary>
    [Benchmark]
    public T Tanh() => Run(static (tape, x) => tape.Tanh(x));

    /// <summary>One Adam step over 32,768 values (gradients left as the last backward pass set them).</summary>
    [Benchmark]
    public T AdamStep()
    {
        _optimizer.Step();
        return _parameter.Values[0];
    }

    private T Run(Func<Tape<T>, Node<T>, Node<T>> function)
    {
        _tape.Reset();
        _parameter.ZeroGradients();
        Node<T> loss = _tape.Sum(function(_tape, _tape.Use(_parameter)));
        _tape.Backward(loss);
        return loss.Values[0];
    }
}
