using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

/// <summary>Vector forms of the functions fused kernels need, generic over float and double.</summary>
/// <remarks>
/// The generic members dispatch on the element type at JIT time (the branch folds away). Callers check
/// <see cref="Vector256{T}.IsSupported"/> first, so no other type reaches them. Exp is our own (VectorMath.Exp.cs);
/// log is <see cref="Vector256.Log(Vector256{double})"/>.
/// </remarks>
internal static partial class VectorMath
{
    /// <summary><c>log(x)</c> per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Log<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
        {
            return Vector256.Log(x.AsDouble()).As<double, T>();
        }

        Debug.Assert(typeof(T) == typeof(float));
        return Vector256.Log(x.AsSingle()).As<float, T>();
    }

    // The 512-bit form of the member above, lane for lane the same operations.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Log<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
        {
            return Vector512.Log(x.AsDouble()).As<double, T>();
        }

        Debug.Assert(typeof(T) == typeof(float));
        return Vector512.Log(x.AsSingle()).As<float, T>();
    }

    /// <summary>
    /// <c>log(1 + x)</c> per lane for x ≥ 0 (+∞ and NaN allowed), accurate to a few ulp also below the unit roundoff:
    /// with u = 1 + x rounded, <c>log(u)·x/(u − 1)</c> cancels the rounding of u (Goldberg 1991, Theorem 4).
    /// </summary>
    /// <remarks>u = 1 gives x; u = ∞ or NaN gives x too (log is then called with 1, so the division by u − 1 never
    /// sees an infinity).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> LogP1NonNegative<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector256<T> one = Vector256<T>.One;
        Vector256<T> u = one + x;
        Vector256<T> safe = Vector256.ConditionalSelect(Vector256.LessThan(u, Vector256.Create(T.PositiveInfinity)), u, one);
        // The lanes with u = 1 divide by zero here and are replaced by x below.
        Vector256<T> corrected = Log(safe) * (x / (safe - one));
        return Vector256.ConditionalSelect(Vector256.Equals(safe, one), x, corrected);
    }

    // The 512-bit form of the member above, lane for lane the same operations.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> LogP1NonNegative<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector512<T> one = Vector512<T>.One;
        Vector512<T> u = one + x;
        Vector512<T> safe = Vector512.ConditionalSelect(Vector512.LessThan(u, Vector512.Create(T.PositiveInfinity)), u, one);
        // The lanes with u = 1 divide by zero here and are replaced by x below.
        Vector512<T> corrected = Log(safe) * (x / (safe - one));
        return Vector512.ConditionalSelect(Vector512.Equals(safe, one), x, corrected);
    }

    /// <summary>
    /// <c>tanh(x)</c> per lane as sign(x)·(1 − e)/(1 + e) with e = exp(−2|x|), each lane independent of its neighbours.
    /// </summary>
    /// <remarks>Accurate to a few ulp in absolute terms, not in relative terms near 0 (1 − e cancels there): right for
    /// a soft clamp whose result is added and exponentiated, not for tiny arguments whose relative error matters.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Tanh<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector256<T> e = Exp(Vector256.Create(T.CreateTruncating(-2)) * Vector256.Abs(x));
        Vector256<T> magnitude = (Vector256<T>.One - e) / (Vector256<T>.One + e);
        Vector256<T> signBit = Vector256.Create(T.NegativeZero);
        return magnitude | (x & signBit);
    }

    // The 512-bit form of the member above, lane for lane the same operations.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Tanh<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector512<T> e = Exp(Vector512.Create(T.CreateTruncating(-2)) * Vector512.Abs(x));
        Vector512<T> magnitude = (Vector512<T>.One - e) / (Vector512<T>.One + e);
        Vector512<T> signBit = Vector512.Create(T.NegativeZero);
        return magnitude | (x & signBit);
    }

    /// <summary>The scalar twin of <see cref="Tanh{T}(Vector256{T})"/>, for columns that do not fill a vector.</summary>
    public static T Tanh<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T e = T.Exp(T.CreateTruncating(-2) * T.Abs(x));
        return T.CopySign((T.One - e) / (T.One + e), x);
    }
}
