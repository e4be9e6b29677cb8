using System.Numerics;
using Flows.Numerics;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>Elementwise <c>y = exp(x)</c>.</summary>
    public static Node<T> Exp<T>(this Tape<T> tape, Node<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => Unary<T, Functions.Exp<T>>(tape, x);

    /// <summary>Elementwise natural logarithm <c>y = log(x)</c>.</summary>
    public static Node<T> Log<T>(this Tape<T> tape, Node<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => Unary<T, Functions.Log<T>>(tape, x);

    /// <summary>Elementwise <c>y = tanh(x)</c>.</summary>
    public static Node<T> Tanh<T>(this Tape<T> tape, Node<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => Unary<T, Functions.Tanh<T>>(tape, x);

    /// <summary>Elementwise logistic sigmoid <c>y = 1/(1 + exp(−x))</c>.</summary>
    public static Node<T> Sigmoid<T>(this Tape<T> tape, Node<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => Unary<T, Functions.Sigmoid<T>>(tape, x);

    /// <summary>Elementwise <c>y = log(1 + exp(x))</c>, stable for any x.</summary>
    public static Node<T> Softplus<T>(this Tape<T> tape, Node<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => Unary<T, Functions.Softplus<T>>(tape, x);

    /// <summary>Elementwise <c>y = max(x, 0)</c>; the gradient at 0 is taken as 0.</summary>
    public static Node<T> Relu<T>(this Tape<T> tape, Node<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => Unary<T, Functions.Relu<T>>(tape, x);

    // The one driver behind every elementwise function: value through TFunction.Map, backward through its derivative.
    private static Node<T> Unary<T, TFunction>(Tape<T> tape, Node<T> x)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TFunction : IUnaryFunction<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        Node<T> y = tape.Allocate(x.Rows, x.Columns);
        TFunction.Map(x.Values, y.Values);
        tape.Record(UnaryBackward<T, TFunction>.Instance, y, x);
        return y;
    }

    private static class UnaryBackward<T, TFunction>
        where T : unmanaged, IFloatingPointIeee754<T>
        where TFunction : IUnaryFunction<T>
    {
        public static readonly Backward<T> Instance = Run;

        // dx += g · f′(x), with f′ allowed to read the saved output y; one vectorized pass (Kernels.MultiplyAddDerivative).
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> x = e.Input0;
            if (!x.RequiresGradient)
            {
                return;
            }

            Kernels.MultiplyAddDerivative<T, DerivativeOf<T, TFunction>>(x.Values, e.Output.Values, e.Output.Gradients, x.Gradients);
        }
    }
}
