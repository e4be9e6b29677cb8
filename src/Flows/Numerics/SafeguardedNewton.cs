using System.Numerics;

namespace Flows.Numerics;

/// <summary>A scalar equation g(t) = 0 for <see cref="SafeguardedNewton"/>: g and g′ at t, with g increasing.</summary>
/// <typeparam name="T">The element type.</typeparam>
/// <remarks>Implemented by structs (ref structs where they hold spans), so the solver's loop calls it without a
/// virtual call.</remarks>
internal interface IScalarEquation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>g(t) and g′(t).</summary>
    (T Value, T Slope) Evaluate(T t);
}

/// <summary>
/// Newton's method safeguarded by bisection for an increasing g with g(lo) ≤ 0 ≤ g(hi): the one loop behind the planar
/// and Sylvester inverses (<see cref="TanhRootSolver"/>) and the monotone transforms' inverses.
/// </summary>
/// <remarks>
/// <para><b>Algorithm.</b> From a start inside [lo, hi], each iteration takes the Newton step <c>t ← t − g(t)/g′(t)</c>,
/// and the sign of g(t) moves one end of the bracket to t. The Newton step is replaced by bisection when it would leave
/// the (shrinking) bracket, or when it is not at most half the step before last (the second safeguard of <c>rtsafe</c>).
/// Newton converges quadratically near the root; bisection guarantees progress where g′ is nearly flat.</para>
/// <para><b>Why both safeguards.</b> On a tanh-shaped g (flat at both ends, steep in between) Newton's method can settle
/// into a 2-cycle whose iterates stay inside the bracket, jumping from near one end to near the other, so that the
/// bracket shrinks by less on every step and the solve never converges (issue #12: a planar layer with wᵀû ≈ 5.09,
/// residual 5.12 after 200 iterations with only the first safeguard). Requiring each accepted Newton step to halve the
/// step before last turns the cycle into bisection.</para>
/// <para><b>Stopping.</b> When g(t) is exactly 0; when a step is at most tolerance·(1 + |t|); or when the bracket's
/// ends meet (the next step is then 0 anyway; the test ends a solve whose rounding keeps g from reaching 0). The root
/// stays bracketed, so a last bisection step bounds the error by the step and a last Newton step bounds it far below.
/// Bisection alone meets a relative tolerance of 1e-12 within log2(width/1e-12) + 1 halvings, and an accepted Newton
/// step at least halves the step before last, so <see cref="MaxIterations"/> is ample: reaching it signals
/// pathological data, and callers throw rather than return a silent guess.</para>
/// <para>Reference: <c>rtsafe</c> of W. H. Press et al., "Numerical Recipes", 3rd ed., 2007, §9.4.</para>
/// </remarks>
internal static class SafeguardedNewton
{
    /// <summary>The default iteration limit.</summary>
    public const int MaxIterations = 200;

    /// <summary>Solves g(t) = 0 in [<paramref name="lo"/>, <paramref name="hi"/>] (see the class remarks).</summary>
    /// <param name="equation">g, increasing, with g(lo) ≤ 0 ≤ g(hi).</param>
    /// <param name="lo">The bracket's lower end. Range: finite.</param>
    /// <param name="hi">The bracket's upper end. Range: finite, ≥ lo.</param>
    /// <param name="start">The first iterate. Range: [lo, hi].</param>
    /// <param name="tolerance">The relative step tolerance. Range: ≥ 0.</param>
    /// <param name="maxIterations">The iteration limit. Range: &gt; 0.</param>
    /// <param name="root">The root; the last iterate when the limit is reached.</param>
    /// <param name="residual">|g| at the returned root when the solve converged; at the iterate before the last when the
    /// limit was reached.</param>
    /// <returns>True if the solve converged; false if the iteration limit was reached.</returns>
    public static bool TrySolve<T, TEquation>(TEquation equation, T lo, T hi, T start, T tolerance, int maxIterations, out T root, out T residual)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TEquation : IScalarEquation<T>, allows ref struct
    {
        T half = T.CreateTruncating(0.5);
        T two = T.CreateTruncating(2);
        T t = start;

        // The last step and the one before it, for rtsafe's "is Newton converging fast enough" test; the bracket's width
        // stands for both before the first step, so a first Newton step is judged against half the bracket.
        T previousStep = hi - lo;
        T stepBeforeLast = previousStep;
        residual = T.PositiveInfinity;
        for (int iteration = 0; iteration < maxIterations; iteration++)
        {
            (T g, T slope) = equation.Evaluate(t);
            residual = T.Abs(g);
            if (g == T.Zero)
            {
                root = t;
                return true;
            }

            if (g < T.Zero)
            {
                lo = t;
            }
            else
            {
                hi = t;
            }

            T next = t - (g / slope);

            // Bisect when Newton would leave the bracket (or is NaN), or would not halve the step before last: the
            // second test breaks the 2-cycles of Newton's method on tanh-shaped functions (see the remarks).
            if (!(next > lo && next < hi) || !(two * T.Abs(next - t) <= stepBeforeLast))
            {
                next = (half * lo) + (half * hi);
            }

            T step = T.Abs(next - t);
            stepBeforeLast = previousStep;
            previousStep = step;
            t = next;
            if (step <= tolerance * (T.One + T.Abs(t)) || lo == hi)
            {
                root = t;
                residual = T.Abs(equation.Evaluate(t).Value);
                return true;
            }
        }

        root = t;
        return false;
    }
}
