using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

internal static partial class Kernels
{
    /// <summary>
    /// The part of the sinh-arcsinh log-derivative that varies per element, <c>log cosh(u) − ½ log(1 + x²)</c>, for the
    /// sinh argument u and the input x; the bijector adds ∓log δ per column.
    /// </summary>
    /// <remarks>
    /// Both terms are written so that nothing overflows: <c>log cosh(u) = |u| + log1p(e^−2|u|) − log 2</c>, and
    /// <c>½ log(1 + x²)</c> is <c>½ log1p(x²)</c> for |x| ≤ 1 and <c>log|x| + ½ log1p(1/x²)</c> beyond, as
    /// <see cref="Scalar.LogCosh{T}"/> and <see cref="Scalar.HalfLogOnePlusSquare{T}"/>. The vector log1p is the
    /// rounding-corrected one, so the vector form is at least as accurate as the scalar one.
    /// </remarks>
    public readonly struct SinhArcsinhLogDerivative<T> : IBinaryElementwiseKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private static readonly T Log2 = T.CreateTruncating(0.69314718055994530941723212145818);
        private static readonly T Half = T.CreateTruncating(0.5);

        public static T Invoke(T u, T x) => Scalar.LogCosh(u) - Scalar.HalfLogOnePlusSquare(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> Invoke(Vector256<T> u, Vector256<T> x)
        {
            Vector256<T> half = Vector256.Create(Half);
            Vector256<T> one = Vector256<T>.One;
            Vector256<T> au = Vector256.Abs(u);
            Vector256<T> logCosh = au + VectorMath.LogP1NonNegative(VectorMath.Exp(-(au + au))) - Vector256.Create(Log2);

            // Each branch sees only arguments in its own range (the other lanes get a harmless 0 or 1), so the vector
            // log never meets 0, ∞ or NaN; ∞ and NaN inputs are restored at the end.
            Vector256<T> ax = Vector256.Abs(x);
            Vector256<T> inner = Vector256.LessThanOrEqual(ax, one);
            Vector256<T> small = Vector256.ConditionalSelect(inner, ax, Vector256<T>.Zero);
            Vector256<T> outer = Vector256.AndNot(Vector256.LessThan(ax, Vector256.Create(T.PositiveInfinity)), inner);
            Vector256<T> large = Vector256.ConditionalSelect(outer, ax, one);
            Vector256<T> r = one / large;
            Vector256<T> halfLog = Vector256.ConditionalSelect(inner,
                half * VectorMath.LogP1NonNegative(small * small),
                VectorMath.Log(large) + (half * VectorMath.LogP1NonNegative(r * r)));
            halfLog = Vector256.ConditionalSelect(inner | outer, halfLog, ax);
            return logCosh - halfLog;
        }

        // The 512-bit form of the member above, lane for lane the same operations.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> Invoke(Vector512<T> u, Vector512<T> x)
        {
            Vector512<T> half = Vector512.Create(Half);
            Vector512<T> one = Vector512<T>.One;
            Vector512<T> au = Vector512.Abs(u);
            Vector512<T> logCosh = au + VectorMath.LogP1NonNegative(VectorMath.Exp(-(au + au))) - Vector512.Create(Log2);

            // Each branch sees only arguments in its own range (the other lanes get a harmless 0 or 1), so the vector
            // log never meets 0, ∞ or NaN; ∞ and NaN inputs are restored at the end.
            Vector512<T> ax = Vector512.Abs(x);
            Vector512<T> inner = Vector512.LessThanOrEqual(ax, one);
            Vector512<T> small = Vector512.ConditionalSelect(inner, ax, Vector512<T>.Zero);
            Vector512<T> outer = Vector512.AndNot(Vector512.LessThan(ax, Vector512.Create(T.PositiveInfinity)), inner);
            Vector512<T> large = Vector512.ConditionalSelect(outer, ax, one);
            Vector512<T> r = one / large;
            Vector512<T> halfLog = Vector512.ConditionalSelect(inner,
                half * VectorMath.LogP1NonNegative(small * small),
                VectorMath.Log(large) + (half * VectorMath.LogP1NonNegative(r * r)));
            halfLog = Vector512.ConditionalSelect(inner | outer, halfLog, ax);
            return logCosh - halfLog;
        }
    }
}
