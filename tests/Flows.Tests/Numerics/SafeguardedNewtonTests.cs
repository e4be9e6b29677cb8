using Flows.Numerics;

namespace Flows.Tests.Numerics;

/// <summary>
/// The safeguarded Newton loop shared by the planar and Sylvester inverses and the monotone transforms (each of which has
/// its own solver tests too): roots against closed forms, the bisection fallback, the end where rounding keeps g from 0,
/// and the iteration limit.
/// </summary>
public sealed class SafeguardedNewtonTests
{
    // g(t) = t³ + t − c: increasing, with the real root of Cardano's formula.
    private readonly struct Cubic(double c) : IScalarEquation<double>
    {
        public (double Value, double Slope) Evaluate(double t) => ((t * t * t) + t - c, (3 * t * t) + 1);
    }

    // g(t) = atan(10 t) − atan(10 r): Newton from far out overshoots past the bracket (g′ is ~1/(100 t²) there).
    private readonly struct Arctangent(double r) : IScalarEquation<double>
    {
        public (double Value, double Slope) Evaluate(double t) => (Math.Atan(10 * t) - Math.Atan(10 * r), 10 / (1 + (100 * t * t)));
    }

    // A step at r: −1 below, +1 at or above, with a tiny slope that sends every Newton step out of the bracket.
    private readonly struct Step(double r) : IScalarEquation<double>
    {
        public (double Value, double Slope) Evaluate(double t) => (t < r ? -1 : 1, 1e-300);
    }

    [Theory]
    [InlineData(-30.0)]
    [InlineData(-0.5)]
    [InlineData(0.0)]
    [InlineData(2.0)]
    [InlineData(1e4)]
    public void TrySolve_FindsTheCubicsRoot(double c)
    {
        // Cardano for t³ + t − c = 0 (one real root): t = u − 1/(3u) with u = ∛(c/2 + √(c²/4 + 1/27)) for c ≥ 0 (the second
        // cube root written as −1/(3u), which does not cancel), and t(−c) = −t(c).
        double u = Math.Cbrt((Math.Abs(c) / 2) + Math.Sqrt((c * c / 4) + (1.0 / 27)));
        double root = Math.CopySign(u - (1 / (3 * u)), c);
        double bound = Math.Abs(c) + 1;

        Assert.True(SafeguardedNewton.TrySolve(new Cubic(c), -bound, bound, 0.0, 1e-14, SafeguardedNewton.MaxIterations, out double solved, out double residual));

        Assert.True(Math.Abs(solved - root) <= 1e-12 * (1 + Math.Abs(root)), $"c {c}: solved {solved:R}, Cardano {root:R}");
        Assert.True(residual <= 1e-12 * (1 + Math.Abs(c)), $"c {c}: residual {residual}");
    }

    // Plain Newton from t = 1 on atan(10 t) jumps to about −1.5e2 and diverges; the bracket turns those steps into
    // bisections, and the root is reached to the tolerance.
    [Fact]
    public void TrySolve_Bisects_WhereNewtonWouldLeaveTheBracket()
    {
        const double r = 0.0123;

        Assert.True(SafeguardedNewton.TrySolve(new Arctangent(r), -2.0, 2.0, 1.0, 1e-13, SafeguardedNewton.MaxIterations, out double root, out _));

        Assert.True(Math.Abs(root - r) <= 1e-12, $"root {root:R}");
    }

    // g never reaches 0 and every Newton step leaves the bracket, so only bisection runs; with tolerance 0 the solve ends
    // when the bracket's ends are adjacent doubles around the step, not at the iteration limit.
    [Fact]
    public void TrySolve_EndsWhenTheBracketCloses_EvenWithZeroTolerance()
    {
        const double r = 0.3;

        Assert.True(SafeguardedNewton.TrySolve(new Step(r), -1.0, 1.0, 0.0, 0.0, SafeguardedNewton.MaxIterations, out double root, out double residual));

        Assert.True(root == r || root == Math.BitDecrement(r), $"root {root:R}");
        Assert.Equal(1.0, residual);
    }

    [Fact]
    public void TrySolve_ReportsTheIterationLimit_WithTheLastResidual()
    {
        bool converged = SafeguardedNewton.TrySolve(new Step(0.3), -1.0, 1.0, 0.0, 0.0, 5, out double root, out double residual);

        Assert.False(converged);
        Assert.Equal(1.0, residual);
        Assert.InRange(root, 0.25, 0.3125);
    }
}
