using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

internal static partial class Kernels
{
    /// <summary><c>softplus(x) = log(1 + exp(x))</c> as <c>max(x, 0) + log1p(exp(−|x|))</c>: no overflow, exact for large |x|.</summary>
    /// <remarks>The vector log1p is the rounding-corrected one (<see cref="VectorMath.LogP1NonNegative{T}(System.Runtime.Intrinsics.Vector256{T})"/>), so
    /// softplus(x) ≈ eˣ keeps its relative accuracy far into the negative tail.</remarks>
    public readonly struct Softplus<T> : IElementwiseKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x) => Scalar.Softplus(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> Invoke(Vector256<T> x)
            => Vector256.Max(x, Vector256<T>.Zero) + VectorMath.LogP1NonNegative(VectorMath.Exp(-Vector256.Abs(x)));

        // The 512-bit form of the member above, lane for lane the same operations.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> Invoke(Vector512<T> x)
            => Vector512.Max(x, Vector512<T>.Zero) + VectorMath.LogP1NonNegative(VectorMath.Exp(-Vector512.Abs(x)));
    }
}
