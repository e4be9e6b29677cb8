using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Numerics;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors.Continuous;

/// <summary>
/// The adjoint gradients of <see cref="ContinuousFlow{T}"/> against back-propagation through the solver's steps: the
/// same RK4 scheme written with the tape's general ops (the field as Linear and Tanh, the exact trace as d
/// Jacobian–vector products built from the same ops), differentiated by the tape. The two differ only by the
/// discretization (the continuous adjoint is not the gradient of the discrete map), which fine steps make negligible.
/// </summary>
public sealed class AdjointReferenceTests
{
    private const int Steps = 40;

    [Fact]
    public void AdjointGradients_MatchBackPropagationThroughRungeKutta4Steps()
    {
        var flow = BijectorCases.Randomized(new ContinuousFlow<double>(2, options: new()
        {
            // The reference below writes this field (tanh of x and t alone) with the tape's ops.
            HiddenFeatures = [6, 5],
            TimeFrequencies = 0,
            Activation = VectorFieldActivation.Tanh,
            Solver = new OdeOptions { Method = OdeMethod.RungeKutta4, Steps = Steps },
        }, seed: 3), 11, scale: 0.6);
        double[,] z = TestData.StandardNormal(3, 2, seed: 4);
        double[] w = TestData.StandardNormal(6, seed: 5);
        double[] v = TestData.StandardNormal(3, seed: 6);

        // The adjoint: Σ w ⊙ x + Σ v ⊙ log-det through the bijector.
        var tape = new Tape<double>();
        (Node<double> x, Node<double> logDet) = flow.Forward(tape, tape.Constant(TestData.Flatten(z), 3, 2));
        tape.Backward(Loss(tape, x, logDet, w, v));
        double[][] adjoint = [.. flow.Parameters.Select(p => p.Gradients.ToArray())];
        foreach (Parameter<double> parameter in flow.Parameters)
        {
            parameter.ZeroGradients();
        }

        // The reference: the RK4 steps on the tape.
        var reference = new Tape<double>();
        (Node<double> xr, Node<double> logDetR) = RungeKutta4OnTape(reference, flow, reference.Constant(TestData.Flatten(z), 3, 2));
        reference.Backward(Loss(reference, xr, logDetR, w, v));

        AssertClose.All(x.Values, xr.Values, 1e-12, "the solved map");
        AssertClose.All(logDet.Values, logDetR.Values, 1e-12, "the log-det");
        for (int p = 0; p < flow.Parameters.Count; p++)
        {
            AssertClose.All(flow.Parameters[p].Gradients, adjoint[p], 1e-6, flow.Parameters[p].Name);
        }
    }

    private static Node<double> Loss(Tape<double> tape, Node<double> x, Node<double> logDet, double[] w, double[] v)
        => tape.Add(tape.Sum(tape.Multiply(x, tape.Constant(w, x.Rows, x.Columns))), tape.Sum(tape.Multiply(logDet, tape.Constant(v, x.Rows, 1))));

    private static (Node<double> X, Node<double> LogDet) RungeKutta4OnTape(Tape<double> tape, ContinuousFlow<double> flow, Node<double> y)
    {
        int n = y.Rows;
        double h = 1.0 / Steps;
        Node<double> l = tape.Constant(new double[n], n, 1);
        for (int step = 0; step < Steps; step++)
        {
            double t = step * h;
            (Node<double> f1, Node<double> g1) = Field(tape, flow, y, t);
            (Node<double> f2, Node<double> g2) = Field(tape, flow, tape.Add(y, tape.Scale(f1, h / 2)), t + (h / 2));
            (Node<double> f3, Node<double> g3) = Field(tape, flow, tape.Add(y, tape.Scale(f2, h / 2)), t + (h / 2));
            (Node<double> f4, Node<double> g4) = Field(tape, flow, tape.Add(y, tape.Scale(f3, h)), t + h);
            y = tape.Add(y, tape.Scale(tape.Add(tape.Add(f1, tape.Scale(tape.Add(f2, f3), 2)), f4), h / 6));
            l = tape.Add(l, tape.Scale(tape.Add(tape.Add(g1, tape.Scale(tape.Add(g2, g3), 2)), g4), h / 6));
        }

        return (y, l);
    }

    // f(y, t) and tr(∂f/∂y) from the general ops: u = [y, t], aₗ = Linear, hₗ = tanh; the trace as Σₖ (J eₖ)ₖ with
    // J eₖ propagated as ȧ₀ = W₀ eₖ, ȧₗ₊₁ = Wₗ₊₁ ((1 − hₗ²) ⊙ ȧₗ).
    private static (Node<double> F, Node<double> Trace) Field(Tape<double> tape, ContinuousFlow<double> flow, Node<double> y, double t)
    {
        int n = y.Rows;
        int d = y.Columns;
        IReadOnlyList<Parameter<double>> p = flow.Parameters;
        int layers = p.Count / 2;
        Node<double> time = tape.Constant(Enumerable.Repeat(t, n).ToArray(), n, 1);
        Node<double> h = tape.ConcatenateColumns(y, time);
        var slopes = new List<Node<double>>();
        for (int l = 0; l < layers; l++)
        {
            Node<double> a = tape.Linear(h, tape.Use(p[2 * l]), tape.Use(p[(2 * l) + 1]));
            if (l == layers - 1)
            {
                h = a;
                break;
            }

            h = tape.Tanh(a);
            slopes.Add(tape.Add(tape.Negate(tape.Multiply(h, h)), tape.Constant(Enumerable.Repeat(1.0, h.Columns).ToArray(), 1, h.Columns)));
        }

        Node<double>? trace = null;
        for (int k = 0; k < d; k++)
        {
            var unit = new double[n * (d + 1)];
            var pick = new double[d];
            pick[k] = 1;
            for (int i = 0; i < n; i++)
            {
                unit[(i * (d + 1)) + k] = 1;
            }

            Node<double> tangent = tape.Linear(tape.Constant(unit, n, d + 1), tape.Use(p[0]));
            for (int l = 1; l < layers; l++)
            {
                tangent = tape.Linear(tape.Multiply(slopes[l - 1], tangent), tape.Use(p[2 * l]));
            }

            Node<double> diagonal = tape.RowSums(tape.Multiply(tangent, tape.Constant(pick, 1, d)));
            trace = trace is null ? diagonal : tape.Add(trace, diagonal);
        }

        return (h, trace!);
    }
}
