using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Numerics;
using Flows.Tests.Testing;
using MathNet.Numerics.LinearAlgebra;

namespace Flows.Tests.Bijectors.Continuous;

/// <summary>The continuous flow: closed forms of a linear field, the trace estimators, the vector field's hand-derived
/// reverse pass, and the adjoint gradients against finite differences (the shared suite runs the rest).</summary>
public sealed class ContinuousFlowTests : IFamilyCases
{
    // Tight enough that round trips, cancelling log-dets and finite differences meet the suite's double tolerances.
    internal static readonly OdeOptions Tight = new() { RelativeTolerance = 1e-12, AbsoluteTolerance = 1e-12 };

    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("ContinuousFlow(d=2, h=[8])",
            s => BijectorCases.Randomized(new ContinuousFlow<double>(2, options: new()
            {
                HiddenFeatures = [8], TimeFrequencies = 0, Activation = VectorFieldActivation.Tanh, Solver = Tight,
            }, seed: s), s, 0.3), OutputRange.Real, 1e3),
        new("ContinuousFlow(d=3, h=[5, 4], context 2)",
            s => BijectorCases.Randomized(new FixedContext(new ContinuousFlow<double>(3, 2, new()
            {
                HiddenFeatures = [5, 4], TimeFrequencies = 0, Activation = VectorFieldActivation.Tanh, Solver = Tight,
            }, seed: s), [0.7, -1.3]), s),
            OutputRange.Real, 1e3),
        new("ContinuousFlow(d=2, h=[6], swish, 2 time frequencies)",
            s => BijectorCases.Randomized(new ContinuousFlow<double>(2, options: new()
            {
                HiddenFeatures = [6], TimeFrequencies = 2, Activation = VectorFieldActivation.Swish, Solver = Tight,
            }, seed: s), s, 0.3), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("ContinuousFlow", () => Randomized(new ContinuousFlow<T>(2, options: new() { HiddenFeatures = [6] }, seed: 3), 5)),
        new("ContinuousFlow(RK4, Hutchinson)", () => Randomized(new ContinuousFlow<T>(2, options: new()
        {
            HiddenFeatures = [4, 3],
            Solver = new OdeOptions { Method = OdeMethod.RungeKutta4, Steps = 7 },
            ExactTraceMaxDimension = 1,
            Probe = HutchinsonProbe.Gaussian,
        }, seed: 3), 5)),
        new("ContinuousFlow(softplus, 3 time frequencies)", () => Randomized(new ContinuousFlow<T>(2, 1, new()
        {
            HiddenFeatures = [5], TimeFrequencies = 3, Activation = VectorFieldActivation.Softplus,
        }, seed: 3), 5)),
    ];

    [Fact]
    public void LinearField_ForwardIsMatrixExponential_AndLogDetIsTrace()
    {
        Matrix<double> a = Matrix<double>.Build.DenseOfArray(new[,] { { -0.3, 1.2 }, { -0.8, 0.5 } });
        ContinuousFlow<double> flow = LinearFlow(a, new OdeOptions { RelativeTolerance = 1e-10, AbsoluteTolerance = 1e-10 });
        double[,] z = TestData.StandardNormal(5, 2, seed: 3);

        (double[,] x, double[] logDet) = flow.Forward(z);

        Matrix<double> expected = Matrix<double>.Build.DenseOfArray(z) * MatrixExponential.Of(a).Transpose();
        AssertClose.All(expected.ToArray(), x, 1e-8);
        foreach (double value in logDet)
        {
            Assert.Equal(a.Trace(), value, 1e-9);
        }
    }

