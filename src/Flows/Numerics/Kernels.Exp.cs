using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

internal static partial class Kernels
{
    /// <summary><c>exp(x)</c> with every lane computed on its own (<see cref="VectorMath.Exp{T}(Vector256{T})"/>).</summary>
    /// <remarks>
    /// TensorPrimitives.Exp redoes a whole vector in scalar code when any lane leaves its fast range (|x| &gt; 708 in
    /// double), so an element's last bit would depend on its neighbours and, through them, on the buffer's alignment,
    /// the vector width and the JIT tier. Run through the one-input <c>Map</c>, every element takes this path.
    /// </remarks>
    public readonly struct Exp<T> : IElementwiseKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x) => T.Exp(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> Invoke(Vector256<T> x) => VectorMath.Exp(x);

        // The 512-bit form of the member above, lane for lane the same operations.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> Invoke(Vector512<T> x) => VectorMath.Exp(x);
    }
}
