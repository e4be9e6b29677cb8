using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

/// <summary>The generic drivers that run fused elementwise kernels over spans.</summary>
internal static partial class Kernels
{
    /// <summary><c>y[i] = f(x[i])</c> for a kernel <typeparamref name="TKernel"/>; <paramref name="y"/> may be <paramref name="x"/>.</summary>
    /// <remarks>
    /// Whole vectors, then a vector tail: the last <c>Count</c> elements are computed from the inputs before the loop
    /// writes anything and stored after it, so the overlap is rewritten with the same values (and in-place calls stay
    /// correct). Spans shorter than one vector run through a padded vector. Every element thus takes the vector path
    /// whenever the hardware has it, and a row's result never depends on the batch it sits in.
    /// </remarks>
    public static void Map<T, TKernel>(ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TKernel : IElementwiseKernel<T>
    {
        Debug.Assert(x.Length == y.Length);
        if (VectorWidth.Current == 512 && Vector512<T>.IsSupported)
        {
            Map512<T, TKernel>(x, y);
            return;
        }

        int length = x.Length;
        if (!Vector256.IsHardwareAccelerated || !Vector256<T>.IsSupported)
        {
            for (int i = 0; i < length; i++)
            {
                y[i] = TKernel.Invoke(x[i]);
            }

            return;
        }

        int count = Vector256<T>.Count;
        if (length < count)
        {
            if (length > 0)
            {
                Span<T> buffer = stackalloc T[Vector256<T>.Count];
                buffer.Clear();
                x.CopyTo(buffer);
                TKernel.Invoke(Vector256.Create<T>(buffer)).CopyTo(buffer);
                buffer[..length].CopyTo(y);
            }

            return;
        }

        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        nuint last = (nuint)(length - count);
        Vector256<T> tail = TKernel.Invoke(Vector256.LoadUnsafe(ref xr, last));
        for (nuint i = 0; i < last; i += (nuint)count)
        {
            TKernel.Invoke(Vector256.LoadUnsafe(ref xr, i)).StoreUnsafe(ref yr, i);
        }

        tail.StoreUnsafe(ref yr, last);
    }

    /// <summary><c>z[i] = f(x[i], y[i])</c> for a kernel <typeparamref name="TKernel"/>; <paramref name="z"/> may be an input.</summary>
    /// <remarks>The same whole-vector, preloaded-tail and padded-short scheme as the unary <c>Map</c>.</remarks>
    public static void Map<T, TKernel>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TKernel : IBinaryElementwiseKernel<T>
    {
        Debug.Assert(x.Length == z.Length && y.Length == z.Length);
        if (VectorWidth.Current == 512 && Vector512<T>.IsSupported)
        {
            Map512<T, TKernel>(x, y, z);
            return;
        }

        int length = z.Length;
        if (!Vector256.IsHardwareAccelerated || !Vector256<T>.IsSupported)
        {
            for (int i = 0; i < length; i++)
            {
                z[i] = TKernel.Invoke(x[i], y[i]);
            }

            return;
        }

        int count = Vector256<T>.Count;
        if (length < count)
        {
            if (length > 0)
            {
                Span<T> buffer = stackalloc T[2 * Vector256<T>.Count];
                Span<T> xb = buffer[..count];
                Span<T> yb = buffer.Slice(count, count);
                xb.Clear();
                yb.Clear();
                x.CopyTo(xb);
                y.CopyTo(yb);
                TKernel.Invoke(Vector256.Create<T>(xb), Vector256.Create<T>(yb)).CopyTo(xb);
                xb[..length].CopyTo(z);
            }

            return;
        }

        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        ref T zr = ref MemoryMarshal.GetReference(z);
        nuint last = (nuint)(length - count);
        Vector256<T> tail = TKernel.Invoke(Vector256.LoadUnsafe(ref xr, last), Vector256.LoadUnsafe(ref yr, last));
        for (nuint i = 0; i < last; i += (nuint)count)
        {
            TKernel.Invoke(Vector256.LoadUnsafe(ref xr, i), Vector256.LoadUnsafe(ref yr, i)).StoreUnsafe(ref zr, i);
        }

        tail.StoreUnsafe(ref zr, last);
    }

    /// <summary>
    /// <c>gx[i] += g[i] · f′(x[i], y[i])</c> with <typeparamref name="TDerivative"/> giving <c>f′(x, y)</c>: the
    /// backward pass of an elementwise function. <paramref name="gx"/> must not overlap the inputs.
    /// </summary>
    /// <remarks>The same whole-vector, preloaded-tail and padded-short scheme as the unary <c>Map</c>: the
    /// overlap of the tail is accumulated once, because the tail's sums are formed from the gradient as it was.</remarks>
    public static void MultiplyAddDerivative<T, TDerivative>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> g, Span<T> gx)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TDerivative : IBinaryElementwiseKernel<T>
    {
        Debug.Assert(x.Length == gx.Length && y.Length == gx.Length && g.Length == gx.Length);
        if (VectorWidth.Current == 512 && Vector512<T>.IsSupported)
        {
            MultiplyAddDerivative512<T, TDerivative>(x, y, g, gx);
            return;
        }

        int length = gx.Length;
        if (!Vector256.IsHardwareAccelerated || !Vector256<T>.IsSupported)
        {
            for (int i = 0; i < length; i++)
            {
                gx[i] += g[i] * TDerivative.Invoke(x[i], y[i]);
            }

            return;
        }

        int count = Vector256<T>.Count;
        if (length < count)
        {
            if (length > 0)
            {
                // Pads of x = y = 1 keep every f′ finite; pads of g = 0 contribute nothing and are not written back.
                Span<T> buffer = stackalloc T[4 * Vector256<T>.Count];
                Span<T> xb = buffer[..count];
                Span<T> yb = buffer.Slice(count, count);
                Span<T> gb = buffer.Slice(2 * count, count);
                Span<T> gxb = buffer.Slice(3 * count, count);
                xb.Fill(T.One);
                yb.Fill(T.One);
                gb.Clear();
                gxb.Clear();
                x.CopyTo(xb);
                y.CopyTo(yb);
                g.CopyTo(gb);
                gx.CopyTo(gxb);
                Vector256<T> sum = Vector256.Create<T>(gxb)
                    + (Vector256.Create<T>(gb) * TDerivative.Invoke(Vector256.Create<T>(xb), Vector256.Create<T>(yb)));
                sum.CopyTo(gxb);
                gxb[..length].CopyTo(gx);
            }

            return;
        }

        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        ref T gr = ref MemoryMarshal.GetReference(g);
        ref T gxr = ref MemoryMarshal.GetReference(gx);
        nuint last = (nuint)(length - count);
        Vector256<T> tail = Vector256.LoadUnsafe(ref gxr, last)
            + (Vector256.LoadUnsafe(ref gr, last) * TDerivative.Invoke(Vector256.LoadUnsafe(ref xr, last), Vector256.LoadUnsafe(ref yr, last)));
        for (nuint i = 0; i < last; i += (nuint)count)
        {
            Vector256<T> sum = Vector256.LoadUnsafe(ref gxr, i)
                + (Vector256.LoadUnsafe(ref gr, i) * TDerivative.Invoke(Vector256.LoadUnsafe(ref xr, i), Vector256.LoadUnsafe(ref yr, i)));
            sum.StoreUnsafe(ref gxr, i);
        }

        tail.StoreUnsafe(ref gxr, last);
    }