    [Fact]
    public void LinearField_InverseIsExponentialOfMinusA_WithFixedStepRungeKutta4()
    {
        Matrix<double> a = Matrix<double>.Build.DenseOfArray(new[,] { { 0.4, -0.9, 0.1 }, { 0.7, -0.2, 0.3 }, { 0.0, 0.5, -0.6 } });
        ContinuousFlow<double> flow = LinearFlow(a, new OdeOptions { Method = OdeMethod.RungeKutta4, Steps = 200 });
        double[,] x = TestData.StandardNormal(4, 3, seed: 5);

        (double[,] z, double[] logDet) = flow.Inverse(x);

        Matrix<double> expected = Matrix<double>.Build.DenseOfArray(x) * MatrixExponential.Of(-a).Transpose();
        AssertClose.All(expected.ToArray(), z, 1e-9);
        Assert.All(logDet, value => Assert.Equal(-a.Trace(), value, 1e-12));
        // Fixed steps: 4 evaluations per step and row.
        Assert.Equal(4 * 200 * 4, flow.FunctionEvaluations);
    }

    [Fact]
    public void Hutchinson_IsUnbiasedForTheExactLogDet()
    {
        var options = new ContinuousFlowOptions { HiddenFeatures = [8], Solver = new OdeOptions { Method = OdeMethod.RungeKutta4, Steps = 8 } };
        ContinuousFlow<double> exact = BijectorCases.Randomized(new ContinuousFlow<double>(3, options: options, seed: 1), 4);
        ContinuousFlow<double> estimated = new(3, options: options with { ExactTraceMaxDimension = 2, Probe = HutchinsonProbe.Gaussian }, seed: 9);
        exact.Parameters.Zip(estimated.Parameters).ToList().ForEach(p => p.First.Values.CopyTo(p.Second.Values, 0));
        double[] row = [0.3, -0.8, 1.1];
        const int Rows = 4000;
        var z = new double[Rows, 3];
        for (int i = 0; i < Rows; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                z[i, j] = row[j];
            }
        }

        double truth = exact.Forward(TestData.AsRow(row)).LogDet[0];
        double[] samples = estimated.Forward(z).LogDet;

