using System.Numerics;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

/// <summary>
/// A fused elementwise map <c>y = f(x)</c> declared once per element type, in scalar and vector form, and run by one
/// generic driver (<c>Kernels.Map</c>): no virtual call, delegate or closure per element.
/// </summary>
/// <remarks>The two forms must agree to rounding; the driver uses the vector form for every element whenever the
/// hardware has it (the tail too), so a row's result never depends on which rows share its batch.</remarks>
/// <typeparam name="T">The element type.</typeparam>
internal interface IElementwiseKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary><c>f(x)</c>.</summary>
    static abstract T Invoke(T x);

    /// <summary><c>f</c> on each lane.</summary>
    static abstract Vector256<T> Invoke(Vector256<T> x);

    // The 512-bit form of the member above, lane for lane the same operations.
    static abstract Vector512<T> Invoke(Vector512<T> x);
}

/// <summary>A fused elementwise map of two inputs, <c>z = f(x, y)</c>, in scalar and vector form.</summary>
/// <typeparam name="T">The element type.</typeparam>
internal interface IBinaryElementwiseKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary><c>f(x, y)</c>.</summary>
    static abstract T Invoke(T x, T y);

    /// <summary><c>f</c> on each pair of lanes.</summary>
    static abstract Vector256<T> Invoke(Vector256<T> x, Vector256<T> y);

    // The 512-bit form of the member above, lane for lane the same operations.
    static abstract Vector512<T> Invoke(Vector512<T> x, Vector512<T> y);
}