    // Map with 512-bit vectors: the same scheme, lane for lane the same operations.
    private static void Map512<T, TKernel>(ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TKernel : IElementwiseKernel<T>
    {
        Debug.Assert(x.Length == y.Length);
        int length = x.Length;

        int count = Vector512<T>.Count;
        if (length < count)
        {
            if (length > 0)
            {
                Span<T> buffer = stackalloc T[Vector512<T>.Count];
                buffer.Clear();
                x.CopyTo(buffer);
                TKernel.Invoke(Vector512.Create<T>(buffer)).CopyTo(buffer);
                buffer[..length].CopyTo(y);
            }

            return;
        }

        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        nuint last = (nuint)(length - count);
        Vector512<T> tail = TKernel.Invoke(Vector512.LoadUnsafe(ref xr, last));
        for (nuint i = 0; i < last; i += (nuint)count)
        {
            TKernel.Invoke(Vector512.LoadUnsafe(ref xr, i)).StoreUnsafe(ref yr, i);
        }

        tail.StoreUnsafe(ref yr, last);
    }

    // Map with 512-bit vectors: the same scheme, lane for lane the same operations.
    private static void Map512<T, TKernel>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TKernel : IBinaryElementwiseKernel<T>
    {
        Debug.Assert(x.Length == z.Length && y.Length == z.Length);
        int length = z.Length;

        int count = Vector512<T>.Count;
        if (length < count)
        {
            if (length > 0)
            {
                Span<T> buffer = stackalloc T[2 * Vector512<T>.Count];
                Span<T> xb = buffer[..count];
                Span<T> yb = buffer.Slice(count, count);
                xb.Clear();
                yb.Clear();
                x.CopyTo(xb);
                y.CopyTo(yb);
                TKernel.Invoke(Vector512.Create<T>(xb), Vector512.Create<T>(yb)).CopyTo(xb);
                xb[..length].CopyTo(z);
            }

            return;
        }

        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        ref T zr = ref MemoryMarshal.GetReference(z);
        nuint last = (nuint)(length - count);
        Vector512<T> tail = TKernel.Invoke(Vector512.LoadUnsafe(ref xr, last), Vector512.LoadUnsafe(ref yr, last));
        for (nuint i = 0; i < last; i += (nuint)count)
        {
            TKernel.Invoke(Vector512.LoadUnsafe(ref xr, i), Vector512.LoadUnsafe(ref yr, i)).StoreUnsafe(ref zr, i);
        }

        tail.StoreUnsafe(ref zr, last);
    }

    // MultiplyAddDerivative with 512-bit vectors: the same scheme, lane for lane the same operations.
    private static void MultiplyAddDerivative512<T, TDerivative>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> g, Span<T> gx)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TDerivative : IBinaryElementwiseKernel<T>
    {
        Debug.Assert(x.Length == gx.Length && y.Length == gx.Length && g.Length == gx.Length);
        int length = gx.Length;

        int count = Vector512<T>.Count;
        if (length < count)
        {
            if (length > 0)
            {
                // Pads of x = y = 1 keep every f′ finite; pads of g = 0 contribute nothing and are not written back.
                Span<T> buffer = stackalloc T[4 * Vector512<T>.Count];
                Span<T> xb = buffer[..count];
                Span<T> yb = buffer.Slice(count, count);
                Span<T> gb = buffer.Slice(2 * count, count);
                Span<T> gxb = buffer.Slice(3 * count, count);
                xb.Fill(T.One);
                yb.Fill(T.One);
                gb.Clear();
                gxb.Clear();
                x.CopyTo(xb);
                y.CopyTo(yb);
                g.CopyTo(gb);
                gx.CopyTo(gxb);
                Vector512<T> sum = Vector512.Create<T>(gxb)
                    + (Vector512.Create<T>(gb) * TDerivative.Invoke(Vector512.Create<T>(xb), Vector512.Create<T>(yb)));
                sum.CopyTo(gxb);
                gxb[..length].CopyTo(gx);
            }

            return;
        }

        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        ref T gr = ref MemoryMarshal.GetReference(g);
        ref T gxr = ref MemoryMarshal.GetReference(gx);
        nuint last = (nuint)(length - count);
        Vector512<T> tail = Vector512.LoadUnsafe(ref gxr, last)
            + (Vector512.LoadUnsafe(ref gr, last) * TDerivative.Invoke(Vector512.LoadUnsafe(ref xr, last), Vector512.LoadUnsafe(ref yr, last)));
        for (nuint i = 0; i < last; i += (nuint)count)
        {
            Vector512<T> sum = Vector512.LoadUnsafe(ref gxr, i)
                + (Vector512.LoadUnsafe(ref gr, i) * TDerivative.Invoke(Vector512.LoadUnsafe(ref xr, i), Vector512.LoadUnsafe(ref yr, i)));
            sum.StoreUnsafe(ref gxr, i);
        }

        tail.StoreUnsafe(ref gxr, last);
    }
}