        Assert.False(estimated.IsTraceExact);
        double mean = samples.Average();
        double standardError = Math.Sqrt(samples.Sum(s => (s - mean) * (s - mean)) / (Rows - 1) / Rows);
        Assert.True(standardError > 0, "the estimates vary with the probe");
        Assert.True(Math.Abs(mean - truth) < 4 * standardError, $"mean {mean:R}, exact {truth:R}, standard error {standardError:G3}");
    }

    [Theory]
    [InlineData(VectorFieldActivation.Tanh, 0)]
    [InlineData(VectorFieldActivation.Tanh, 2)]
    [InlineData(VectorFieldActivation.Softplus, 2)]
    [InlineData(VectorFieldActivation.Swish, 3)]
    public void FieldBackward_MatchesCentralDifferencesOfVelocityAndTrace(VectorFieldActivation activation, int timeFrequencies)
    {
        var flow = BijectorCases.Randomized(new ContinuousFlow<double>(3, 2, new()
        {
            HiddenFeatures = [5, 4], Activation = activation, TimeFrequencies = timeFrequencies,
        }, seed: 2), 6);
        VectorField<double> field = flow.Field;
        VectorField<double>.Workspace w = field.CreateWorkspace();
        double[] x = [0.4, -0.3, 0.9];
        double[] context = [1.1, -0.6];
        double[] lambda = [0.7, -1.2, 0.4];
        const double Mu = 0.8;
        const double Time = 0.35;
        double[] probes = [0.5, -1.0, 2.0, 1.5, 0.3, -0.7];

        foreach (double[] probe in new[] { Array.Empty<double>(), probes })
        {
            double Objective()
            {
                var f = new double[3];
                field.Velocity(x, Time, context, f, w);
                return lambda.Zip(f, (l, v) => l * v).Sum() + (Mu * field.TraceTerm(probe, w));
            }

            var gx = new double[3];
            var gc = new double[2];
            var gp = new double[field.ParameterCount];
            field.Velocity(x, Time, context, new double[3], w);
            field.Backward(lambda, Mu, probe, 1.0, gx, gc, gp, w);

            AssertClose.All(FiniteDifference.Gradient(Objective, x, 1e-6), gx, 1e-7, "∂/∂x");
            AssertClose.All(FiniteDifference.Gradient(Objective, context, 1e-6), gc, 1e-7, "∂/∂c");
            int offset = 0;
            foreach (Parameter<double> parameter in field.Parameters)
            {
                AssertClose.All(FiniteDifference.Gradient(Objective, parameter.Values, 1e-6), gp.AsSpan(offset, parameter.Values.Length), 1e-7, parameter.Name);
                offset += parameter.Values.Length;
            }
        }
    }

    [Fact]
    public void ContextGradient_OfTheSolve_MatchesCentralDifferences()
    {
        var flow = BijectorCases.Randomized(new ContinuousFlow<double>(2, 2, new() { HiddenFeatures = [6], Solver = Tight }, seed: 4), 8);
        double[,] x = TestData.StandardNormal(3, 2, seed: 2);
        double[] context = [0.5, -0.9, 1.4, 0.2, -0.3, 0.8];
        var contextParameter = new Parameter<double>("context", 3, 2);
        context.CopyTo(contextParameter.Values, 0);
        double[] weights = TestData.StandardNormal(6, seed: 5);
        double Loss(Tape<double> tape, Node<double> c)
        {
            (Node<double> z, Node<double> logDet) = flow.Inverse(tape, tape.Constant(TestData.Flatten(x), 3, 2), c);
            return tape.Add(tape.Sum(tape.Multiply(z, tape.Constant(weights, 3, 2))), tape.Sum(logDet)).Values[0];
        }

        var tape = new Tape<double>();
        (Node<double> z, Node<double> logDet) = flow.Inverse(tape, tape.Constant(TestData.Flatten(x), 3, 2), tape.Use(contextParameter));
        tape.Backward(tape.Add(tape.Sum(tape.Multiply(z, tape.Constant(weights, 3, 2))), tape.Sum(logDet)));

        double[] expected = FiniteDifference.Gradient(
            () => Loss(new Tape<double>(isRecording: false), new Tape<double>(isRecording: false).Constant(contextParameter.Values, 3, 2)),
            contextParameter.Values, 1e-6);
        AssertClose.All(expected, contextParameter.Gradients, 1e-6, "∂/∂context");
    }

    // The batched field on the tape (flow matching's) and the row-wise one (the solver's) are one function.
    [Theory]
    [InlineData(VectorFieldActivation.Tanh, 0)]
    [InlineData(VectorFieldActivation.Softplus, 1)]
    [InlineData(VectorFieldActivation.Swish, 4)]
    public void Velocity_OnTheTape_EqualsTheRowWiseField(VectorFieldActivation activation, int timeFrequencies)
    {
        var flow = BijectorCases.Randomized(new ContinuousFlow<double>(3, 2, new()
        {
            HiddenFeatures = [7, 5], Activation = activation, TimeFrequencies = timeFrequencies,
        }, seed: 5), 9);
        double[] x = TestData.StandardNormal(15, seed: 1);
        double[] context = TestData.StandardNormal(10, seed: 2);
        double[] times = [0.0, 0.25, 0.6, 0.97, 1.0];
        var tape = new Tape<double>(isRecording: false);

        Node<double> velocity = flow.Velocity(tape, tape.Constant(x, 5, 3), tape.Constant(times, 5, 1), tape.Constant(context, 5, 2));

        VectorField<double> field = flow.Field;
        VectorField<double>.Workspace w = field.CreateWorkspace();
        var f = new double[3];
        for (int i = 0; i < 5; i++)
        {
            field.Velocity(x.AsSpan(3 * i, 3), times[i], context.AsSpan(2 * i, 2), f, w);
            AssertClose.All(f, velocity.Values.Slice(3 * i, 3), 1e-13, $"row {i}");
        }
    }

    [Fact]
    public void Velocity_GradientsMatchCentralDifferences()
    {
        var flow = BijectorCases.Randomized(new ContinuousFlow<double>(2, options: new() { HiddenFeatures = [6, 5], TimeFrequencies = 2, Activation = VectorFieldActivation.Swish }, seed: 4), 3);
        double[] x = TestData.StandardNormal(8, seed: 1);
        double[] times = [0.1, 0.5, 0.9, 0.0];
        double[] weights = TestData.StandardNormal(8, seed: 2);
        var input = new Parameter<double>("x", 4, 2);
        x.CopyTo(input.Values, 0);
        double Loss()
        {
            var tape = new Tape<double>(isRecording: false);
            Node<double> v = flow.Velocity(tape, tape.Constant(input.Values, 4, 2), tape.Constant(times, 4, 1), null);
            return v.Values.ToArray().Zip(weights, (a, b) => a * b).Sum();
        }

        var recording = new Tape<double>();
        Node<double> velocity = flow.Velocity(recording, recording.Use(input), recording.Constant(times, 4, 1), null);
        recording.Backward(recording.Sum(recording.Multiply(velocity, recording.Constant(weights, 4, 2))));

        AssertClose.All(FiniteDifference.Gradient(Loss, input.Values, 1e-6), input.Gradients, 1e-7, "∂/∂x");
        foreach (Parameter<double> parameter in flow.Parameters)
        {
            AssertClose.All(FiniteDifference.Gradient(Loss, parameter.Values, 1e-6), parameter.Gradients, 1e-7, parameter.Name);
        }
    }

    [Fact]
    public void NewFlow_IsTheIdentity()
    {
        var flow = new ContinuousFlow<double>(3);
        double[,] z = TestData.StandardNormal(4, 3, seed: 1);

        (double[,] x, double[] logDet) = flow.Forward(z);

        AssertClose.All(z, x, 0);
        Assert.All(logDet, value => Assert.Equal(0.0, value));
    }

    [Fact]
    public void Solve_ThatMissesItsBudget_ThrowsNamingFlowAndRow()
    {
        var flow = BijectorCases.Randomized(new ContinuousFlow<double>(2, options: new()
        {
            HiddenFeatures = [4],
            Solver = new OdeOptions { RelativeTolerance = 1e-13, AbsoluteTolerance = 1e-13, MaxSteps = 3 },
        }), 1, scale: 2);

        var exception = Assert.Throws<InvalidOperationException>(() => flow.Forward(TestData.StandardNormal(2, 2, seed: 1)));

        Assert.Contains("ContinuousFlow(dimension: 2", exception.Message, StringComparison.Ordinal);
        Assert.Contains("row 0", exception.Message, StringComparison.Ordinal);
        Assert.Contains("MaxSteps", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_ThrowsForNonPositiveHiddenWidth()
        => Assert.Throws<ArgumentOutOfRangeException>("HiddenFeatures", () => new ContinuousFlow<double>(2, options: new() { HiddenFeatures = [4, 0] }));

    [Fact]
    public void Constructor_ThrowsForNonPositiveDimension()
        => Assert.Throws<ArgumentOutOfRangeException>("dimension", () => new ContinuousFlow<double>(0));

    // f(x, t) = A x: no hidden layer, the time column and the bias zero.
    private static ContinuousFlow<double> LinearFlow(Matrix<double> a, OdeOptions solver)
    {
        int d = a.RowCount;
        var flow = new ContinuousFlow<double>(d, options: new() { HiddenFeatures = [], TimeFrequencies = 0, Solver = solver });
        Parameter<double> weight = flow.Parameters[0];
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < d; j++)
            {
                weight.Values[(i * (d + 1)) + j] = a[i, j];
            }
        }

        return flow;
    }

    private static ContinuousFlow<T> Randomized<T>(ContinuousFlow<T> flow, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(seed);
        foreach (Parameter<T> parameter in flow.Parameters)
        {
            for (int k = 0; k < parameter.Values.Length; k++)
            {
                parameter.Values[k] = T.CreateTruncating(0.5 * TestData.NextNormal(random));
            }
        }

        return flow;
    }
}
