using System.Numerics;
using System.Runtime.CompilerServices;

namespace Flows.Numerics;

/// <summary>Numerically stable scalar functions shared by kernels and bijectors.</summary>
internal static class Scalar
{
    /// <summary><c>log(1 + x)</c> to a few ulp, also for |x| below the unit roundoff.</summary>
    /// <remarks>
    /// .NET's <c>T.LogP1(x)</c> is computed as <c>Log(x + 1)</c>, which returns 0 once |x| &lt; ε/2 and has relative
    /// error ε/|x| before that. This is Goldberg's correction ("What every computer scientist should know about
    /// floating-point arithmetic", 1991, Theorem 4): with u = 1 + x rounded, log(u)·x/(u − 1) cancels the rounding of u.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T LogP1<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T u = T.One + x;
        if (u == T.One)
        {
            return x;
        }

        T logU = T.Log(u);
        return T.IsFinite(logU) ? logU * (x / (u - T.One)) : logU;
    }

    /// <summary><c>exp(x) − 1</c> to a few ulp, also for small |x|.</summary>
    /// <remarks>
    /// .NET's <c>T.ExpM1(x)</c> is computed as <c>Exp(x) − 1</c>, which returns 0 for |x| &lt; ε/2 and has relative error
    /// ε/|x| before that. Kahan's correction: with u = exp(x) rounded, (u − 1)·x/log(u) cancels the rounding of u.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T ExpM1<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T u = T.Exp(x);
        if (u == T.One)
        {
            return x;
        }

        T uMinusOne = u - T.One;
        if (uMinusOne == -T.One || !T.IsFinite(u))
        {
            return uMinusOne;
        }

        return uMinusOne * x / T.Log(u);
    }

    /// <summary><c>log(1 + exp(x))</c> as <c>max(x, 0) + log1p(exp(−|x|))</c>: no overflow, exact for large |x|.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Softplus<T>(T x) where T : IFloatingPointIeee754<T>
        => T.Max(x, T.Zero) + LogP1(T.Exp(-T.Abs(x)));

    /// <summary>The inverse of softplus, <c>log(expm1(y)) = y + log(−expm1(−y))</c>, for y &gt; 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T InverseSoftplus<T>(T y) where T : IFloatingPointIeee754<T>
        => y + T.Log(-ExpM1(-y));

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
        return a + LogP1(T.Exp(-(a + a))) - T.CreateTruncating(0.69314718055994530941723212145818);
    }

    /// <summary><c>½ log(1 + x²)</c>, without overflow for large |x|.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T HalfLogOnePlusSquare<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T a = T.Abs(x);
        if (a <= T.One)
        {
            return T.CreateTruncating(0.5) * LogP1(a * a);
        }

        T r = T.One / a;
        return T.Log(a) + (T.CreateTruncating(0.5) * LogP1(r * r));
    }
}
