using System.Numerics;
using Flows.Numerics;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>
    /// The fused sinh-arcsinh map of Jones &amp; Pewsey (2009) and its log-determinant, with skew ε and tail weight
    /// δ = exp(logTailWeight). Forward: <c>x = sinh((asinh(z) + ε)/δ)</c>; inverse: <c>z = sinh(δ·asinh(x) − ε)</c>.
    /// </summary>
    /// <param name="tape">The tape.</param>
    /// <param name="input">n × d.</param>
    /// <param name="skew">ε, 1 × d.</param>
    /// <param name="logTailWeight">log δ, 1 × d.</param>
    /// <param name="inverse">Whether to run the inverse map.</param>
    /// <returns>The output and the n × 1 log|det J| of the direction that ran.</returns>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static (Node<T> Output, Node<T> LogDet) SinhArcsinh<T>(this Tape<T> tape, Node<T> input, Node<T> skew,
        Node<T> logTailWeight, bool inverse) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(input);
        if (skew.Rows != 1 || skew.Columns != input.Columns || logTailWeight.Rows != 1 || logTailWeight.Columns != input.Columns)
        {
            throw new ArgumentException($"skew and logTailWeight must be 1 × {input.Columns}.", nameof(skew));
        }

        int d = input.Columns;
        Node<T> output = tape.Allocate(input.Rows, d);
        Node<T> logDet = tape.Allocate(input.Rows, 1);
        ReadOnlySpan<T> xs = input.Values;
        Span<T> ys = output.Values;
        for (int i = 0; i < input.Rows; i++)
        {
            T sum = T.Zero;
            for (int j = 0; j < d; j++)
            {
                int k = (i * d) + j;
                SinhArcsinhPoint<T> p = new(xs[k], skew.Values[j], logTailWeight.Values[j], inverse);
                ys[k] = p.Output;
                sum += p.LogDerivative;
            }

            logDet.Values[i] = sum;
        }

        tape.Record(SinhArcsinhBackward<T>.Instance, output, input, skew, logTailWeight, output1: logDet, flag: inverse ? 1 : 0);
        return (output, logDet);
    }

    private static class SinhArcsinhBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        private static void Run(in TapeEntry<T> e)
        {
            Node<T> input = e.Input0;
            Node<T> skew = e.Input1!;
            Node<T> logTailWeight = e.Input2!;
            bool inverse = e.Flag != 0;
            ReadOnlySpan<T> g = e.Output.Gradients;
            ReadOnlySpan<T> gLogDet = e.Output1!.Gradients;
            int d = input.Columns;
            for (int i = 0; i < input.Rows; i++)
            {
                for (int j = 0; j < d; j++)
                {
                    int k = (i * d) + j;
                    SinhArcsinhPoint<T> p = new(input.Values[k], skew.Values[j], logTailWeight.Values[j], inverse);
                    p.Gradients(out T dInput, out T dSkew, out T dLogTailWeight, out T dLogInput, out T dLogSkew, out T dLogLogTailWeight);
                    T gk = g[k];
                    T gl = gLogDet[i];
                    if (input.RequiresGradient)
                    {
                        input.Gradients[k] += (gk * dInput) + (gl * dLogInput);
                    }

                    if (skew.RequiresGradient)
                    {
                        skew.Gradients[j] += (gk * dSkew) + (gl * dLogSkew);
                    }

                    if (logTailWeight.RequiresGradient)
                    {
                        logTailWeight.Gradients[j] += (gk * dLogTailWeight) + (gl * dLogLogTailWeight);
                    }
                }
            }
        }
    }
}

/// <summary>
/// One element of the sinh-arcsinh map: its output, log-derivative and their partial derivatives.
/// </summary>
/// <remarks>
/// Forward, with a = asinh(z), u = (a + ε)/δ: x = sinh(u), ℓ = log cosh(u) − log δ − ½ log(1 + z²).
/// ∂x/∂z = cosh(u)/(δ√(1+z²)), ∂x/∂ε = cosh(u)/δ, ∂x/∂log δ = −u cosh(u);
/// ∂ℓ/∂z = tanh(u)/(δ√(1+z²)) − z/(1+z²), ∂ℓ/∂ε = tanh(u)/δ, ∂ℓ/∂log δ = −u tanh(u) − 1.
/// Inverse, with b = asinh(x), v = δb − ε: z = sinh(v), ℓ = log cosh(v) + log δ − ½ log(1 + x²).
/// ∂z/∂x = δ cosh(v)/√(1+x²), ∂z/∂ε = −cosh(v), ∂z/∂log δ = δ b cosh(v);
/// ∂ℓ/∂x = δ tanh(v)/√(1+x²) − x/(1+x²), ∂ℓ/∂ε = −tanh(v), ∂ℓ/∂log δ = δ b tanh(v) + 1.
/// √(1+x²) is a hypot so that no square overflows.
/// </remarks>
internal readonly struct SinhArcsinhPoint<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _input;
    private readonly T _tailWeight;
    private readonly T _asinh;
    private readonly T _argument;
    private readonly bool _inverse;

    public SinhArcsinhPoint(T input, T skew, T logTailWeight, bool inverse)
    {
        _input = input;
        _inverse = inverse;
        _tailWeight = T.Exp(logTailWeight);
        _asinh = T.Asinh(input);
        _argument = inverse ? (_tailWeight * _asinh) - skew : (_asinh + skew) / _tailWeight;
    }

    public T Output => T.Sinh(_argument);

    public T LogDerivative
    {
        get
        {
            T logTail = T.Log(_tailWeight);
            T common = Scalar.LogCosh(_argument) - Scalar.HalfLogOnePlusSquare(_input);
            return _inverse ? common + logTail : common - logTail;
        }
    }

    public void Gradients(out T dInput, out T dSkew, out T dLogTailWeight, out T dLogInput, out T dLogSkew, out T dLogLogTailWeight)
    {
        T cosh = T.Cosh(_argument);
        T tanh = T.Tanh(_argument);
        T h = T.Hypot(T.One, _input);
        T inputOverOnePlusSquare = _input / h / h;
        if (_inverse)
        {
            dInput = _tailWeight * cosh / h;
            dSkew = -cosh;
            dLogTailWeight = _tailWeight * _asinh * cosh;
            dLogInput = (_tailWeight * tanh / h) - inputOverOnePlusSquare;
            dLogSkew = -tanh;
            dLogLogTailWeight = (_tailWeight * _asinh * tanh) + T.One;
        }
        else
        {
            dInput = cosh / (_tailWeight * h);
            dSkew = cosh / _tailWeight;
            dLogTailWeight = -_argument * cosh;
            dLogInput = (tanh / (_tailWeight * h)) - inputOverOnePlusSquare;
            dLogSkew = tanh / _tailWeight;
            dLogLogTailWeight = (-_argument * tanh) - T.One;
        }
    }
}
