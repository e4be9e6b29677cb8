using System.Numerics;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

/// <summary>
/// An elementwise function declared by its value and its derivative, run by one generic driver (no virtual call,
/// delegate or closure per element).
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal interface IUnaryFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Writes <c>y[i] = f(x[i])</c>; vectorized through TensorPrimitives or a fused kernel.</summary>
    static abstract void Map(ReadOnlySpan<T> x, Span<T> y);

    /// <summary><c>f′(x)</c>, which may use the saved output <c>y = f(x)</c>.</summary>
    static abstract T Derivative(T x, T y);

    /// <summary><c>f′(x)</c> on each lane, which may use the saved output <c>y = f(x)</c>.</summary>
    static abstract Vector256<T> Derivative(Vector256<T> x, Vector256<T> y);

    // The 512-bit form of the member above, lane for lane the same operations.
    static abstract Vector512<T> Derivative(Vector512<T> x, Vector512<T> y);
}

/// <summary>The derivative of <typeparamref name="TFunction"/> as a binary kernel <c>(x, y) ↦ f′(x)</c>.</summary>
/// <typeparam name="T">The element type.</typeparam>
/// <typeparam name="TFunction">The function.</typeparam>
internal readonly struct DerivativeOf<T, TFunction> : IBinaryElementwiseKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TFunction : IUnaryFunction<T>
{
    public static T Invoke(T x, T y) => TFunction.Derivative(x, y);

    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> y) => TFunction.Derivative(x, y);

    // The 512-bit form of the member above, lane for lane the same operations.
    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> y) => TFunction.Derivative(x, y);
}
