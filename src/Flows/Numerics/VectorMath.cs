using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

/// <summary>Vector forms of the functions fused kernels need, generic over float and double.</summary>
/// <remarks>
/// <see cref="Vector256.Exp(Vector256{double})"/> and <see cref="Vector256.Log(Vector256{double})"/> exist only for
/// the concrete types, so these dispatch on the element type at JIT time (the branch folds away). Callers
/// check <see cref="Vector256{T}.IsSupported"/> first, so no other type reaches them.
/// </remarks>
internal static class VectorMath
{
    /// <summary><c>exp(x)</c> per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Exp<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
        {
            return Vector256.Exp(x.AsDouble()).As<double, T>();
        }

        Debug.Assert(typeof(T) == typeof(float));
        return Vector256.Exp(x.AsSingle()).As<float, T>();
    }

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

    /// <summary>
    /// <c>log(1 + x)</c> per lane for x ≥ 0, accurate to a few ulp also below the unit roundoff: with u = 1 + x
    /// rounded, <c>log(u)·x/(u − 1)</c> cancels the rounding of u (Goldberg 1991, Theorem 4); u = 1 gives x.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> LogP1NonNegative<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector256<T> one = Vector256<T>.One;
        Vector256<T> u = one + x;
        // The lanes with u = 1 divide by zero here and are replaced by x below.
        Vector256<T> corrected = Log(u) * (x / (u - one));
        return Vector256.ConditionalSelect(Vector256.Equals(u, one), x, corrected);
    }
}
