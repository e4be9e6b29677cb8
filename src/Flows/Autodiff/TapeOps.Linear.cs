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
        => tape.Linear(x, weight, bias, mask: null, relu: false);

    /// <summary>The affine layer of a masked weight, optionally followed by ReLU: <c>y = relu(x (W ⊙ M)ᵀ + b)</c>.</summary>
    /// <remarks><para>The products skip what the mask's bands say is zero, forward and backward. Bias and ReLU are applied as
    /// the product is stored, and the backward pass takes ReLU's derivative from y (y &gt; 0 exactly where x Wᵀ + b &gt; 0),
    /// so the pre-activation is never stored.</para>
    /// <para>W ⊙ M is formed as scratch the tape does not differentiate, and the backward pass accumulates gᵀx into W's
    /// own gradient and then sets that gradient to zero outside the 0/1 mask (whatever else accumulated there; on a
    /// data-parallel block's own gradient the clearing is deferred to its first reader, see
    /// <see cref="Node{T}.LeaveStaleOutside"/>, and a block that adds straight into a data-parallel step's running sum
    /// leaves it to the step's end, see <see cref="BlockOrderedGradients{T}"/>): the masked-out weights stay inert, as
    /// with a product W ⊙ M on the tape, without a gradient buffer for W ⊙ M and a pass to multiply it by M for every
    /// block of every step.</para></remarks>
    internal static Node<T> Linear<T>(this Tape<T> tape, Node<T> x, Node<T> weight, Node<T>? bias, WeightMask<T>? mask, bool relu)
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

        // W ⊙ M: formed here, or, for a parameter's weight, shared by the tapes of a data-parallel step or of an
        // evaluation call's chunks with its packings (then it is the state). A weight computed on the tape (BNAF's) changes within a step and is never shared.
        Node<T> effective = weight;
        MaskedWeight<T>? shared = mask is null || !weight.IsParameter ? null : tape.MaskedWeightProducts?.Get(weight, mask);
        if (shared is not null)
        {
            effective = shared.Product;
        }
        else if (mask is not null)
        {
            effective = tape.Allocate(weight.Rows, weight.Columns);
            mask.Apply(weight.Values, effective.Values);
        }

        int n = x.Rows;
        int outputs = weight.Rows;
        Node<T> y = tape.Allocate(n, outputs);
        Gemm.MultiplyTransposedB<T>(x.Values, effective.Values, y.Values, n, x.Columns, outputs, accumulate: false, mask?.Bands.OfOutputs, bias is null ? default : bias.Values, relu, shared?.Forward);
        tape.Record(relu ? LinearBackward<T>.WithRelu : LinearBackward<T>.Instance, y, x, weight, bias, saved: mask is null ? null : effective, state: (object?)shared ?? mask);

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

        // y = x Wᵀ + b:  dx += g W,  dW += gᵀ x,  db += column sums of g. With a mask, W is W ⊙ M (saved) and dW is only
        // needed inside the mask: tiles wholly outside it are skipped, and what the others wrote outside it is zeroed.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> x = e.Input0;
            Node<T> w = e.Input1!;
            var shared = e.State as MaskedWeight<T>;
            WeightMask<T>? mask = shared?.Mask ?? (WeightMask<T>?)e.State;
            ReadOnlySpan<T> effective = mask is null ? w.Values : e.Saved!.Values;
            ReadOnlySpan<T> g = e.Output.Gradients;
            int n = x.Rows;
            // Both products write every element of their gradient (a masked weight's through ZeroOutside, or the mark
            // that defers it), so a gradient still zero is assigned rather than cleared and added to.
            if (x.RequiresGradient)
            {
                Span<T> dx = x.GradientsToOverwrite(out bool accumulate);
                Gemm.Multiply<T>(g, effective, dx, n, w.Rows, w.Columns, accumulate, mask?.Bands.OfInputs, shared?.Backward);
            }

            if (w.RequiresGradient)
            {
                WeightGradient(e.Tape, g, x, w, mask);
            }

            if (e.Input2 is { RequiresGradient: true } bias)
            {
                AccumulateBroadcast(g, bias.Gradients);
            }
        }

        // dW += gᵀ x, zero outside the mask. A data-parallel block whose turn it is adds the product straight into the
        // running sum of the blocks' gradients: the product sums its at most KC rows from zero and adds them to C once,
        // so the bits are those of the reduction (see BlockOrderedGradients).
        private static void WeightGradient(Tape<T> tape, ReadOnlySpan<T> g, Node<T> x, Node<T> w, WeightMask<T>? mask)
        {
            int n = x.Rows;
            BlockOrderedGradients<T>? ordered = tape.OrderedGradients;
            int slot = 0;
            bool takesPart = ordered is not null && n <= Gemm.KC && tape.UsesOf(w) == 1 && ordered.TryFind(w, out slot);
            if (takesPart && ordered!.TryClaim(tape.Block, slot))
            {
                Gemm.MultiplyTransposedA<T>(g, x.Values, ordered.Target(slot), w.Rows, n, w.Columns, accumulate: true, mask?.Bands.OfOutputs);
                ordered.EndAdding(tape.Block, slot, mask);
                return;
            }

            Span<T> dw = w.GradientsToOverwrite(out bool accumulate);
            Gemm.MultiplyTransposedA<T>(g, x.Values, dw, w.Rows, n, w.Columns, accumulate, mask?.Bands.OfOutputs);
            if (mask is { RowsAreBands: true } && w.GradientIsTapeOwned)
            {
                // A data-parallel block's own gradient: the reduction reads only inside the mask, so clearing outside
                // it (half of a MADE weight) is left to a reader that needs it.
                w.LeaveStaleOutside(mask);
            }
            else
            {
                mask?.ZeroOutside(dw);
            }

            if (takesPart)
            {
                ordered!.Leave(tape.Block, slot);
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
