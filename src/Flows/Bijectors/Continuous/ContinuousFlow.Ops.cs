using System.Numerics;
using System.Numerics.Tensors;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

// The tape ops of the family: the solve (both directions, with the adjoint backward pass) and the velocity f(x, t, c)
// that flow matching regresses (the field's layers on the tape).
public sealed partial class ContinuousFlow<T>
{
    /// <summary>
    /// f(x, t, c) on the tape, one time per row: the velocity that flow matching regresses onto the target path's. The
    /// backward pass gives the gradients with respect to x, the context and the parameters.
    /// </summary>
    /// <param name="tape">The tape.</param>
    /// <param name="x">n × Dimension points.</param>
    /// <param name="time">n × 1 times (constant: no gradient flows into them).</param>
    /// <param name="context">n × ContextDimension, or null when unconditional.</param>
    /// <returns>n × Dimension velocities.</returns>
    internal Node<T> Velocity(Tape<T> tape, Node<T> x, Node<T> time, Node<T>? context)
    {
        CountEvaluations(x.Rows);
        return _field.Apply(tape, x, time.Values, context);
    }

    // Solves every row from t0 to t1 on the augmented state [y, ℓ], ℓ′ = tr(∂f/∂y) (or Hutchinson's term).
    private (Node<T> Output, Node<T> LogDet) Solve(Tape<T> tape, Node<T> input, Node<T>? context, T t0, T t1)
    {
        int n = input.Rows;
        int d = Dimension;
        int c = ContextDimension;
        Node<T> output = tape.Allocate(n, d);
        Node<T> logDet = tape.Allocate(n, 1);
        T[] probes = DrawProbes(n);
        var system = new AugmentedSystem(_field, probes.Length > 0);
        var solver = new OdeSolver<T>(Options.Solver, d + 1);
        var state = new T[d + 1];
        long evaluations = 0;
        for (int i = 0; i < n; i++)
        {
            input.Values.Slice(i * d, d).CopyTo(state);
            state[d] = T.Zero;
            if (context is not null)
            {
                context.Values.Slice(i * c, c).CopyTo(system.Context);
            }

            system.Probe = probes.Length == 0 ? default : probes.AsMemory(i * d, d);
            evaluations += Run(solver, system, t0, t1, state, i, "solve");
            state.AsSpan(0, d).CopyTo(output.Values.Slice(i * d, d));
            logDet.Values[i] = state[d];
        }

        CountEvaluations(evaluations);
        if (tape.IsRecording)
        {
            Node<T>[] parameters = [.. Parameters.Select(tape.Use)];
            tape.Record(SolveBackward.Instance, output, input, context, parameters[0], output1: logDet,
                state: new OpState(this, parameters, t0, t1, probes));
        }

        return (output, logDet);
    }

    private long Run(OdeSolver<T> solver, IOdeSystem<T> system, T t0, T t1, Span<T> state, int row, string what, int controlled = -1)
    {
        try
        {
            return solver.Solve(system, t0, t1, state, controlled).FunctionEvaluations;
        }
        catch (InvalidOperationException exception)
        {
            throw new InvalidOperationException($"{this}: the {what} of row {row} failed. {exception.Message}", exception);
        }
    }

    // Adds a flat gradient (in Parameters order) into the parameters' nodes on the tape.
    private static void Distribute(ReadOnlySpan<T> flat, Node<T>[] parameters)
    {
        int offset = 0;
        foreach (Node<T> parameter in parameters)
        {
            Span<T> gradient = parameter.Gradients;
            TensorPrimitives.Add(gradient, flat.Slice(offset, gradient.Length), gradient);
            offset += gradient.Length;
        }
    }

    private sealed record OpState(ContinuousFlow<T> Flow, Node<T>[] Parameters, T Start, T End, T[] Probes);

    // [y, ℓ]′ = [f(y, t, c), Σₚ vₚᵀ (∂f/∂y) vₚ].
    private sealed class AugmentedSystem(VectorField<T> field, bool hutchinson) : IOdeSystem<T>
    {
        private readonly VectorField<T>.Workspace _workspace = field.CreateWorkspace();

        // The row's context, copied in before each solve.
        public T[] Context { get; } = new T[field.ContextDimension];

