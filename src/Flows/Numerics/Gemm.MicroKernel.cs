using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
            MicroKernel<T, Vector512<T>, Width512<T>>(kc, ref a, rsA, csA, ref b, 2 * Vector512<T>.Count, ref c, ldc, add, epilogue);
        }
        else if (bits == 256)
        {
            MicroKernel<T, Vector256<T>, Width256<T>>(kc, ref a, rsA, csA, ref b, 2 * Vector256<T>.Count, ref c, ldc, add, epilogue);
        }
        else
        {
            // At 128 bits (no AVX2) the tile is done as two halves of MR × 2 Vector128s each.
            int quarter = Vector128<T>.Count;
            MicroKernel<T, Vector128<T>, Width128<T>>(kc, ref a, rsA, csA, ref b, 4 * quarter, ref c, ldc, add, epilogue);
            MicroKernel<T, Vector128<T>, Width128<T>>(kc, ref a, rsA, csA, ref Unsafe.Add(ref b, 2 * quarter), 4 * quarter, ref Unsafe.Add(ref c, 2 * quarter), ldc, add, epilogue.At(2 * quarter));
        }
    }

    // 6 × 2 accumulators, 2 loads of B and 1 broadcast of A, over 2 vectors' columns of a packed micro-panel whose rows
    // are bStride apart: at 256 bits 15 of the 16 ymm registers; at 512 bits 15 of the 32 zmm registers, twice the columns
    // and multiply-adds per step of k for the same loads of A; at 128 bits half a panel of 4 Vector128s. One body for the
    // three widths, compiled per width. It runs on the vector types themselves through TWidth's static members, not on
    // ISimdLanes' wrapper structs: with the wrappers the JIT (.NET 10) no longer sees that each multiply-add's result goes
    // back into its accumulator and adds a register copy after every second one (30 instructions per step of k instead of
    // 24, in DOTNET_JitDisasm's listing).
    private static void MicroKernel<T, TVector, TWidth>(int kc, ref T a, nint rsA, nint csA, ref T b, nint bStride, ref T c, nint ldc, bool add, Epilogue<T> epilogue)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVector : unmanaged
        where TWidth : IVectorWidth<TVector, T>
    {
        nuint w = (nuint)TWidth.Count;
        nint rs2 = 2 * rsA;
        nint rs3 = 3 * rsA;
        nint rs4 = 4 * rsA;
        nint rs5 = 5 * rsA;
        if (add)
        {
            PrefetchTile(ref c, ldc, 2 * w);
        }

        TVector c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        TVector c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            TVector b0 = TWidth.Load(ref b, 0);
            TVector b1 = TWidth.Load(ref b, w);
            TVector ai = TWidth.Broadcast(a);
            c00 = TWidth.MultiplyAdd(ai, b0, c00);
            c01 = TWidth.MultiplyAdd(ai, b1, c01);
            ai = TWidth.Broadcast(Unsafe.Add(ref a, rsA));
            c10 = TWidth.MultiplyAdd(ai, b0, c10);
            c11 = TWidth.MultiplyAdd(ai, b1, c11);
            ai = TWidth.Broadcast(Unsafe.Add(ref a, rs2));
            c20 = TWidth.MultiplyAdd(ai, b0, c20);
            c21 = TWidth.MultiplyAdd(ai, b1, c21);
            ai = TWidth.Broadcast(Unsafe.Add(ref a, rs3));
            c30 = TWidth.MultiplyAdd(ai, b0, c30);
            c31 = TWidth.MultiplyAdd(ai, b1, c31);
            ai = TWidth.Broadcast(Unsafe.Add(ref a, rs4));
            c40 = TWidth.MultiplyAdd(ai, b0, c40);
            c41 = TWidth.MultiplyAdd(ai, b1, c41);
            ai = TWidth.Broadcast(Unsafe.Add(ref a, rs5));
            c50 = TWidth.MultiplyAdd(ai, b0, c50);
            c51 = TWidth.MultiplyAdd(ai, b1, c51);
            a = ref Unsafe.Add(ref a, csA);
            b = ref Unsafe.Add(ref b, bStride);
        }

        if (epilogue.HasBias)
        {
            TVector bias0 = TWidth.Load(ref epilogue.Bias, 0);
            TVector bias1 = TWidth.Load(ref epilogue.Bias, w);
            c00 = TWidth.Add(c00, bias0); c01 = TWidth.Add(c01, bias1); c10 = TWidth.Add(c10, bias0); c11 = TWidth.Add(c11, bias1);
            c20 = TWidth.Add(c20, bias0); c21 = TWidth.Add(c21, bias1); c30 = TWidth.Add(c30, bias0); c31 = TWidth.Add(c31, bias1);
            c40 = TWidth.Add(c40, bias0); c41 = TWidth.Add(c41, bias1); c50 = TWidth.Add(c50, bias0); c51 = TWidth.Add(c51, bias1);
        }

        bool relu = epilogue.Relu;
        Store<T, TVector, TWidth>(c00, c01, ref c, w, add, relu);
        Store<T, TVector, TWidth>(c10, c11, ref Unsafe.Add(ref c, ldc), w, add, relu);
        Store<T, TVector, TWidth>(c20, c21, ref Unsafe.Add(ref c, 2 * ldc), w, add, relu);
        Store<T, TVector, TWidth>(c30, c31, ref Unsafe.Add(ref c, 3 * ldc), w, add, relu);
        Store<T, TVector, TWidth>(c40, c41, ref Unsafe.Add(ref c, 4 * ldc), w, add, relu);
        Store<T, TVector, TWidth>(c50, c51, ref Unsafe.Add(ref c, 5 * ldc), w, add, relu);
    }

    // The tile of C that the store adds to, fetched while the multiply-adds run: a C that is not in cache (a gradient
    // summed in place over a step's blocks) would otherwise stall every store on a miss.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchTile<T>(ref T c, nint ldc, nuint columns)
        where T : unmanaged
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        for (nint r = 0; r < MR; r++)
        {
            ref T row = ref Unsafe.Add(ref c, r * ldc);
            Sse.Prefetch0(Unsafe.AsPointer(ref row));
            Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref row, columns - 1)));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T, TVector, TWidth>(TVector left, TVector right, ref T c, nuint w, bool add, bool relu)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVector : unmanaged
        where TWidth : IVectorWidth<TVector, T>
    {
        if (add)
        {
            left = TWidth.Add(TWidth.Load(ref c, 0), left);
            right = TWidth.Add(TWidth.Load(ref c, w), right);
        }

        if (relu)
        {
            left = TWidth.MaxWithZero(left);
            right = TWidth.MaxWithZero(right);
        }

        TWidth.Store(left, ref c, 0);
        TWidth.Store(right, ref c, w);
    }

    /// <summary>The vector operations the micro-kernel needs at one width, on the vector type itself.</summary>
    private interface IVectorWidth<TVector, T>
        where TVector : unmanaged
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <summary>Lanes per vector.</summary>
        static abstract int Count { get; }

        /// <summary>Loads a vector from <c>source + offset</c>.</summary>
        static abstract TVector Load(ref T source, nuint offset);

        /// <summary>Stores <paramref name="value"/> at <c>destination + offset</c>.</summary>
        static abstract void Store(TVector value, ref T destination, nuint offset);

        /// <summary>Every lane <paramref name="value"/>.</summary>
        static abstract TVector Broadcast(T value);

        /// <summary>x·y + z, fused where the hardware has FMA.</summary>
        static abstract TVector MultiplyAdd(TVector x, TVector y, TVector z);

        /// <summary>x + y.</summary>
        static abstract TVector Add(TVector x, TVector y);

        /// <summary>max(x, 0) per lane.</summary>
        static abstract TVector MaxWithZero(TVector x);
    }

    private readonly struct Width128<T> : IVectorWidth<Vector128<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static int Count => Vector128<T>.Count;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<T> Load(ref T source, nuint offset) => Vector128.LoadUnsafe(ref source, offset);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector128<T> value, ref T destination, nuint offset) => value.StoreUnsafe(ref destination, offset);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<T> Broadcast(T value) => Vector128.Create(value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<T> MultiplyAdd(Vector128<T> x, Vector128<T> y, Vector128<T> z)
            => typeof(T) == typeof(double) ? Vector128.MultiplyAddEstimate(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>()
                : typeof(T) == typeof(float) ? Vector128.MultiplyAddEstimate(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>()
                : (x * y) + z;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<T> Add(Vector128<T> x, Vector128<T> y) => x + y;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<T> MaxWithZero(Vector128<T> x) => Vector128.Max(x, Vector128<T>.Zero);
    }

    private readonly struct Width256<T> : IVectorWidth<Vector256<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static int Count => Vector256<T>.Count;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> Load(ref T source, nuint offset) => Vector256.LoadUnsafe(ref source, offset);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector256<T> value, ref T destination, nuint offset) => value.StoreUnsafe(ref destination, offset);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> Broadcast(T value) => Vector256.Create(value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> MultiplyAdd(Vector256<T> x, Vector256<T> y, Vector256<T> z)
            => typeof(T) == typeof(double) ? Vector256.MultiplyAddEstimate(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>()
                : typeof(T) == typeof(float) ? Vector256.MultiplyAddEstimate(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>()
                : (x * y) + z;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> Add(Vector256<T> x, Vector256<T> y) => x + y;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> MaxWithZero(Vector256<T> x) => Vector256.Max(x, Vector256<T>.Zero);
    }

    private readonly struct Width512<T> : IVectorWidth<Vector512<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static int Count => Vector512<T>.Count;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> Load(ref T source, nuint offset) => Vector512.LoadUnsafe(ref source, offset);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector512<T> value, ref T destination, nuint offset) => value.StoreUnsafe(ref destination, offset);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> Broadcast(T value) => Vector512.Create(value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> MultiplyAdd(Vector512<T> x, Vector512<T> y, Vector512<T> z)
            => typeof(T) == typeof(double) ? Vector512.MultiplyAddEstimate(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>()
                : typeof(T) == typeof(float) ? Vector512.MultiplyAddEstimate(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>()
                : (x * y) + z;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> Add(Vector512<T> x, Vector512<T> y) => x + y;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> MaxWithZero(Vector512<T> x) => Vector512.Max(x, Vector512<T>.Zero);
    }
}
