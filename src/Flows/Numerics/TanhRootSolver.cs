using System.Numerics;

namespace Flows.Numerics;

/// <summary>
/// Solves the scalar equation <c>f(t) = t + a·tanh(s·t + c) − target = 0</c> for t, where a·s &gt; −1 makes
/// <c>f′(t) = 1 + a·s·sech²(s·t + c) &gt; 0</c>, so the root exists and is unique: the inverse of a planar layer
/// (s = 1) and of each coordinate of the triangular system a Sylvester layer reduces to.
/// </summary>
/// <remarks>
/// <para><b>Algorithm.</b> Since |tanh| ≤ 1 the root lies in the bracket [target − |a|, target + |a|]. The solve starts
/// from the fixed-point guess target − a·tanh(s·target + c), clamped into the bracket, and runs
/// <see cref="SafeguardedNewton"/> (Newton's method safeguarded by bisection, <c>rtsafe</c> with its second safeguard)
/// on f, with <c>f′(t) = 1 + a·s·sech²(s·t + c)</c>. Far from the root f is tanh-shaped, the case that second safeguard
/// is for: a dense scan of targets finds Newton 2-cycles for every a·s from about 4 upwards (issue #12).</para>
/// <para><b>Tolerance.</b> The solve stops when a step is at most tolerance·(1 + |t|), <see cref="DefaultTolerance{T}"/>
/// being 1e-12 in double (TESTING.md item 26) and 64 ulp of 1 in float, or when f(t) is exactly 0. At most
/// <see cref="MaxIterations"/> iterations, which is ample: bisection alone meets a tolerance of 1e-12 within
/// log2(|a|/1e-12) + 1 halvings, fewer than 200 for any |a| below about 1e48 (the tests' sweep of extreme parameters
/// converges within 100 iterations). Reaching the limit therefore signals pathological data; callers then throw
/// <see cref="NotConverged{T}"/> rather than return a silent guess.</para>
/// <para>Reference: a bracketed Newton solver as proposed for the planar inverse in Bijectors.jl PR #158 (TuringLang);
/// the safeguarded Newton–bisection scheme is <c>rtsafe</c> of W. H. Press et al., "Numerical Recipes", 3rd ed., 2007,
/// §9.4.</para>
/// </remarks>
internal static class TanhRootSolver
{
    /// <summary>The default iteration limit of <see cref="TrySolve{T}"/>.</summary>
    public const int MaxIterations = SafeguardedNewton.MaxIterations;

    /// <summary>The default relative step tolerance: <c>max(1e-12, 64·ulp)</c>, with ulp the spacing just below 1.</summary>
    /// <remarks>1e-12 in double (TESTING.md item 26); in float 1e-12 lies below the rounding floor, so 64 ulp (≈ 3.8e-6).</remarks>
    public static T DefaultTolerance<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        T ulp = T.One - T.BitDecrement(T.One);
        return T.Max(T.CreateTruncating(1e-12), T.CreateTruncating(64) * ulp);
    }

    /// <summary><c>sech²(t) = 1/cosh²(t)</c>, the derivative of tanh.</summary>
    /// <remarks>Computed from cosh rather than as 1 − tanh²(t), which loses relative accuracy as |t| grows (the
    /// subtraction cancels) and is exactly 0 once tanh rounds to ±1 (|t| ≳ 19 in double, where sech² ≈ 1e-16). This form
    /// stays accurate in relative terms until cosh overflows (|t| ≳ 710 in double), and is 0 beyond.</remarks>
    public static T SechSquared<T>(T t) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T c = T.Cosh(t);
        return T.One / (c * c);
    }

    /// <summary>The exception a caller throws when <see cref="TrySolve{T}"/> reports non-convergence.</summary>
    /// <param name="what">The operation, as the message should name it (for example "Planar inverse").</param>
    /// <param name="row">The batch row whose solve failed.</param>
    /// <param name="residual">The last |f(t)|.</param>
    /// <param name="tolerance">The tolerance the solve was given.</param>
    /// <returns>An exception whose message names the operation, the row, the residual and the tolerance.</returns>
    public static InvalidOperationException NotConverged<T>(string what, int row, T residual, T tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
        => new($"{what}: the root solve for row {row} did not converge in {MaxIterations} iterations (residual {residual}, tolerance {tolerance}).");

    /// <summary>Solves <c>t + a·tanh(s·t + c) = target</c> for t (see the class remarks).</summary>
    /// <param name="target">The right-hand side.</param>
    /// <param name="a">The amplitude. Range: a·s &gt; −1.</param>
    /// <param name="s">The slope inside tanh. Range: a·s &gt; −1.</param>
    /// <param name="c">The shift inside tanh.</param>
    /// <param name="tolerance">The relative step tolerance. Range: &gt; 0.</param>
    /// <param name="root">The root; the last iterate when the limit is reached; NaN for non-finite data.</param>
    /// <param name="residual">|f| at the returned root when the solve converged; at the iterate before the last when
    /// the limit was reached.</param>
    /// <param name="maxIterations">The iteration limit. Range: &gt; 0.</param>
    /// <returns>True if the solve converged, or the data are non-finite (root and residual are then NaN, so a NaN row
    /// stays NaN instead of throwing); false if the iteration limit was reached.</returns>
    public static bool TrySolve<T>(T target, T a, T s, T c, T tolerance, out T root, out T residual, int maxIterations = MaxIterations)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!T.IsFinite(target) || !T.IsFinite(a) || !T.IsFinite(s) || !T.IsFinite(c))
        {
            root = T.NaN;
            residual = T.NaN;
            return true;
        }

        // The bracket is clamped to the finite range so that its midpoint stays finite; f keeps its sign at a clamped end
        // (t + a·tanh(·) − target overflows only towards the sign the unrounded value has).
        T largest = T.BitDecrement(T.PositiveInfinity);
        T spread = T.Abs(a);
        T lo = T.Max(target - spread, -largest);
        T hi = T.Min(target + spread, largest);
        T start = T.Clamp(target - (a * T.Tanh((s * target) + c)), lo, hi);
        return SafeguardedNewton.TrySolve(new Equation<T>(target, a, s, c), lo, hi, start, tolerance, maxIterations, out root, out residual);
    }

    // f(t) = t + a·tanh(s·t + c) − target and f′(t) = 1 + a·s·sech²(s·t + c); f′ from sech² rather than 1 − tanh², which
    // is 0 once tanh rounds to ±1 while a·s·sech² may still matter.
    private readonly struct Equation<T>(T target, T a, T s, T c) : IScalarEquation<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public (T Value, T Slope) Evaluate(T t)
        {
            T u = (s * t) + c;
            return (t + (a * T.Tanh(u)) - target, T.One + (a * s * SechSquared(u)));
        }
    }
}
