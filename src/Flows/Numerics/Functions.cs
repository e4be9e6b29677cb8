using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

/// <summary>The elementwise functions of the tape, each with its derivative.</summary>
internal static class Functions
{
    /// <summary><c>exp(x)</c>; derivative <c>y</c>.</summary>
    public readonly struct Exp<T> : IUnaryFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static void Map(ReadOnlySpan<T> x, Span<T> y) => Kernels.Map<T, Kernels.Exp<T>>(x, y);

        public static T Derivative(T x, T y) => y;

        public static Vector256<T> Derivative(Vector256<T> x, Vector256<T> y) => y;

        // The 512-bit form of the member above, lane for lane the same operations.
        public static Vector512<T> Derivative(Vector512<T> x, Vector512<T> y) => y;
    }

    /// <summary><c>log(x)</c>; derivative <c>1/x</c>.</summary>
    public readonly struct Log<T> : IUnaryFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static void Map(ReadOnlySpan<T> x, Span<T> y) => TensorPrimitives.Log(x, y);

        public static T Derivative(T x, T y) => T.One / x;

        public static Vector256<T> Derivative(Vector256<T> x, Vector256<T> y) => Vector256<T>.One / x;

        // The 512-bit form of the member above, lane for lane the same operations.
        public static Vector512<T> Derivative(Vector512<T> x, Vector512<T> y) => Vector512<T>.One / x;
    }

    /// <summary><c>tanh(x)</c>; derivative <c>1 − y²</c>.</summary>
    public readonly struct Tanh<T> : IUnaryFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Element by element with the exact scalar tanh: TensorPrimitives.Tanh goes through a vector exp that redoes a whole
        // vector in scalar code when any lane has |2x| > 708, so an element's bits depended on its neighbours (and on the
        // buffer's alignment and the JIT tier): InvertibleResidual's recording and non-recording passes differed in the
        // last bit. VectorMath.Tanh is lane-independent but only absolutely accurate near 0, where a residual block
        // needs relative accuracy.
        public static void Map(ReadOnlySpan<T> x, Span<T> y)
        {
            for (int i = 0; i < x.Length; i++)
            {
                y[i] = T.Tanh(x[i]);
            }
        }

        public static T Derivative(T x, T y) => T.One - (y * y);

        public static Vector256<T> Derivative(Vector256<T> x, Vector256<T> y) => Vector256<T>.One - (y * y);

        // The 512-bit form of the member above, lane for lane the same operations.
        public static Vector512<T> Derivative(Vector512<T> x, Vector512<T> y) => Vector512<T>.One - (y * y);
    }

    /// <summary>The logistic sigmoid <c>1/(1 + exp(−x))</c>; derivative <c>y(1 − y)</c>.</summary>
    public readonly struct Sigmoid<T> : IUnaryFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static void Map(ReadOnlySpan<T> x, Span<T> y) => Kernels.Map<T, Kernels.Sigmoid<T>>(x, y);

        public static T Derivative(T x, T y) => y * (T.One - y);

        public static Vector256<T> Derivative(Vector256<T> x, Vector256<T> y) => y * (Vector256<T>.One - y);

        // The 512-bit form of the member above, lane for lane the same operations.
        public static Vector512<T> Derivative(Vector512<T> x, Vector512<T> y) => y * (Vector512<T>.One - y);
    }

    /// <summary><c>softplus(x) = log(1 + exp(x))</c>, computed without overflow; derivative <c>sigmoid(x)</c>.</summary>
    public readonly struct Softplus<T> : IUnaryFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static void Map(ReadOnlySpan<T> x, Span<T> y) => Kernels.Map<T, Kernels.Softplus<T>>(x, y);

        public static T Derivative(T x, T y) => Scalar.Sigmoid(x);

        public static Vector256<T> Derivative(Vector256<T> x, Vector256<T> y) => Kernels.Sigmoid<T>.Invoke(x);

        // The 512-bit form of the member above, lane for lane the same operations.
        public static Vector512<T> Derivative(Vector512<T> x, Vector512<T> y) => Kernels.Sigmoid<T>.Invoke(x);
    }

    /// <summary><c>max(x, 0)</c>; derivative 1 for x &gt; 0, else 0.</summary>
    public readonly struct Relu<T> : IUnaryFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static void Map(ReadOnlySpan<T> x, Span<T> y) => TensorPrimitives.Max(x, T.Zero, y);

        public static T Derivative(T x, T y) => x > T.Zero ? T.One : T.Zero;

        public static Vector256<T> Derivative(Vector256<T> x, Vector256<T> y)
            => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero), Vector256<T>.One, Vector256<T>.Zero);

        // The 512-bit form of the member above, lane for lane the same operations.
        public static Vector512<T> Derivative(Vector512<T> x, Vector512<T> y)
            => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero), Vector512<T>.One, Vector512<T>.Zero);
    }
}
