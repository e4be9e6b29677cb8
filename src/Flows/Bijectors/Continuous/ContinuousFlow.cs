using System.Numerics;
using System.Runtime.CompilerServices;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// A continuous normalizing flow (FFJORD): <c>x = z + ∫₀¹ f(y(t), t, c) dt</c>, the solution at t = 1 of
/// <c>dy/dt = f(y, t, c)</c> from y(0) = z, with a free-form vector field f (a smooth network of x, features of t and an
/// optional context c; <see cref="ContinuousFlowOptions"/>).
/// </summary>
/// <remarks>
/// <para><b>Log-determinant.</b> log|det ∂x/∂z| = ∫₀¹ tr(∂f/∂y(y(t), t)) dt (the instantaneous change of variables),
/// integrated as an extra component of the ODE state. For Dimension ≤ <see cref="ContinuousFlowOptions.ExactTraceMaxDimension"/>
/// the trace is exact (d Jacobian–vector products per evaluation, <see cref="IsTraceExact"/>). Above it, Hutchinson's
/// estimator vᵀ (∂f/∂y) v with one probe v per row (<see cref="ContinuousFlowOptions.Probe"/>), held fixed along the
/// row's trajectory and drawn from a generator seeded by <c>seed</c> that advances on every call: the log-determinant
/// is then unbiased only in expectation over the probes, two calls differ, and the forward and inverse log-dets are
/// negatives only in expectation.</para>
/// <para><b>Both directions</b> solve the same ODE, forwards (0 → 1, <see cref="Bijector{T}.Forward"/>) or backwards
/// (1 → 0, <see cref="Bijector{T}.Inverse"/>), row by row with <see cref="ContinuousFlowOptions.Solver"/>: adaptive
/// Dormand–Prince 5(4) to the relative and absolute tolerances asked (default 1e-5 each), or fixed-step RK4. Each row
/// has its own steps, so rows are independent. The inverse of the solved forward map equals the backward solve only to
/// the solver's accuracy: round trips are exact to about the tolerance, not to rounding.
/// <see cref="FunctionEvaluations"/> counts the evaluations of f. The solves' systems, solvers and states (and the
/// adjoint's) are buffers kept per tape, so a training step that reuses its tapes allocates nothing.</para>
/// <para><b>Gradients</b> by the adjoint method (Chen et al. 2018): the backward pass solves, per row, the augmented
/// system [y, λ, g_θ, g_c] from the end back to the start, dλ/dt = −(λᵀ ∂f/∂y + μ ∂tr/∂y),
/// dg_θ/dt = −(λᵀ ∂f/∂θ + μ ∂tr/∂θ), with λ the gradient of the loss with respect to the output and μ that with
/// respect to the log-det; the error control watches y and λ. The gradients are those of the exact flow, accurate to
/// the solver's tolerance (they are not the gradients of the discretized map). Training by maximum likelihood works
/// this way; training by flow matching (<c>FitOptions.Objective</c>) needs only f on the tape.</para>
/// <para>All-zero parameters give the identity; the last layer of f starts at zero, so a new flow is the identity.</para>
/// <para>References: W. Grathwohl, R. T. Q. Chen, J. Bettencourt, I. Sutskever and D. Duvenaud, "FFJORD: Free-form
/// Continuous Dynamics for Scalable Reversible Generative Models", 2019, arXiv:1810.01367; R. T. Q. Chen, Y. Rubanova,
/// J. Bettencourt and D. Duvenaud, "Neural Ordinary Differential Equations", 2018, arXiv:1806.07366.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class ContinuousFlow<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly VectorField<T> _field;
    private readonly Random _probes;
    private readonly ConditionalWeakTable<Tape<T>, TapeBuffers> _buffers = new();
    private long _functionEvaluations;

    /// <summary>Creates the flow with seeded random hidden weights and a zero last layer (the identity).</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <param name="contextDimension">Context features per row, fed to f beside x and t. Range: ≥ 0.</param>
    /// <param name="options">The field, solver and trace settings; null for the defaults.</param>
    /// <param name="seed">Seed of the initial weights and of Hutchinson's probes.</param>
    /// <exception cref="ArgumentOutOfRangeException">A dimension or setting is out of range.</exception>
    public ContinuousFlow(int dimension, int contextDimension = 0, ContinuousFlowOptions? options = null, int seed = 0)
        : base(dimension, contextDimension)
    {
        options ??= new ContinuousFlowOptions();
        options.Validate();
        Options = options;
        Seed = seed;
        _field = new VectorField<T>(dimension, contextDimension, options.HiddenFeatures, options.TimeFrequencies, options.Activation, seed);
        _probes = new Random(seed + 1);
        Parameters = _field.Parameters;
    }

    /// <summary>The field, solver and trace settings.</summary>
    public ContinuousFlowOptions Options { get; }

    /// <summary>The seed of the initial weights and the probes.</summary>
    public int Seed { get; }

    /// <summary>Whether the log-determinant integrates the exact trace (Dimension ≤ ExactTraceMaxDimension) rather than
    /// Hutchinson's estimate.</summary>
    public bool IsTraceExact => Dimension <= Options.ExactTraceMaxDimension;

    /// <summary>Evaluations of the vector field so far, by every solve (both directions and the adjoint passes), on any
    /// thread. Divide a difference by the rows solved for the evaluations per sample.</summary>
    public long FunctionEvaluations => Interlocked.Read(ref _functionEvaluations);

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    internal VectorField<T> Field => _field;

    // Everything but the weights: the widths, the solver and trace settings and the seed.
    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "ContinuousFlow",
        typeof(ContinuousFlow<T>),
        (b, w) =>
        {
            var flow = (ContinuousFlow<T>)b;
            w.Int32("dimension", flow.Dimension);
            w.Int32("contextDimension", flow.ContextDimension);
            w.Int32Array("hiddenFeatures", flow.Options.HiddenFeatures);
            w.Int32("timeFrequencies", flow.Options.TimeFrequencies);
            w.String("activation", flow.Options.Activation.ToString());
            w.String("method", flow.Options.Solver.Method.ToString());
            w.Double("relativeTolerance", flow.Options.Solver.RelativeTolerance);
            w.Double("absoluteTolerance", flow.Options.Solver.AbsoluteTolerance);
            w.Int32("steps", flow.Options.Solver.Steps);
            w.Int32("maxSteps", flow.Options.Solver.MaxSteps);
            w.Int32("exactTraceMaxDimension", flow.Options.ExactTraceMaxDimension);
            w.String("probe", flow.Options.Probe.ToString());
            w.Int32("seed", flow.Seed);
        },
        r =>
        {
            string method = r.String("method");
            string probe = r.String("probe");
            // Files written before the time embedding and the activation were options hold t alone and tanh.
            string activation = r.Has("activation") ? r.String("activation") : nameof(VectorFieldActivation.Tanh);
            var options = new ContinuousFlowOptions
            {
                HiddenFeatures = r.Int32Array("hiddenFeatures"),
                TimeFrequencies = r.Has("timeFrequencies") ? r.Int32("timeFrequencies", minimum: 0) : 0,
                Activation = Enum.TryParse(activation, out VectorFieldActivation a) && Enum.IsDefined(a) ? a : throw r.Error("activation", $"'{activation}' is not an activation."),
                Solver = new OdeOptions
                {
                    Method = Enum.TryParse(method, out OdeMethod m) && Enum.IsDefined(m) ? m : throw r.Error("method", $"'{method}' is not an ODE method."),
                    RelativeTolerance = r.Double("relativeTolerance"),
                    AbsoluteTolerance = r.Double("absoluteTolerance"),
                    Steps = r.Int32("steps", minimum: 1),
                    MaxSteps = r.Int32("maxSteps", minimum: 1),
                },
                ExactTraceMaxDimension = r.Int32("exactTraceMaxDimension", minimum: 0),
                Probe = Enum.TryParse(probe, out HutchinsonProbe p) && Enum.IsDefined(p) ? p : throw r.Error("probe", $"'{probe}' is not a probe distribution."),
            };
            return new ContinuousFlow<T>(r.Int32("dimension", minimum: 1), r.Int32("contextDimension", minimum: 0), options, r.Int32("seed"));
        });

    /// <inheritdoc/>
    public override string ToString() => FormattableString.Invariant(
        $"ContinuousFlow(dimension: {Dimension}, contextDimension: {ContextDimension}, hidden: [{string.Join(", ", Options.HiddenFeatures)}], timeFrequencies: {Options.TimeFrequencies}, activation: {Options.Activation}, solver: {Options.Solver}, seed: {Seed})");

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => Solve(tape, z, context, T.Zero, T.One);

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => Solve(tape, x, context, T.One, T.Zero);

    internal void CountEvaluations(long count) => Interlocked.Add(ref _functionEvaluations, count);

    // One probe per row for Hutchinson's estimator, into rows × Dimension values. The generator is shared by every
    // caller, so draws are serialized.
    internal void DrawProbes(Span<T> probes)
    {
        lock (_probes)
        {
            if (Options.Probe == HutchinsonProbe.Gaussian)
            {
                Gaussian.Fill<T>(probes, _probes);
            }
            else
            {
                for (int k = 0; k < probes.Length; k++)
                {
                    probes[k] = _probes.Next(2) == 0 ? -T.One : T.One;
                }
            }
        }
    }
}
