using System.Numerics;
using System.Runtime.CompilerServices;

namespace Flows.Numerics;

/// <summary>Numerically stable scalar functions shared by kernels and bijectors.</summary>
internal static class Scalar
{
    /// <summary><c>log(1 + exp(x))</c> as <c>max(x, 0) + log1p(exp(−|x|))</c>: no overflow, exact for large |x|.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Softplus<T>(T x) where T : IFloatingPointIeee754<T>
        => T.Max(x, T.Zero) + T.LogP1(T.Exp(-T.Abs(x)));

    /// <summary>The inverse of softplus, <c>log(expm1(y)) = y + log(−expm1(−y))</c>, for y &gt; 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T InverseSoftplus<T>(T y) where T : IFloatingPointIeee754<T>
        => y + T.Log(-T.ExpM1(-y));

    /// <summary><c>1/(1 + exp(−x))</c>, evaluated on the side that cannot overflow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sigmoid<T>(T x) where T : IFloatingPointIeee754<T>
    {
        if (x >= T.Zero)
        {
            return T.One / (T.One + T.Exp(-x));
        }

        T e = T.Exp(x);
        return e / (T.One + e);
    }

    /// <summary><c>log(cosh(x)) = |x| + log1p(exp(−2|x|)) − log 2</c>: finite wherever the result is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T LogCosh<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T a = T.Abs(x);
        return a + T.LogP1(T.Exp(-(a + a))) - T.CreateTruncating(0.69314718055994530941723212145818);
    }

    /// <summary><c>½ log(1 + x²)</c>, without overflow for large |x|.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T HalfLogOnePlusSquare<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T a = T.Abs(x);
        if (a <= T.One)
        {
            return T.CreateTruncating(0.5) * T.LogP1(a * a);
        }

        T r = T.One / a;
        return T.Log(a) + (T.CreateTruncating(0.5) * T.LogP1(r * r));
    }
}
