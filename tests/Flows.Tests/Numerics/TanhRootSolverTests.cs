using System.Numerics;
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

    // Issue #12 item 6: a planar layer fitted to U1 (samples/EnergyFunctions, --flow planar1) threw "did not converge in
    // 200 iterations (residual 5.12...)" at the grid point (−1.02, 3.98). Unguarded Newton steps on this tanh-shaped
    // equation settle into a 2-cycle between the ends of the bracket (t ≈ −3.44 and t ≈ 1.59): every step lands inside
    // the bracket, so bisection never ran, and the bracket shrank by less each time.
    [Fact]
    public void RootSolver_Converges_WhereUnguardedNewtonCyclesBetweenTheBracketEnds()
    {
        const double target = -3.3958712780544946;
        const double a = 5.086789354930115;
        const double c = -0.08643513531941739;

        bool converged = TanhRootSolver.TrySolve(target, a, 1.0, c, 1e-12, out double root, out double residual);

        Assert.True(converged, $"residual {residual}");
        AssertIsRoot(target, a, 1.0, c, 1e-12, root, 2.2e-16);
    }

    // The extremes of the planar and Sylvester use: a·s from just above −1 (the Jacobian floor 1e-6 of the planar
    // reparameterization) to 1e6, slopes s from 1e-3 to 1e3, saturated shifts c and far targets, in both element types.
    // Every case must converge within half the iteration limit (a guarded solve halves its bracket at least every
    // other step), stay in its bracket, and bracket a sign change of f at the tolerance.
    [Fact]
    public void RootSolver_Converges_ForExtremeParameters_InDouble() => AssertExtremeSweepConverges<double>();

    [Fact]
    public void RootSolver_Converges_ForExtremeParameters_InFloat() => AssertExtremeSweepConverges<float>();

    // The 2-cycles are narrow in the target (about 1 in 1000 of the bracket for a = 5), so a coarse sweep misses them:
    // here 20,000 targets evenly across the bracket widened by 3, for the amplitudes where unguarded Newton cycles.
    [Fact]
    public void RootSolver_Converges_ForEveryTargetAcrossTheBracket_InDouble() => AssertDenseTargetScanConverges<double>();

    [Fact]
    public void RootSolver_Converges_ForEveryTargetAcrossTheBracket_InFloat() => AssertDenseTargetScanConverges<float>();

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
    private static void AssertExtremeSweepConverges<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        double[] products = [-1 + 1e-6, -1 + 1e-3, -0.9, -0.3, 0, 0.5, 5, 50, 1e3, 1e6];
        double[] slopes = [1e-3, 1, 1e3];
        double[] shifts = [0, 0.7, -3, 40, -400];
        double[] targets = [0, 1e-3, -1, 3.5, -30, 1e3, -1e6, 1e9];
        T tolerance = TanhRootSolver.DefaultTolerance<T>();
        double ulp = double.CreateTruncating(T.One - T.BitDecrement(T.One));
        int cases = 0;
        foreach (double product in products)
        {
            foreach (double slope in slopes)
            {
                foreach (double shift in shifts)
                {
                    foreach (double target in targets)
                    {
                        // Both signs of a·s's factors: a = product/s with s > 0, and the mirrored a, s < 0.
                        foreach (double sign in (double[])[1, -1])
                        {
                            T a = T.CreateTruncating(sign * product / slope);
                            T s = T.CreateTruncating(sign * slope);
                            T c = T.CreateTruncating(shift);
                            T y = T.CreateTruncating(target);
                            string where = $"{typeof(T).Name}: target {y}, a {a}, s {s}, c {c}";

                            bool converged = TanhRootSolver.TrySolve(y, a, s, c, tolerance, out T root, out T residual, TanhRootSolver.MaxIterations / 2);

                            Assert.True(converged, $"{where}: residual {residual}");
                            Assert.True(root >= y - T.Abs(a) && root <= y + T.Abs(a), $"{where}: root {root} outside its bracket");
                            AssertIsRoot(double.CreateTruncating(y), double.CreateTruncating(a), double.CreateTruncating(s), double.CreateTruncating(c), double.CreateTruncating(tolerance), double.CreateTruncating(root), ulp, where);
                            cases++;
                        }
                    }
                }
            }
        }

        Assert.Equal(2400, cases);
    }

    private static void AssertDenseTargetScanConverges<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int count = 20_000;
        T tolerance = TanhRootSolver.DefaultTolerance<T>();
        double ulp = double.CreateTruncating(T.One - T.BitDecrement(T.One));
        foreach (double amplitude in (double[])[4, 5, 6, 8, 12, 20, -0.999])
        {
            foreach (double shift in (double[])[0, -0.0864, 2])
            {
                double width = (2 * Math.Abs(amplitude)) + 6;
                for (int k = 0; k < count; k++)
                {
                    T y = T.CreateTruncating(-Math.Abs(amplitude) - 3 + (width * (k + 0.5) / count));
                    T a = T.CreateTruncating(amplitude);
                    T c = T.CreateTruncating(shift);
                    string where = $"{typeof(T).Name}: target {y}, a {a}, c {c}";

                    bool converged = TanhRootSolver.TrySolve(y, a, T.One, c, tolerance, out T root, out T residual, TanhRootSolver.MaxIterations / 2);

                    Assert.True(converged, $"{where}: residual {residual}");
                    AssertIsRoot(double.CreateTruncating(y), amplitude, 1, shift, double.CreateTruncating(tolerance), double.CreateTruncating(root), ulp, where);
                }
            }
        }
    }

    // An oracle independent of the solver: f(t) = t + a·tanh(s·t + c) − target, evaluated in double, changes sign across
    // root ± the step tolerance, up to the rounding of f in the solver's element type (a few ulp of its largest term).
    private static void AssertIsRoot(double target, double a, double s, double c, double tolerance, double root, double ulp, string where = "")
    {
        double F(double t) => t + (a * Math.Tanh((s * t) + c)) - target;
        double delta = 2 * tolerance * (1 + Math.Abs(root));
        double slack = 8 * ulp * (Math.Abs(target) + Math.Abs(a) + Math.Abs(root));

        Assert.True(F(root - delta) <= slack, $"{where}: f(root − δ) = {F(root - delta):R} > 0 at root {root:R}");
        Assert.True(F(root + delta) >= -slack, $"{where}: f(root + δ) = {F(root + delta):R} < 0 at root {root:R}");
    }
}
