using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

/// <summary>The generic drivers that run fused elementwise kernels over spans.</summary>
/// <remarks>Each driver picks the width (<see cref="VectorWidth"/>) and runs one body written over
/// <see cref="ISimdLanes{TSelf, T}"/>, which the JIT compiles once per width (256 and 512 bits).</remarks>
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
            MapAt<T, TKernel, Lanes512<T>>(x, y);
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            MapAt<T, TKernel, Lanes256<T>>(x, y);
        }
        else
        {
            for (int i = 0; i < x.Length; i++)
            {
                y[i] = TKernel.Invoke(x[i]);
            }
        }
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
            MapAt<T, TKernel, Lanes512<T>>(x, y, z);
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            MapAt<T, TKernel, Lanes256<T>>(x, y, z);
        }
        else
        {
            for (int i = 0; i < z.Length; i++)
            {
                z[i] = TKernel.Invoke(x[i], y[i]);
            }
        }
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
            MultiplyAddDerivativeAt<T, TDerivative, Lanes512<T>>(x, y, g, gx);
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            MultiplyAddDerivativeAt<T, TDerivative, Lanes256<T>>(x, y, g, gx);
        }
        else
        {
            for (int i = 0; i < gx.Length; i++)
            {
                gx[i] += g[i] * TDerivative.Invoke(x[i], y[i]);
            }
        }
    }

    // The unary Map at the width of TLanes.
    private static void MapAt<T, TKernel, TLanes>(ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TKernel : IElementwiseKernel<T>
        where TLanes : unmanaged, ISimdLanes<TLanes, T>
    {
        int length = x.Length;
        int count = TLanes.Count;
        if (length < count)
        {
            if (length > 0)
            {
                Span<T> buffer = stackalloc T[TLanes.Count];
                buffer.Clear();
                x.CopyTo(buffer);
                TLanes.Apply<TKernel>(TLanes.Create(buffer)).Store(ref MemoryMarshal.GetReference(buffer), 0);
                buffer[..length].CopyTo(y);
            }

            return;
        }

        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        nuint last = (nuint)(length - count);
        TLanes tail = TLanes.Apply<TKernel>(TLanes.Load(ref xr, last));
        for (nuint i = 0; i < last; i += (nuint)count)
        {
            TLanes.Apply<TKernel>(TLanes.Load(ref xr, i)).Store(ref yr, i);
        }

        tail.Store(ref yr, last);
    }

    // The binary Map at the width of TLanes.
    private static void MapAt<T, TKernel, TLanes>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TKernel : IBinaryElementwiseKernel<T>
        where TLanes : unmanaged, ISimdLanes<TLanes, T>
    {
        int length = z.Length;
        int count = TLanes.Count;
        if (length < count)
        {
            if (length > 0)
            {
                Span<T> buffer = stackalloc T[2 * TLanes.Count];
                Span<T> xb = buffer[..count];
                Span<T> yb = buffer.Slice(count, count);
                xb.Clear();
                yb.Clear();
                x.CopyTo(xb);
                y.CopyTo(yb);
                TLanes.Apply<TKernel>(TLanes.Create(xb), TLanes.Create(yb)).Store(ref MemoryMarshal.GetReference(xb), 0);
                xb[..length].CopyTo(z);
            }

            return;
        }

        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        ref T zr = ref MemoryMarshal.GetReference(z);
        nuint last = (nuint)(length - count);
        TLanes tail = TLanes.Apply<TKernel>(TLanes.Load(ref xr, last), TLanes.Load(ref yr, last));
        for (nuint i = 0; i < last; i += (nuint)count)
        {
            TLanes.Apply<TKernel>(TLanes.Load(ref xr, i), TLanes.Load(ref yr, i)).Store(ref zr, i);
        }

        tail.Store(ref zr, last);
    }

    // MultiplyAddDerivative at the width of TLanes.
    private static void MultiplyAddDerivativeAt<T, TDerivative, TLanes>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> g, Span<T> gx)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TDerivative : IBinaryElementwiseKernel<T>
        where TLanes : unmanaged, ISimdLanes<TLanes, T>
    {
        int length = gx.Length;
        int count = TLanes.Count;
        if (length < count)
        {
            if (length > 0)
            {
                // Pads of x = y = 1 keep every f′ finite; pads of g = 0 contribute nothing and are not written back.
                Span<T> buffer = stackalloc T[4 * TLanes.Count];
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
                TLanes sum = TLanes.Create(gxb) + (TLanes.Create(gb) * TLanes.Apply<TDerivative>(TLanes.Create(xb), TLanes.Create(yb)));
                sum.Store(ref MemoryMarshal.GetReference(gxb), 0);
                gxb[..length].CopyTo(gx);
            }

            return;
        }

        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        ref T gr = ref MemoryMarshal.GetReference(g);
        ref T gxr = ref MemoryMarshal.GetReference(gx);
        nuint last = (nuint)(length - count);
        TLanes tail = TLanes.Load(ref gxr, last) + (TLanes.Load(ref gr, last) * TLanes.Apply<TDerivative>(TLanes.Load(ref xr, last), TLanes.Load(ref yr, last)));
        for (nuint i = 0; i < last; i += (nuint)count)
        {
            TLanes sum = TLanes.Load(ref gxr, i) + (TLanes.Load(ref gr, i) * TLanes.Apply<TDerivative>(TLanes.Load(ref xr, i), TLanes.Load(ref yr, i)));
            sum.Store(ref gxr, i);
        }

        tail.Store(ref gxr, last);
    }
}
