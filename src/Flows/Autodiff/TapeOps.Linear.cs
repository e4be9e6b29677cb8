using System.Numerics;
using Flows.Numerics;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>The affine layer <c>y = x Wᵀ + b</c>: x is n × in, W is out × in, b (optional) is 1 × out.</summary>
    /// <returns>An n × out node.</returns>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static Node<T> Linear<T>(this Tape<T> tape, Node<T> x, Node<T> weight, Node<T>? bias = null)
        where T : unmanaged, IFloatingPointIeee754<T>
        => tape.Linear(x, weight, bias, null, relu: false);

    /// <summary>The affine layer of a masked weight, optionally followed by ReLU: <c>y = relu(x Wᵀ + b)</c>.</summary>
    /// <remarks><paramref name="bands"/> say where the weight may be nonzero (it must be zero elsewhere), and the products
    /// skip the rest, forward and backward. Bias and ReLU are applied as the product is stored, and the backward pass takes
    /// ReLU's derivative from y (y &gt; 0 exactly where x Wᵀ + b &gt; 0), so the pre-activation is never stored.</remarks>
    internal static Node<T> Linear<T>(this Tape<T> tape, Node<T> x, Node<T> weight, Node<T>? bias, MaskBands? bands, bool relu)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Columns != x.Columns)
        {
            throw new ArgumentException($"weight is {weight.Rows} × {weight.Columns} but x has {x.Columns} columns; expected {weight.Rows} × {x.Columns}.", nameof(weight));
        }

        if (bias is not null && (bias.Rows != 1 || bias.Columns != weight.Rows))
        {
            throw new ArgumentException($"bias is {bias.Rows} × {bias.Columns}, expected 1 × {weight.Rows}.", nameof(bias));
        }

        int n = x.Rows;
        int outputs = weight.Rows;
        Node<T> y = tape.Allocate(n, outputs);
        Gemm.MultiplyTransposedB<T>(x.Values, weight.Values, y.Values, n, x.Columns, outputs, accumulate: false, bands?.OfOutputs, bias is null ? default : bias.Values, relu);
        tape.Record(relu ? LinearBackward<T>.WithRelu : LinearBackward<T>.Instance, y, x, weight, bias, state: bands);

        return y;
    }

    /// <summary>The matrix product <c>y = a·b</c>: a is n × k, b is k × m.</summary>
    /// <exception cref="ArgumentException">The inner dimensions differ.</exception>
    public static Node<T> MatrixMultiply<T>(this Tape<T> tape, Node<T> a, Node<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Columns != b.Rows)
        {
            throw new ArgumentException($"Cannot multiply {a.Rows} × {a.Columns} by {b.Rows} × {b.Columns}.", nameof(b));
        }

        Node<T> y = tape.Allocate(a.Rows, b.Columns);
        Gemm.Multiply<T>(a.Values, b.Values, y.Values, a.Rows, a.Columns, b.Columns, accumulate: false);
        tape.Record(MatrixMultiplyBackward<T>.Instance, y, a, b);
        return y;
    }

    private static class LinearBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        public static readonly Backward<T> WithRelu = RunWithRelu;

        // y = relu(v): the gradient of v is g where y > 0, else 0. It is formed in place of g, which nothing reads after
        // the op that made y has run its backward pass.
        private static void RunWithRelu(in TapeEntry<T> e)
        {
            Kernels.ReluGradient<T>(e.Output.Values, e.Output.Gradients);
            Run(e);
        }

        // y = x Wᵀ + b:  dx += g W,  dW += gᵀ x,  db += column sums of g. With a masked weight, dW is only needed inside
        // the mask (the mask's own product zeroes the rest), so tiles wholly outside it are skipped.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> x = e.Input0;
            Node<T> w = e.Input1!;
            var bands = (MaskBands?)e.State;
            ReadOnlySpan<T> g = e.Output.Gradients;
            int n = x.Rows;
            if (x.RequiresGradient)
            {
                Gemm.Multiply<T>(g, w.Values, x.Gradients, n, w.Rows, w.Columns, accumulate: true, bands?.OfInputs);
            }

            if (w.RequiresGradient)
            {
                Gemm.MultiplyTransposedA<T>(g, x.Values, w.Gradients, w.Rows, n, w.Columns, accumulate: true, bands?.OfOutputs);
            }

            if (e.Input2 is { RequiresGradient: true } bias)
            {
                AccumulateBroadcast(g, bias.Gradients);
            }
        }
    }

    private static class MatrixMultiplyBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // y = a b:  da += g bᵀ,  db += aᵀ g.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> a = e.Input0;
            Node<T> b = e.Input1!;
            ReadOnlySpan<T> g = e.Output.Gradients;
            if (a.RequiresGradient)
            {
                Gemm.MultiplyTransposedB<T>(g, b.Values, a.Gradients, a.Rows, b.Columns, a.Columns, accumulate: true);
            }

            if (b.RequiresGradient)
            {
                Gemm.MultiplyTransposedA<T>(a.Values, g, b.Gradients, b.Rows, a.Rows, b.Columns, accumulate: true);
            }
        }
    }
}