        public ReadOnlyMemory<T> Probe { get; set; }

        public void Evaluate(T t, ReadOnlySpan<T> y, Span<T> derivative)
        {
            int d = field.Dimension;
            field.Velocity(y[..d], t, Context, derivative[..d], _workspace);
            derivative[d] = field.TraceTerm(hutchinson ? Probe.Span : default, _workspace);
        }
    }

    // The adjoint system [y, λ, g_θ, g_c]′ = [f, −∂Λ/∂y, −∂Λ/∂θ, −∂Λ/∂c] with Λ = λᵀ f + μ Σₚ vₚᵀ J vₚ.
    private sealed class AdjointSystem(VectorField<T> field, bool hutchinson, bool needsContext) : IOdeSystem<T>
    {
        private readonly VectorField<T>.Workspace _workspace = field.CreateWorkspace();

        // The row's context, copied in before each solve.
        public T[] Context { get; } = new T[field.ContextDimension];

        public ReadOnlyMemory<T> Probe { get; set; }

        public T Mu { get; set; }

        public void Evaluate(T t, ReadOnlySpan<T> y, Span<T> derivative)
        {
            int d = field.Dimension;
            int p = field.ParameterCount;
            int c = field.ContextDimension;
            field.Velocity(y[..d], t, Context, derivative[..d], _workspace);
            Span<T> rest = derivative[d..];
            rest.Clear();
            field.Backward(y.Slice(d, d), Mu, hutchinson ? Probe.Span : default, -T.One, rest[..d], needsContext ? rest.Slice(d + p, c) : default,
                rest.Slice(d, p), _workspace);
        }
    }

    private static class SolveBackward
    {
        public static readonly Backward<T> Instance = Run;

        private static void Run(in TapeEntry<T> e)
        {
            var op = (OpState)e.State!;
            ContinuousFlow<T> flow = op.Flow;
            VectorField<T> field = flow._field;
            Node<T> input = e.Input0;
            Node<T>? context = e.Input1;
            int n = input.Rows;
            int d = flow.Dimension;
            int c = flow.ContextDimension;
            int p = field.ParameterCount;
            bool needsContext = context is not null && context.RequiresGradient;
            bool hutchinson = op.Probes.Length > 0;
            var system = new AdjointSystem(field, hutchinson, needsContext);
            int width = (2 * d) + p + c;
            var solver = new OdeSolver<T>(flow.Options.Solver, width);
            var state = new T[width];
            var parameterGradient = new T[p];
            ReadOnlySpan<T> outputGradient = e.Output.Gradients;
            ReadOnlySpan<T> logDetGradient = e.Output1!.Gradients;
            long evaluations = 0;
            for (int i = 0; i < n; i++)
            {
                ReadOnlySpan<T> lambda = outputGradient.Slice(i * d, d);
                T mu = logDetGradient[i];
                if (mu == T.Zero && !lambda.ContainsAnyExcept(T.Zero))
                {
                    continue;
                }

                // From the end back to the start: y from the solved output, λ and μ from the loss, the integrals from 0.
                Array.Clear(state);
                e.Output.Values.Slice(i * d, d).CopyTo(state);
                lambda.CopyTo(state.AsSpan(d, d));
                system.Mu = mu;
                if (context is not null)
                {
                    context.Values.Slice(i * c, c).CopyTo(system.Context);
                }

                system.Probe = hutchinson ? op.Probes.AsMemory(i * d, d) : default;
                evaluations += flow.Run(solver, system, op.End, op.Start, state, i, "adjoint solve", controlled: 2 * d);
                if (input.RequiresGradient)
                {
                    Span<T> gx = input.Gradients.Slice(i * d, d);
                    TensorPrimitives.Add(gx, state.AsSpan(d, d), gx);
                }

                if (needsContext)
                {
                    Span<T> gc = context!.Gradients.Slice(i * c, c);
                    TensorPrimitives.Add(gc, state.AsSpan((2 * d) + p, c), gc);
                }

                TensorPrimitives.Add(parameterGradient, state.AsSpan(2 * d, p), parameterGradient);
            }

            flow.CountEvaluations(evaluations);
            Distribute(parameterGradient, op.Parameters);
        }
    }
}
