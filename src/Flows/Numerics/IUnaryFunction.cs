using System.Numerics;

namespace Flows.Numerics;

/// <summary>
/// An elementwise function declared by its value and its derivative, run by one generic driver (no virtual call,
/// delegate or closure per element).
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal interface IUnaryFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Writes <c>y[i] = f(x[i])</c>; vectorized where TensorPrimitives has the function.</summary>
    static abstract void Map(ReadOnlySpan<T> x, Span<T> y);

    /// <summary><c>f′(x)</c>, which may use the saved output <c>y = f(x)</c>.</summary>
    static abstract T Derivative(T x, T y);
}
