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

    // Solves every row from t0 to t1 on the augmented state [y, ℓ], ℓ′ = tr(∂f/∂y) (or Hutchinson's term). The
    // systems, solvers and states are the tape's buffers (TapeBuffers), so a step that reuses its tapes allocates nothing.
    private (Node<T> Output, Node<T> LogDet) Solve(Tape<T> tape, Node<T> input, Node<T>? context, T t0, T t1)
    {
        int n = input.Rows;
        int d = Dimension;
        int c = ContextDimension;
        Node<T> output = tape.Allocate(n, d);
        Node<T> logDet = tape.Allocate(n, 1);
        // Hutchinson's probes live in a node of the tape, where the backward pass finds them (Saved).
        Node<T>? probes = IsTraceExact ? null : tape.Allocate(n, d);
        if (probes is not null)
        {
            DrawProbes(probes.Values);
        }

        TapeBuffers buffers = Buffers(tape);
        AugmentedSystem system = buffers.Augmented;
        OdeSolver<T> solver = buffers.Solver;
        T[] state = buffers.State;
        long evaluations = 0;
        for (int i = 0; i < n; i++)
        {
            input.Values.Slice(i * d, d).CopyTo(state);
            state[d] = T.Zero;
            if (context is not null)
            {
                context.Values.Slice(i * c, c).CopyTo(system.Context);
            }

            if (probes is not null)
            {
                probes.Values.Slice(i * d, d).CopyTo(system.Probe);
            }

            evaluations += Run(solver, system, t0, t1, state, i, "solve");
            state.AsSpan(0, d).CopyTo(output.Values.Slice(i * d, d));
            logDet.Values[i] = state[d];
        }

        CountEvaluations(evaluations);
        if (tape.IsRecording)
        {
            Node<T>[] parameters = buffers.UseParameters(tape);
            // Flag 0: the solve ran forwards (0 → 1), 1: backwards (1 → 0).
            tape.Record(SolveBackward.Instance, output, input, context, parameters[0], output1: logDet, saved: probes,
                flag: t0 == T.Zero ? 0 : 1, state: buffers);
            // The rule writes every parameter's gradient (Distribute), not only the one it records.
            tape.CountUses(parameters.AsSpan(1));
        }

        return (output, logDet);
    }

    // The buffers of the solves recorded on (or run with) one tape. A tape runs on one thread at a time, so its
    // buffers are never shared by two threads; the table holds them as long as the tape lives (a fit's tapes live for
    // the fit) and lets them go with it.
    private TapeBuffers Buffers(Tape<T> tape)
    {
        if (!_buffers.TryGetValue(tape, out TapeBuffers? buffers))
        {
            buffers = new TapeBuffers(this);
            _buffers.AddOrUpdate(tape, buffers);
        }

        return buffers;
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

    // What a tape's solves of this flow reuse: the augmented system, its solver and state for the solves, the adjoint's
    // (made on the first backward pass: a no-gradient tape never needs them) and the parameters' nodes on the tape. It
    // is also the recorded op's state; what differs between two solves on one tape (direction, probes) is in the entry.
    private sealed class TapeBuffers
    {
        private readonly ContinuousFlow<T> _flow;
        private Node<T>[] _parameters = [];
        private AdjointSystem? _adjoint;
        private OdeSolver<T>? _adjointSolver;
        private T[] _adjointState = [];
        private T[] _parameterGradient = [];

        public TapeBuffers(ContinuousFlow<T> flow)
        {
            _flow = flow;
            Augmented = new AugmentedSystem(flow._field, !flow.IsTraceExact);
            Solver = new OdeSolver<T>(flow.Options.Solver, flow.Dimension + 1);
            State = new T[flow.Dimension + 1];
        }

        public ContinuousFlow<T> Flow => _flow;

        public AugmentedSystem Augmented { get; }

        public OdeSolver<T> Solver { get; }

        public T[] State { get; }

        // The nodes tape.Use gives now: the parameters' own, or the tape's gradient buffers when it keeps its own.
        public Node<T>[] Parameters => _parameters;

        public Node<T>[] UseParameters(Tape<T> tape)
        {
            IReadOnlyList<Parameter<T>> parameters = _flow.Parameters;
            if (_parameters.Length != parameters.Count)
            {
                _parameters = new Node<T>[parameters.Count];
            }

            for (int k = 0; k < parameters.Count; k++)
            {
                _parameters[k] = tape.Use(parameters[k]);
            }

            return _parameters;
        }

        // The adjoint's system, solver, state (2d + P + C components) and the summed parameter gradient.
        public (AdjointSystem System, OdeSolver<T> Solver, T[] State, T[] ParameterGradient) Adjoint()
        {
            if (_adjoint is null)
            {
                VectorField<T> field = _flow._field;
                int width = (2 * _flow.Dimension) + field.ParameterCount + _flow.ContextDimension;
                _adjoint = new AdjointSystem(field, !_flow.IsTraceExact);
                _adjointSolver = new OdeSolver<T>(_flow.Options.Solver, width);
                _adjointState = new T[width];
                _parameterGradient = new T[field.ParameterCount];
            }

            return (_adjoint, _adjointSolver!, _adjointState, _parameterGradient);
        }
    }

    // [y, ℓ]′ = [f(y, t, c), Σₚ vₚᵀ (∂f/∂y) vₚ].
    private sealed class AugmentedSystem(VectorField<T> field, bool hutchinson) : IOdeSystem<T>
    {
        private readonly VectorField<T>.Workspace _workspace = field.CreateWorkspace();

        // The row's context, copied in before each solve.
        public T[] Context { get; } = new T[field.ContextDimension];

        // The row's Hutchinson probe, copied in before each solve (unused for the exact trace).
        public T[] Probe { get; } = new T[field.Dimension];

        public void Evaluate(T t, ReadOnlySpan<T> y, Span<T> derivative)
        {
            int d = field.Dimension;
            field.Velocity(y[..d], t, Context, derivative[..d], _workspace);
            derivative[d] = field.TraceTerm(hutchinson ? Probe : default, _workspace);
        }
    }

    // The adjoint system [y, λ, g_θ, g_c]′ = [f, −∂Λ/∂y, −∂Λ/∂θ, −∂Λ/∂c] with Λ = λᵀ f + μ Σₚ vₚᵀ J vₚ.
    private sealed class AdjointSystem(VectorField<T> field, bool hutchinson) : IOdeSystem<T>
    {
        private readonly VectorField<T>.Workspace _workspace = field.CreateWorkspace();

        // The row's context, copied in before each solve.
        public T[] Context { get; } = new T[field.ContextDimension];

        // The row's Hutchinson probe, copied in before each solve (unused for the exact trace).
        public T[] Probe { get; } = new T[field.Dimension];

        public T Mu { get; set; }

        // Whether the context's gradient is integrated (its components are left at zero otherwise).
        public bool NeedsContext { get; set; }

        public void Evaluate(T t, ReadOnlySpan<T> y, Span<T> derivative)
        {
            int d = field.Dimension;
            int p = field.ParameterCount;
            int c = field.ContextDimension;
            field.Velocity(y[..d], t, Context, derivative[..d], _workspace);
            Span<T> rest = derivative[d..];
            rest.Clear();
            field.Backward(y.Slice(d, d), Mu, hutchinson ? Probe : default, -T.One, rest[..d], NeedsContext ? rest.Slice(d + p, c) : default,
                rest.Slice(d, p), _workspace);
        }
    }

    private static class SolveBackward
    {
        public static readonly Backward<T> Instance = Run;

        private static void Run(in TapeEntry<T> e)
        {
            var buffers = (TapeBuffers)e.State!;
            ContinuousFlow<T> flow = buffers.Flow;
            Node<T> input = e.Input0;
            Node<T>? context = e.Input1;
            Node<T>? probes = e.Saved;
            int n = input.Rows;
            int d = flow.Dimension;
            int c = flow.ContextDimension;
            int p = flow._field.ParameterCount;
            (T start, T end) = e.Flag == 0 ? (T.Zero, T.One) : (T.One, T.Zero);
            bool needsContext = context is not null && context.RequiresGradient;
            (AdjointSystem system, OdeSolver<T> solver, T[] state, T[] parameterGradient) = buffers.Adjoint();
            system.NeedsContext = needsContext;
            Array.Clear(parameterGradient);
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

                if (probes is not null)
                {
                    probes.Values.Slice(i * d, d).CopyTo(system.Probe);
                }

                evaluations += flow.Run(solver, system, end, start, state, i, "adjoint solve", controlled: 2 * d);
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
            Distribute(parameterGradient, buffers.Parameters);
        }
    }
}
