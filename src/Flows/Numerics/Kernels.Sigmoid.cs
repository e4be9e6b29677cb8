using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

internal static partial class Kernels
{
    /// <summary>The logistic sigmoid <c>1/(1 + exp(−x))</c>, evaluated on the side that cannot overflow.</summary>
    /// <remarks>With e = exp(−|x|): 1/(1 + e) for x ≥ 0 and e/(1 + e) for x &lt; 0, as <see cref="Scalar.Sigmoid{T}"/>.</remarks>
    public readonly struct Sigmoid<T> : IElementwiseKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x) => Scalar.Sigmoid(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> Invoke(Vector256<T> x)
        {
            Vector256<T> e = VectorMath.Exp(-Vector256.Abs(x));
            Vector256<T> denominator = Vector256<T>.One + e;
            return Vector256.ConditionalSelect(
                Vector256.GreaterThanOrEqual(x, Vector256<T>.Zero), Vector256<T>.One / denominator, e / denominator);
        }

        // The 512-bit form of the member above, lane for lane the same operations.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> Invoke(Vector512<T> x)
        {
            Vector512<T> e = VectorMath.Exp(-Vector512.Abs(x));
            Vector512<T> denominator = Vector512<T>.One + e;
            return Vector512.ConditionalSelect(
                Vector512.GreaterThanOrEqual(x, Vector512<T>.Zero), Vector512<T>.One / denominator, e / denominator);
        }
    }
}
