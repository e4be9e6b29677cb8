using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

/// <summary>
/// <c>exp(x)</c> per lane for x ≤ 0, inlined into the caller, for kernels that take many exponentials in a row (the
/// spline's softmax takes 2K per element).
/// </summary>
/// <remarks>
/// <para><see cref="Vector256.Exp(Vector256{double})"/> is an out-of-line call whose argument and result go through
/// memory; inlined, the independent exponentials of a softmax overlap in the pipeline, which made the spline's forward
/// pass about a third faster. The double path is the same algorithm and the same coefficients as .NET's own vector exp
/// (AOCL's: x = n ln2 + r with a two-part ln2, a degree-11 polynomial in r, 2ⁿ built in the exponent bits), so it agrees
/// with it to an ulp.</para>
/// <para>Double lanes below −708 are evaluated at −708 (exp(−708) ≈ 3·10⁻³⁰⁸ rather than a subnormal or 0), which only
/// a caller adding the result to numbers of order 1, as a softmax does, may accept. NaN stays NaN. Float lanes call
/// <see cref="VectorMath.ExpNonPositive{T}(Vector256{T})"/>.</para>
/// </remarks>
internal static class InlinedExp
{
    /// <summary><c>exp(x)</c> per lane for x ≤ 0; see the remarks for lanes below −708.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> NonPositive<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
        {
            return Double(x.AsDouble()).As<double, T>();
        }

        Debug.Assert(typeof(T) == typeof(float));
        return VectorMath.ExpNonPositive(x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Double(Vector256<double> x)
    {
        // n = round(x/ln2) by the 1.5·2⁵² shift, whose low mantissa bits then hold n; r = x − n ln2 in two parts.
        Vector256<double> shift = Vector256.Create(6755399441055744.0);
        x = Vector256.Max(x, Vector256.Create(-708.0));
        Vector256<double> z = Vector256.FusedMultiplyAdd(x, Vector256.Create(1.4426950408889634), shift);
        Vector256<double> n = z - shift;
        Vector256<double> r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-0.693359375), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(0.00021219444005469057), r);

        // 1 + r + c2 r² + … + c11 r¹¹ by Estrin's scheme (pairs, then pairs of pairs).
        Vector256<double> r2 = r * r;
        Vector256<double> r4 = r2 * r2;
        Vector256<double> c01 = r + Vector256<double>.One;
        Vector256<double> c23 = Vector256.FusedMultiplyAdd(r, Vector256.Create(0.1666666666666617), Vector256.Create(0.5000000000000018));
        Vector256<double> c45 = Vector256.FusedMultiplyAdd(r, Vector256.Create(0.008333333333559272), Vector256.Create(0.04166666666649277));
        Vector256<double> c67 = Vector256.FusedMultiplyAdd(r, Vector256.Create(0.00019841269432677495), Vector256.Create(0.001388888895122404));
        Vector256<double> c89 = Vector256.FusedMultiplyAdd(r, Vector256.Create(2.7557622532543023e-06), Vector256.Create(2.4801486521374483e-05));
        Vector256<double> c1011 = Vector256.FusedMultiplyAdd(r, Vector256.Create(2.499430431958571e-08), Vector256.Create(2.7632293298250954e-07));
        Vector256<double> c03 = Vector256.FusedMultiplyAdd(r2, c23, c01);
        Vector256<double> c47 = Vector256.FusedMultiplyAdd(r2, c67, c45);
        Vector256<double> c811 = Vector256.FusedMultiplyAdd(r2, c1011, c89);
        Vector256<double> polynomial = Vector256.FusedMultiplyAdd(r4, Vector256.FusedMultiplyAdd(r4, c811, c47), c03);

        // 2ⁿ: n + 1023 shifted into the exponent field (the shift's own bits fall off the top).
        Vector256<double> scale = ((z.AsUInt64() + Vector256.Create(1023UL)) << 52).AsDouble();
        return polynomial * scale;
    }
}
