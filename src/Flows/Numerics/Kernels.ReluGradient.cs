using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

internal static partial class Kernels
{
    /// <summary>ReLU's backward step from its output, in place: <c>g[i] = y[i] &gt; 0 ? g[i] : 0</c>.</summary>
    /// <remarks>A select, not a product with the derivative, so an infinite gradient of an inactive unit gives 0, not NaN.</remarks>
    public static void ReluGradient<T>(ReadOnlySpan<T> y, Span<T> g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(y.Length == g.Length);
        int i = 0;
        if (VectorWidth.Current == 512 && Vector512<T>.IsSupported)
        {
            ref T yr = ref MemoryMarshal.GetReference(y);
            ref T gr = ref MemoryMarshal.GetReference(g);
            for (; i <= y.Length - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                Vector512<T> active = Vector512.GreaterThan(Vector512.LoadUnsafe(ref yr, (nuint)i), Vector512<T>.Zero);
                (Vector512.LoadUnsafe(ref gr, (nuint)i) & active).StoreUnsafe(ref gr, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            ref T yr = ref MemoryMarshal.GetReference(y);
            ref T gr = ref MemoryMarshal.GetReference(g);
            for (; i <= y.Length - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                Vector256<T> active = Vector256.GreaterThan(Vector256.LoadUnsafe(ref yr, (nuint)i), Vector256<T>.Zero);
                (Vector256.LoadUnsafe(ref gr, (nuint)i) & active).StoreUnsafe(ref gr, (nuint)i);
            }
        }

        for (; i < y.Length; i++)
        {
            if (!(y[i] > T.Zero))
            {
                g[i] = T.Zero;
            }
        }
    }
}
