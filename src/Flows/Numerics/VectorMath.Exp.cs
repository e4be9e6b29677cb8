using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

internal static partial class VectorMath
{
    /// <summary><c>exp(x)</c> per lane, within about 1 ulp, each lane computed on its own.</summary>
    /// <remarks>
    /// <para>x = n·ln 2 + r with n = round(x/ln 2) and |r| ≤ ln 2 / 2, reduced with ln 2 in two parts (Cody and Waite,
    /// "Software Manual for the Elementary Functions", 1980) by fused multiply-adds; exp(r) by its Taylor polynomial
    /// (degree 13 in double, 7 in float, whose remainders are below 5e-18 and 6e-9); then 2ⁿ as two powers of two
    /// built in the exponent field, so results from the subnormals to the overflow threshold round once.</para>
    /// <para>Unlike <see cref="Vector256.Exp(Vector256{double})"/>, which redoes the whole vector in scalar code when
    /// any lane is out of its fast range, no lane's result depends on the others: a row's value never depends on
    /// what is batched beside it. −∞ gives 0, +∞ gives +∞, NaN gives NaN.</para>
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Exp<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
        {
            return ExpDouble(x.AsDouble()).As<double, T>();
        }

        Debug.Assert(typeof(T) == typeof(float));
        return ExpSingle(x.AsSingle()).As<float, T>();
    }

    // The 512-bit form of the member above, lane for lane the same operations.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
        {
            return ExpDouble(x.AsDouble()).As<double, T>();
        }

        Debug.Assert(typeof(T) == typeof(float));
        return ExpSingle(x.AsSingle()).As<float, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> ExpDouble(Vector256<double> x)
    {
        // Beyond these, exp rounds to 0 or overflows; clamping keeps n within the two scale factors' range.
        Vector256<double> clamped = Vector256.Min(Vector256.Max(x, Vector256.Create(-745.2)), Vector256.Create(709.8));
        // Adding 1.5·2⁵² rounds to an integer, which then sits in the low bits of the sum.
        Vector256<double> shifter = Vector256.Create(6755399441055744.0);
        Vector256<double> n = ((clamped * Vector256.Create(1.4426950408889634)) + shifter) - shifter;
        Vector256<double> r = Vector256.FusedMultiplyAdd(-n, Vector256.Create(6.93147180369123816490e-01), clamped);
        r = Vector256.FusedMultiplyAdd(-n, Vector256.Create(1.90821492927058770002e-10), r);

        Vector256<double> p = Vector256.Create(1.0 / 6227020800);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 479001600));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 39916800));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 3628800));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 362880));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 40320));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 5040));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 720));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 120));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 24));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0 / 6));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(0.5));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<double>.One);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<double>.One);

        // 2ⁿ = 2^half · 2^(n − half): each factor is a normal double for every n from −1075 to 1024.
        Vector256<double> half = ((n * Vector256.Create(0.5)) + shifter) - shifter;
        Vector256<double> result = p * PowerOfTwo(half, shifter) * PowerOfTwo(n - half, shifter);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
    }

    // The 512-bit form of the member above, lane for lane the same operations.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> ExpDouble(Vector512<double> x)
    {
        // Beyond these, exp rounds to 0 or overflows; clamping keeps n within the two scale factors' range.
        Vector512<double> clamped = Vector512.Min(Vector512.Max(x, Vector512.Create(-745.2)), Vector512.Create(709.8));
        // Adding 1.5·2⁵² rounds to an integer, which then sits in the low bits of the sum.
        Vector512<double> shifter = Vector512.Create(6755399441055744.0);
        Vector512<double> n = ((clamped * Vector512.Create(1.4426950408889634)) + shifter) - shifter;
        Vector512<double> r = Vector512.FusedMultiplyAdd(-n, Vector512.Create(6.93147180369123816490e-01), clamped);
        r = Vector512.FusedMultiplyAdd(-n, Vector512.Create(1.90821492927058770002e-10), r);

        Vector512<double> p = Vector512.Create(1.0 / 6227020800);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 479001600));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 39916800));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 3628800));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 362880));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 40320));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 5040));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 720));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 120));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 24));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 6));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<double>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<double>.One);

        // 2ⁿ = 2^half · 2^(n − half): each factor is a normal double for every n from −1075 to 1024.
        Vector512<double> half = ((n * Vector512.Create(0.5)) + shifter) - shifter;
        Vector512<double> result = p * PowerOfTwo(half, shifter) * PowerOfTwo(n - half, shifter);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), result, x);
    }

    // 2ᵏ for integral k with −1022 ≤ k ≤ 1023: k + 1023 is written into the exponent field.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> PowerOfTwo(Vector256<double> k, Vector256<double> shifter)
        => Vector256.ShiftLeft((k + (shifter + Vector256.Create(1023.0))).AsInt64(), 52).AsDouble();

    // The 512-bit form of the member above, lane for lane the same operations.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> PowerOfTwo(Vector512<double> k, Vector512<double> shifter)
        => Vector512.ShiftLeft((k + (shifter + Vector512.Create(1023.0))).AsInt64(), 52).AsDouble();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ExpSingle(Vector256<float> x)
    {
        Vector256<float> clamped = Vector256.Min(Vector256.Max(x, Vector256.Create(-104.0f)), Vector256.Create(88.8f));
        Vector256<float> shifter = Vector256.Create(12582912.0f); // 1.5·2²³
        Vector256<float> n = ((clamped * Vector256.Create(1.44269504f)) + shifter) - shifter;
        Vector256<float> r = Vector256.FusedMultiplyAdd(-n, Vector256.Create(0.693359375f), clamped);
        r = Vector256.FusedMultiplyAdd(-n, Vector256.Create(-2.12194440e-4f), r);

        Vector256<float> p = Vector256.Create(1.0f / 5040);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0f / 720));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0f / 120));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0f / 24));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.0f / 6));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(0.5f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);

        Vector256<float> half = ((n * Vector256.Create(0.5f)) + shifter) - shifter;
        Vector256<float> result = p * PowerOfTwo(half, shifter) * PowerOfTwo(n - half, shifter);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
    }

    // The 512-bit form of the member above, lane for lane the same operations.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpSingle(Vector512<float> x)
    {
        Vector512<float> clamped = Vector512.Min(Vector512.Max(x, Vector512.Create(-104.0f)), Vector512.Create(88.8f));
        Vector512<float> shifter = Vector512.Create(12582912.0f); // 1.5·2²³
        Vector512<float> n = ((clamped * Vector512.Create(1.44269504f)) + shifter) - shifter;
        Vector512<float> r = Vector512.FusedMultiplyAdd(-n, Vector512.Create(0.693359375f), clamped);
        r = Vector512.FusedMultiplyAdd(-n, Vector512.Create(-2.12194440e-4f), r);

        Vector512<float> p = Vector512.Create(1.0f / 5040);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0f / 720));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0f / 120));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0f / 24));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0f / 6));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);

        Vector512<float> half = ((n * Vector512.Create(0.5f)) + shifter) - shifter;
        Vector512<float> result = p * PowerOfTwo(half, shifter) * PowerOfTwo(n - half, shifter);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), result, x);
    }

    // 2ᵏ for integral k with −126 ≤ k ≤ 127.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> PowerOfTwo(Vector256<float> k, Vector256<float> shifter)
        => Vector256.ShiftLeft((k + (shifter + Vector256.Create(127.0f))).AsInt32(), 23).AsSingle();

    // The 512-bit form of the member above, lane for lane the same operations.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> PowerOfTwo(Vector512<float> k, Vector512<float> shifter)
        => Vector512.ShiftLeft((k + (shifter + Vector512.Create(127.0f))).AsInt32(), 23).AsSingle();
}
