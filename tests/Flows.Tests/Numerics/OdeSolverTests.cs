using Flows.Numerics;
using Flows.Tests.Testing;
using MathNet.Numerics.LinearAlgebra;

namespace Flows.Tests.Numerics;

/// <summary>The ODE solvers on the linear field dy/dt = A y, whose flow map over [t₀, t₁] is e^{(t₁−t₀)A}.</summary>
public sealed class OdeSolverTests
{
    private static readonly Matrix<double> s_a = Matrix<double>.Build.DenseOfArray(new[,]
    {
        { -0.4, 1.3, 0.2 },
        { -1.1, 0.3, 0.5 },
        { 0.2, -0.7, -0.6 },
    });

    private static readonly double[] s_start = [0.8, -1.2, 0.5];

    public static TheoryData<double> Tolerances => [1e-4, 1e-7, 1e-10];

    [Theory]
    [MemberData(nameof(Tolerances))]
    public void DormandPrince_MatchesMatrixExponential_ToTheToleranceAsked(double tolerance)
    {
        var solver = new OdeSolver<double>(new OdeOptions { RelativeTolerance = tolerance, AbsoluteTolerance = tolerance }, 3);
        double[] y = [.. s_start];

        solver.Solve(new Linear(s_a), 0.0, 1.0, y);

        double[] expected = [.. MatrixExponential.Of(s_a) * Vector<double>.Build.DenseOfArray(s_start)];
        // Local errors of at most the tolerance per step, over a handful of steps of a stable system.
        AssertClose.All(expected, y, 10 * tolerance, $"tolerance {tolerance}");
    }

    [Fact]
    public void DormandPrince_TighterToleranceGivesSmallerErrorAndMoreEvaluations()
    {
        double[] expected = [.. MatrixExponential.Of(s_a) * Vector<double>.Build.DenseOfArray(s_start)];
        (double Error, int Evaluations) Run(double tolerance)
        {
            var solver = new OdeSolver<double>(new OdeOptions { RelativeTolerance = tolerance, AbsoluteTolerance = tolerance }, 3);
            double[] y = [.. s_start];
            int evaluations = solver.Solve(new Linear(s_a), 0.0, 1.0, y).FunctionEvaluations;
            return (expected.Zip(y, (e, a) => Math.Abs(e - a)).Max(), evaluations);
        }

        (double loose, int looseEvaluations) = Run(1e-4);
        (double tight, int tightEvaluations) = Run(1e-10);

        Assert.True(tight < loose / 100, $"errors {loose:G3} at 1e-4, {tight:G3} at 1e-10");
        Assert.True(tightEvaluations > looseEvaluations, $"evaluations {looseEvaluations} at 1e-4, {tightEvaluations} at 1e-10");
    }

    [Fact]
    public void DormandPrince_CountsEveryEvaluation()
    {
        var system = new Linear(s_a);
        var solver = new OdeSolver<double>(new OdeOptions { RelativeTolerance = 1e-9, AbsoluteTolerance = 1e-9 }, 3);

        OdeSolveStatistics statistics = solver.Solve(system, 0.0, 2.0, [.. s_start]);

        Assert.Equal(system.Calls, statistics.FunctionEvaluations);
        // Two to choose the first step, then six per step tried (the seventh stage is the next step's first).
        Assert.Equal(2 + (6 * (statistics.AcceptedSteps + statistics.RejectedSteps)), statistics.FunctionEvaluations);
    }

    [Fact]
    public void DormandPrince_Backwards_MatchesInverseExponential()
    {
        var solver = new OdeSolver<double>(new OdeOptions { RelativeTolerance = 1e-10, AbsoluteTolerance = 1e-10 }, 3);
        double[] y = [.. s_start];

        solver.Solve(new Linear(s_a), 1.0, 0.0, y);

        double[] expected = [.. MatrixExponential.Of(-s_a) * Vector<double>.Build.DenseOfArray(s_start)];
        AssertClose.All(expected, y, 1e-9);
    }

    [Fact]
    public void RungeKutta4_ConvergesAtFourthOrder()
    {
        double[] expected = [.. MatrixExponential.Of(s_a) * Vector<double>.Build.DenseOfArray(s_start)];
        double Error(int steps)
        {
            var solver = new OdeSolver<double>(new OdeOptions { Method = OdeMethod.RungeKutta4, Steps = steps }, 3);
            double[] y = [.. s_start];
            Assert.Equal(4 * steps, solver.Solve(new Linear(s_a), 0.0, 1.0, y).FunctionEvaluations);
            return expected.Zip(y, (e, a) => Math.Abs(e - a)).Max();
        }

        double coarse = Error(10);
        double fine = Error(20);

        // Halving h divides a fourth-order method's global error by 2⁴ = 16.
        Assert.InRange(coarse / fine, 13.0, 19.0);
        Assert.True(Error(200) < 1e-9);
    }

    [Fact]
    public void RungeKutta4_Backwards_UndoesForwardsToItsOrder()
    {
        var solver = new OdeSolver<double>(new OdeOptions { Method = OdeMethod.RungeKutta4, Steps = 100 }, 3);
        double[] y = [.. s_start];

        solver.Solve(new Linear(s_a), 0.0, 1.0, y);
        solver.Solve(new Linear(s_a), 1.0, 0.0, y);

        AssertClose.All(s_start, y, 1e-8);
    }

