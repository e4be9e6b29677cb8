using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

internal static partial class Gemm
{
    // C[0..MR, 0..NR] (+)= A[0..MR, 0..kc] · B[0..kc, 0..NR], where A(r, p) = a[r·rsA + p·csA] (a packed panel has
    // rsA = 1, csA = MR) and B is a packed micro-panel with rows of NR. With add false, C is overwritten, never read.
    // The epilogue's bias (NR values; only with add false) and ReLU are applied as the tile is stored.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MicroKernel<T>(int bits, int kc, ref T a, nint rsA, nint csA, ref T b, ref T c, nint ldc, bool add, Epilogue<T> epilogue)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (bits == 512)
        {
            MicroKernel512(kc, ref a, rsA, csA, ref b, ref c, ldc, add, epilogue);
        }
        else if (bits == 256)
        {
            MicroKernel256(kc, ref a, rsA, csA, ref b, ref c, ldc, add, epilogue);
        }
        else
        {
            // At 128 bits (no AVX2) the tile is done as two halves of MR × 2 Vector128s each.
            int quarter = Vector128<T>.Count;
            MicroKernel128(kc, ref a, rsA, csA, ref b, 4 * quarter, ref c, ldc, add, epilogue);
            MicroKernel128(kc, ref a, rsA, csA, ref Unsafe.Add(ref b, 2 * quarter), 4 * quarter, ref Unsafe.Add(ref c, 2 * quarter), ldc, add, epilogue.At(2 * quarter));
        }
    }

    // 6 × 2 accumulators, 2 loads of B and 1 broadcast of A: 15 of the 16 ymm registers.
    private static void MicroKernel256<T>(int kc, ref T a, nint rsA, nint csA, ref T b, ref T c, nint ldc, bool add, Epilogue<T> epilogue)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nuint w = (nuint)Vector256<T>.Count;
        nint nr = 2 * Vector256<T>.Count;
        nint rs2 = 2 * rsA;
        nint rs3 = 3 * rsA;
        nint rs4 = 4 * rsA;
        nint rs5 = 5 * rsA;
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<T> b0 = Vector256.LoadUnsafe(ref b);
            Vector256<T> b1 = Vector256.LoadUnsafe(ref b, w);
            Vector256<T> ai = Vector256.Create(a);
            c00 = MultiplyAdd(ai, b0, c00);
            c01 = MultiplyAdd(ai, b1, c01);
            ai = Vector256.Create(Unsafe.Add(ref a, rsA));
            c10 = MultiplyAdd(ai, b0, c10);
            c11 = MultiplyAdd(ai, b1, c11);
            ai = Vector256.Create(Unsafe.Add(ref a, rs2));
            c20 = MultiplyAdd(ai, b0, c20);
            c21 = MultiplyAdd(ai, b1, c21);
            ai = Vector256.Create(Unsafe.Add(ref a, rs3));
            c30 = MultiplyAdd(ai, b0, c30);
            c31 = MultiplyAdd(ai, b1, c31);
            ai = Vector256.Create(Unsafe.Add(ref a, rs4));
            c40 = MultiplyAdd(ai, b0, c40);
            c41 = MultiplyAdd(ai, b1, c41);
            ai = Vector256.Create(Unsafe.Add(ref a, rs5));
            c50 = MultiplyAdd(ai, b0, c50);
            c51 = MultiplyAdd(ai, b1, c51);
            a = ref Unsafe.Add(ref a, csA);
            b = ref Unsafe.Add(ref b, nr);
        }

        if (epilogue.HasBias)
        {
            Vector256<T> bias0 = Vector256.LoadUnsafe(ref epilogue.Bias);
            Vector256<T> bias1 = Vector256.LoadUnsafe(ref epilogue.Bias, w);
            c00 += bias0; c01 += bias1; c10 += bias0; c11 += bias1; c20 += bias0; c21 += bias1;
            c30 += bias0; c31 += bias1; c40 += bias0; c41 += bias1; c50 += bias0; c51 += bias1;
        }

        bool relu = epilogue.Relu;
        Store(c00, c01, ref c, w, add, relu);
        Store(c10, c11, ref Unsafe.Add(ref c, ldc), w, add, relu);
        Store(c20, c21, ref Unsafe.Add(ref c, 2 * ldc), w, add, relu);
        Store(c30, c31, ref Unsafe.Add(ref c, 3 * ldc), w, add, relu);
        Store(c40, c41, ref Unsafe.Add(ref c, 4 * ldc), w, add, relu);
        Store(c50, c51, ref Unsafe.Add(ref c, 5 * ldc), w, add, relu);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(Vector256<T> left, Vector256<T> right, ref T c, nuint w, bool add, bool relu)
    {
        if (add)
        {
            left = Vector256.LoadUnsafe(ref c) + left;
            right = Vector256.LoadUnsafe(ref c, w) + right;
        }

        if (relu)
        {
            left = Vector256.Max(left, Vector256<T>.Zero);
            right = Vector256.Max(right, Vector256<T>.Zero);
        }

        left.StoreUnsafe(ref c);
        right.StoreUnsafe(ref c, w);
    }

    // The same 6 × 2 tile of 512-bit vectors (AVX-512): 12 accumulators and 3 operands of the 32 zmm registers, twice the
    // columns and multiply-adds per step of k of the 256-bit kernel for the same loads of A.
    private static void MicroKernel512<T>(int kc, ref T a, nint rsA, nint csA, ref T b, ref T c, nint ldc, bool add, Epilogue<T> epilogue)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nuint w = (nuint)Vector512<T>.Count;
        nint nr = 2 * Vector512<T>.Count;
        nint rs2 = 2 * rsA;
        nint rs3 = 3 * rsA;
        nint rs4 = 4 * rsA;
        nint rs5 = 5 * rsA;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<T> b0 = Vector512.LoadUnsafe(ref b);
            Vector512<T> b1 = Vector512.LoadUnsafe(ref b, w);
            Vector512<T> ai = Vector512.Create(a);
            c00 = MultiplyAdd(ai, b0, c00);
            c01 = MultiplyAdd(ai, b1, c01);
            ai = Vector512.Create(Unsafe.Add(ref a, rsA));
            c10 = MultiplyAdd(ai, b0, c10);
            c11 = MultiplyAdd(ai, b1, c11);
            ai = Vector512.Create(Unsafe.Add(ref a, rs2));
            c20 = MultiplyAdd(ai, b0, c20);
            c21 = MultiplyAdd(ai, b1, c21);
            ai = Vector512.Create(Unsafe.Add(ref a, rs3));
            c30 = MultiplyAdd(ai, b0, c30);
            c31 = MultiplyAdd(ai, b1, c31);
            ai = Vector512.Create(Unsafe.Add(ref a, rs4));
            c40 = MultiplyAdd(ai, b0, c40);
            c41 = MultiplyAdd(ai, b1, c41);
            ai = Vector512.Create(Unsafe.Add(ref a, rs5));
            c50 = MultiplyAdd(ai, b0, c50);
            c51 = MultiplyAdd(ai, b1, c51);
            a = ref Unsafe.Add(ref a, csA);
            b = ref Unsafe.Add(ref b, nr);
        }

        if (epilogue.HasBias)
        {
            Vector512<T> bias0 = Vector512.LoadUnsafe(ref epilogue.Bias);
            Vector512<T> bias1 = Vector512.LoadUnsafe(ref epilogue.Bias, w);
            c00 += bias0; c01 += bias1; c10 += bias0; c11 += bias1; c20 += bias0; c21 += bias1;
            c30 += bias0; c31 += bias1; c40 += bias0; c41 += bias1; c50 += bias0; c51 += bias1;
        }

        bool relu = epilogue.Relu;
        Store(c00, c01, ref c, w, add, relu);
        Store(c10, c11, ref Unsafe.Add(ref c, ldc), w, add, relu);
        Store(c20, c21, ref Unsafe.Add(ref c, 2 * ldc), w, add, relu);
        Store(c30, c31, ref Unsafe.Add(ref c, 3 * ldc), w, add, relu);
        Store(c40, c41, ref Unsafe.Add(ref c, 4 * ldc), w, add, relu);
        Store(c50, c51, ref Unsafe.Add(ref c, 5 * ldc), w, add, relu);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(Vector512<T> left, Vector512<T> right, ref T c, nuint w, bool add, bool relu)
    {
        if (add)
        {
            left = Vector512.LoadUnsafe(ref c) + left;
            right = Vector512.LoadUnsafe(ref c, w) + right;
        }

        if (relu)
        {
            left = Vector512.Max(left, Vector512<T>.Zero);
            right = Vector512.Max(right, Vector512<T>.Zero);
        }

        left.StoreUnsafe(ref c);
        right.StoreUnsafe(ref c, w);
    }

    // The same tile shape with 128-bit vectors (SSE, AdvSimd): 6 × 2 accumulators over half the columns of a panel
    // whose rows are bStride apart.
    private static void MicroKernel128<T>(int kc, ref T a, nint rsA, nint csA, ref T b, nint bStride, ref T c, nint ldc, bool add, Epilogue<T> epilogue)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nuint w = (nuint)Vector128<T>.Count;
        Vector128<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector128<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector128<T> b0 = Vector128.LoadUnsafe(ref b);
            Vector128<T> b1 = Vector128.LoadUnsafe(ref b, w);
            Vector128<T> ai = Vector128.Create(a);
            c00 = MultiplyAdd(ai, b0, c00);
            c01 = MultiplyAdd(ai, b1, c01);
            ai = Vector128.Create(Unsafe.Add(ref a, rsA));
            c10 = MultiplyAdd(ai, b0, c10);
            c11 = MultiplyAdd(ai, b1, c11);
            ai = Vector128.Create(Unsafe.Add(ref a, 2 * rsA));
            c20 = MultiplyAdd(ai, b0, c20);
            c21 = MultiplyAdd(ai, b1, c21);
            ai = Vector128.Create(Unsafe.Add(ref a, 3 * rsA));
            c30 = MultiplyAdd(ai, b0, c30);
            c31 = MultiplyAdd(ai, b1, c31);
            ai = Vector128.Create(Unsafe.Add(ref a, 4 * rsA));
            c40 = MultiplyAdd(ai, b0, c40);
            c41 = MultiplyAdd(ai, b1, c41);
            ai = Vector128.Create(Unsafe.Add(ref a, 5 * rsA));
            c50 = MultiplyAdd(ai, b0, c50);
            c51 = MultiplyAdd(ai, b1, c51);
            a = ref Unsafe.Add(ref a, csA);
            b = ref Unsafe.Add(ref b, bStride);
        }

        if (epilogue.HasBias)
        {
            Vector128<T> bias0 = Vector128.LoadUnsafe(ref epilogue.Bias);
            Vector128<T> bias1 = Vector128.LoadUnsafe(ref epilogue.Bias, w);
            c00 += bias0; c01 += bias1; c10 += bias0; c11 += bias1; c20 += bias0; c21 += bias1;
            c30 += bias0; c31 += bias1; c40 += bias0; c41 += bias1; c50 += bias0; c51 += bias1;
        }

        bool relu = epilogue.Relu;
        Store(c00, c01, ref c, w, add, relu);
        Store(c10, c11, ref Unsafe.Add(ref c, ldc), w, add, relu);
        Store(c20, c21, ref Unsafe.Add(ref c, 2 * ldc), w, add, relu);
        Store(c30, c31, ref Unsafe.Add(ref c, 3 * ldc), w, add, relu);
        Store(c40, c41, ref Unsafe.Add(ref c, 4 * ldc), w, add, relu);
        Store(c50, c51, ref Unsafe.Add(ref c, 5 * ldc), w, add, relu);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(Vector128<T> left, Vector128<T> right, ref T c, nuint w, bool add, bool relu)
    {
        if (add)
        {
            left = Vector128.LoadUnsafe(ref c) + left;
            right = Vector128.LoadUnsafe(ref c, w) + right;
        }

        if (relu)
        {
            left = Vector128.Max(left, Vector128<T>.Zero);
            right = Vector128.Max(right, Vector128<T>.Zero);
        }

        left.StoreUnsafe(ref c);
        right.StoreUnsafe(ref c, w);
    }

    // x·y + z, fused where the hardware has FMA (the JIT folds the type tests away per element type).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> MultiplyAdd<T>(Vector256<T> x, Vector256<T> y, Vector256<T> z)
    {
        if (typeof(T) == typeof(double))
        {
            return Vector256.MultiplyAddEstimate(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
        }

        if (typeof(T) == typeof(float))
        {
            return Vector256.MultiplyAddEstimate(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        }

        return (x * y) + z;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> MultiplyAdd<T>(Vector512<T> x, Vector512<T> y, Vector512<T> z)
    {
        if (typeof(T) == typeof(double))
        {
            return Vector512.MultiplyAddEstimate(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
        }

        if (typeof(T) == typeof(float))
        {
            return Vector512.MultiplyAddEstimate(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        }

        return (x * y) + z;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<T> MultiplyAdd<T>(Vector128<T> x, Vector128<T> y, Vector128<T> z)
    {
        if (typeof(T) == typeof(double))
        {
            return Vector128.MultiplyAddEstimate(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
        }

        if (typeof(T) == typeof(float))
        {
            return Vector128.MultiplyAddEstimate(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        }

        return (x * y) + z;
    }
}
