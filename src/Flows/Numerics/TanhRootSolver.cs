using System.Numerics;

namespace Flows.Numerics;

/// <summary>
/// Solves the scalar equation <c>t + a·tanh(s·t + c) = target</c> with a·s &gt; −1, whose left side is strictly
/// increasing: the inverse of planar layers and of each coordinate of a triangular Sylvester system.
/// </summary>
/// <remarks>
/// Since |tanh| ≤ 1 the root lies in [target − |a|, target + |a|]. Newton steps are taken from the fixed-point guess
/// target − a·tanh(s·target + c) and replaced by bisection whenever they leave the current bracket, which shrinks on
/// every iteration; the solve stops when a step is ≤ tolerance·(1 + |t|). (A bracketed solver as in Bijectors.jl PR
/// #158.) At most 200 iterations: bisection alone resolves any double bracket to one ulp in fewer.
/// </remarks>
internal static class TanhRootSolver
{
    public const int MaxIterations = 200;

    /// <summary>1e-12 in double; 64 ulp of 1 in float.</summary>
    public static T DefaultTolerance<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        T ulp = T.One - T.BitDecrement(T.One);
        return T.Max(T.CreateTruncating(1e-12), T.CreateTruncating(64) * ulp);
    }

    /// <summary>sech²(t) = 1/cosh²(t), accurate (relative) for large |t| where 1 − tanh² cancels; 0 once cosh overflows.</summary>
    public static T SechSquared<T>(T t) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T c = T.Cosh(t);
        return T.One / (c * c);
    }

    public static InvalidOperationException NotConverged<T>(string what, int row, T residual, T tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
        => new($"{what}: the root solve for row {row} did not converge in {MaxIterations} iterations (residual {residual}, tolerance {tolerance}).");

    /// <summary>Solves for t; false (with the last residual) if the iteration limit is reached. Non-finite data give NaN.</summary>
    public static bool TrySolve<T>(T target, T a, T s, T c, T tolerance, out T root, out T residual, int maxIterations = MaxIterations)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!T.IsFinite(target) || !T.IsFinite(a) || !T.IsFinite(s) || !T.IsFinite(c))
        {
            root = T.NaN;
            residual = T.NaN;
            return true;
        }

        T spread = T.Abs(a);
        T lo = target - spread;
        T hi = target + spread;
        T t = target - (a * T.Tanh((s * target) + c));
        t = T.Clamp(t, lo, hi);
        T half = T.CreateTruncating(0.5);
        residual = T.PositiveInfinity;
        for (int iteration = 0; iteration < maxIterations; iteration++)
        {
            T th = T.Tanh((s * t) + c);
            T f = t + (a * th) - target;
            residual = T.Abs(f);
            if (f == T.Zero)
            {
                root = t;
                return true;
            }

            if (f < T.Zero)
            {
                lo = t;
            }
            else
            {
                hi = t;
            }

            T slope = T.One + (a * s * (T.One - (th * th)));
            T next = t - (f / slope);
            if (!(next > lo && next < hi))
            {
                next = lo + (half * (hi - lo));
            }

            T step = T.Abs(next - t);
            t = next;
            if (step <= tolerance * (T.One + T.Abs(t)))
            {
                root = t;
                residual = T.Abs(t + (a * T.Tanh((s * t) + c)) - target);
                return true;
            }
        }

        root = t;
        return false;
    }
}