    [Fact]
    public void Solve_ThrowsWhenMaxStepsIsReached_NamingTheSetting()
    {
        var solver = new OdeSolver<double>(new OdeOptions { RelativeTolerance = 1e-12, AbsoluteTolerance = 1e-12, MaxSteps = 5 }, 3);

        var exception = Assert.Throws<InvalidOperationException>(() => solver.Solve(new Linear(s_a), 0.0, 10.0, [.. s_start]));

        Assert.Contains("MaxSteps", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Solve_ThrowsForNonFiniteDerivative()
    {
        var solver = new OdeSolver<double>(null, 3);
        Matrix<double> a = s_a.Clone();
        a[0, 0] = double.NaN;

        var exception = Assert.Throws<InvalidOperationException>(() => solver.Solve(new Linear(a), 0.0, 1.0, [.. s_start]));

        Assert.Contains("must be finite", exception.Message, StringComparison.Ordinal);
    }

    // y′ = A y with the quadratures q′ = (y₀², y₁ y₂) riding along: only the first three components are read and watched.
    [Theory]
    [InlineData(OdeMethod.DormandPrince54)]
    [InlineData(OdeMethod.RungeKutta4)]
    public void Solve_IntegratesQuadraturesItDoesNotControl(OdeMethod method)
    {
        var options = new OdeOptions { Method = method, RelativeTolerance = 1e-10, AbsoluteTolerance = 1e-10, Steps = 400 };
        var withQuadratures = new double[5];
        s_start.CopyTo(withQuadratures, 0);
        var controlled = new OdeSolver<double>(options, 3);

        new OdeSolver<double>(options, 5).Solve(new LinearWithQuadratures(s_a), 0.0, 1.0, withQuadratures, controlled: 3);

        // The quadratures by the trapezoid rule on the reference trajectory, sampled finely.
        const int Intervals = 2000;
        double q0 = 0;
        double q1 = 0;
        double[] previous = [.. s_start];
        for (int k = 1; k <= Intervals; k++)
        {
            double[] next = [.. previous];
            controlled.Solve(new Linear(s_a), (k - 1) / (double)Intervals, k / (double)Intervals, next);
            q0 += 0.5 / Intervals * ((previous[0] * previous[0]) + (next[0] * next[0]));
            q1 += 0.5 / Intervals * ((previous[1] * previous[2]) + (next[1] * next[2]));
            previous = next;
        }

        double[] expected = (MatrixExponential.Of(s_a) * Vector<double>.Build.DenseOfArray(s_start)).ToArray();
        AssertClose.All(expected, withQuadratures.AsSpan(0, 3), 1e-8, "y(1)");
        AssertClose.All([q0, q1], withQuadratures.AsSpan(3, 2), 1e-6, "the quadratures (trapezoid error ~1e-7)");
    }

    [Fact]
    public void Solve_ThrowsForANonFiniteQuadrature_NamingTheComponent()
    {
        var solver = new OdeSolver<double>(null, 5);
        Matrix<double> a = s_a.Clone();
        var system = new LinearWithQuadratures(a) { PoisonQuadrature = true };
        double[] y = [.. s_start, 0, 0];

        var exception = Assert.Throws<InvalidOperationException>(() => solver.Solve(system, 0.0, 1.0, y, controlled: 3));

        Assert.Contains("quadrature component 4", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Solve_ThrowsForWrongStateLength()
        => Assert.Throws<ArgumentException>("y", () => new OdeSolver<double>(null, 3).Solve(new Linear(s_a), 0.0, 1.0, new double[2]));

    [Fact]
    public void Constructor_ThrowsForNonPositiveTolerance()
        => Assert.Throws<ArgumentOutOfRangeException>("RelativeTolerance", () => new OdeSolver<double>(new OdeOptions { RelativeTolerance = 0 }, 3));

    // [y, q]′ = [A y, y₀², y₁ y₂]; it never reads q (the solver's stages leave it at the step's start).
    private sealed class LinearWithQuadratures(Matrix<double> a) : IOdeSystem<double>
    {
        private readonly Linear _linear = new(a);

        public bool PoisonQuadrature { get; init; }

        public void Evaluate(double t, ReadOnlySpan<double> y, Span<double> derivative)
        {
            _linear.Evaluate(t, y[..3], derivative[..3]);
            derivative[3] = y[0] * y[0];
            derivative[4] = PoisonQuadrature && t > 0.5 ? double.NaN : y[1] * y[2];
        }
    }

    private sealed class Linear(Matrix<double> a) : IOdeSystem<double>
    {
        public int Calls { get; private set; }

        public void Evaluate(double t, ReadOnlySpan<double> y, Span<double> derivative)
        {
            Calls++;
            for (int i = 0; i < a.RowCount; i++)
            {
                double sum = 0;
                for (int j = 0; j < a.ColumnCount; j++)
                {
                    sum += a[i, j] * y[j];
                }

                derivative[i] = sum;
            }
        }
    }
}
