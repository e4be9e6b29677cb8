using Flows.Numerics;
using Flows.Tests.Testing;

namespace Flows.Tests.Numerics;

/// <summary>The bracketed Newton solver of <c>t + a·tanh(s·t + c) = target</c> behind the planar and Sylvester inverses.</summary>
public sealed class TanhRootSolverTests
{
    // Item 26: the root solve converges to 1e-12 within its bracket, including near the invertibility edge a·s → −1.
    [Fact]
    public void RootSolver_ConvergesTo1e12_InsideTheBracket()
    {
        var random = new Random(126);
        double tolerance = TanhRootSolver.DefaultTolerance<double>();
        Assert.Equal(1e-12, tolerance);
        for (int k = 0; k < 20_000; k++)
        {
            double a = (k % 4) switch
            {
                0 => 3 * TestData.NextNormal(random),
                1 => -0.99 + (0.01 * random.NextDouble()),
                2 => 1e3 * TestData.NextNormal(random),
                _ => -random.NextDouble(),
            };
            double s = k % 4 == 2 ? random.NextDouble() * 0.99 / Math.Max(1, Math.Abs(a)) : 1;
            if (a * s <= -0.99)
            {
                s = 0.99 / Math.Abs(a);
            }

            double c = 2 * TestData.NextNormal(random);
            double tTrue = Math.Pow(10, 3 * random.NextDouble()) * TestData.NextNormal(random);
            double target = tTrue + (a * Math.Tanh((s * tTrue) + c));

            Assert.True(TanhRootSolver.TrySolve(target, a, s, c, tolerance, out double t, out double residual), $"case {k}: residual {residual}");

            // The error bound is the tolerance plus what rounding of the target costs at the equation's slope (≥ 0.01).
            double allowed = (tolerance * (1 + Math.Abs(tTrue))) + (100 * 4e-16 * (Math.Abs(target) + Math.Abs(a)));
            Assert.True(Math.Abs(t - tTrue) <= allowed, $"case {k}: a = {a}, s = {s}, c = {c}, t = {tTrue:R}, solved {t:R}");
            Assert.True(t >= target - Math.Abs(a) && t <= target + Math.Abs(a), $"case {k}: root outside its bracket");
        }
    }

    [Fact]
    public void RootSolver_ReportsNonConvergence_AndTheErrorNamesBijectorRowResidualAndTolerance()
    {
        bool converged = TanhRootSolver.TrySolve(5.0, -0.999, 1.0, 0.3, 1e-12, out _, out double residual, maxIterations: 1);
        InvalidOperationException e = TanhRootSolver.NotConverged("Planar inverse", 17, residual, 1e-12);

        Assert.False(converged);
        Assert.True(residual > 0);
        Assert.Contains("Planar inverse", e.Message, StringComparison.Ordinal);
        Assert.Contains("row 17", e.Message, StringComparison.Ordinal);
        Assert.Contains($"residual {residual}", e.Message, StringComparison.Ordinal);
        Assert.Contains("tolerance 1E-12", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NonFiniteData_GiveNaN_AndCountAsConverged()
    {
        // A NaN row must stay NaN (TESTING.md item 41) rather than throw as a non-converged solve.
        bool converged = TanhRootSolver.TrySolve(double.NaN, 0.5, 1.0, 0.0, 1e-12, out double root, out double residual);

        Assert.True(converged);
        Assert.True(double.IsNaN(root), $"root {root}");
        Assert.True(double.IsNaN(residual), $"residual {residual}");
    }

    [Fact]
    public void ZeroAmplitude_ReturnsTheTargetExactly()
    {
        // a = 0 closes the bracket to the single point t = target.
        Assert.True(TanhRootSolver.TrySolve(1.2345, 0.0, 1.0, 0.3, 1e-12, out double root, out double residual));

        Assert.Equal(1.2345, root);
        Assert.Equal(0.0, residual);
    }

    [Fact]
    public void DefaultTolerance_InFloat_Is64UlpOfOne()
    {
        // 1e-12 lies below float's rounding floor; 64 ulp (the spacing just below 1 is 2⁻²⁴) is the documented floor.
        Assert.Equal(64 * MathF.Pow(2, -24), TanhRootSolver.DefaultTolerance<float>());
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.7)]
    [InlineData(-3.0)]
    [InlineData(25.0)]
    [InlineData(-300.0)]
    public void SechSquared_MatchesItsClosedForm_AlsoWhereOneMinusTanhSquaredCancels(double t)
    {
        // sech²(t) = 4e^(−2|t|)/(1 + e^(−2|t|))², which stays accurate for large |t|; at t = 25 or 300, 1 − tanh² is 0.
        double e = Math.Exp(-2 * Math.Abs(t));
        double expected = 4 * e / ((1 + e) * (1 + e));

        double actual = TanhRootSolver.SechSquared(t);

        Assert.True(Math.Abs(actual - expected) <= Tolerance.ScalarFunctionRelative * expected, $"t = {t}: expected {expected:R}, got {actual:R}");
    }
}
