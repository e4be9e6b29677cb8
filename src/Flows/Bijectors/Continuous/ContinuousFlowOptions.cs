using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>The probes of Hutchinson's trace estimator <c>tr(J) ≈ vᵀ J v</c>, E[v vᵀ] = I.</summary>
public enum HutchinsonProbe
{
    /// <summary>Entries ±1 with equal probability: the lowest-variance choice for a fixed J (FFJORD's default).</summary>
    Rademacher,

    /// <summary>Standard normal entries.</summary>
    Gaussian,
}

/// <summary>The activation of the hidden layers of a <see cref="ContinuousFlow{T}"/>'s vector field: smooth, since the
/// log-density integrates the trace of the field's Jacobian and its gradient needs the trace's derivative.</summary>
public enum VectorFieldActivation
{
    /// <summary>tanh(a) (FFJORD's).</summary>
    Tanh,

    /// <summary>log(1 + exp(a)).</summary>
    Softplus,

    /// <summary>a · sigmoid(a), also called SiLU (Ramachandran et al. 2017, arXiv:1710.05941).</summary>
    Swish,
}

/// <summary>Settings of a <see cref="ContinuousFlow{T}"/>, with documented defaults.</summary>
public sealed record ContinuousFlowOptions
{
    /// <summary>Widths of the hidden layers of the vector field. Default [128, 128, 128]. Range: each &gt; 0; empty gives
    /// a field affine in x and the time features.</summary>
    /// <remarks>The defaults (three layers of 128, <see cref="VectorFieldActivation.Swish"/>, <see cref="TimeFrequencies"/>
    /// 4) are what flow matching on two moons needed to pass the MAF preset's held-out log-likelihood (issue 20,
    /// benchmarks/Flows.Quality): with 20,000 steps at Adam's 1e-3 and 2,000 test rows, [64, 64] tanh with t alone scored
    /// −0.61 (−0.51 with lr 2e-3 and no weight decay), [64, 64] Swish with 4 frequencies −0.39, [64, 64, 64] −0.38 and
    /// [128, 128, 128] −0.357; 8 frequencies made the field stiff (four times the solver's evaluations) and scored worse.
    /// A field this size costs about four times [64, 64] per evaluation, which maximum likelihood (adjoint solves) feels
    /// most: pass a smaller field for it if time matters more than fit.</remarks>
    public IReadOnlyList<int> HiddenFeatures { get; init; } = [128, 128, 128];

    /// <summary>Frequencies K of the time embedding: the field sees t and sin(ωₖ t), cos(ωₖ t) for ωₖ = 2ᵏ π,
    /// k = 0 … K − 1 (0 gives t alone). Default 4. Range: [0, 16].</summary>
    /// <remarks>The field a flow needs changes fastest in t near the data (t = 1), where it contracts the paths onto the
    /// data; features of t at several frequencies let a small network follow that without large weights.</remarks>
    public int TimeFrequencies { get; init; } = 4;

    /// <summary>The activation of the field's hidden layers. Default <see cref="VectorFieldActivation.Swish"/>.</summary>
    public VectorFieldActivation Activation { get; init; } = VectorFieldActivation.Swish;

    /// <summary>The ODE solver of both directions and of the adjoint pass. Default: Dormand–Prince 5(4) with relative
    /// and absolute tolerances 1e-5 (FFJORD's).</summary>
    public OdeOptions Solver { get; init; } = new();

    /// <summary>The largest Dimension whose log-determinant integrates the exact trace (d Jacobian–vector products per
    /// evaluation); above it Hutchinson's estimator with one <see cref="Probe"/> per row. Default 16. Range: ≥ 0.</summary>
    public int ExactTraceMaxDimension { get; init; } = 16;

    /// <summary>The probe distribution of Hutchinson's estimator. Default <see cref="HutchinsonProbe.Rademacher"/>.</summary>
    public HutchinsonProbe Probe { get; init; } = HutchinsonProbe.Rademacher;

    /// <inheritdoc/>
    public override string ToString() => FormattableString.Invariant(
        $"ContinuousFlowOptions(hidden: [{string.Join(", ", HiddenFeatures)}], timeFrequencies: {TimeFrequencies}, activation: {Activation}, solver: {Solver}, exactTraceMaxDimension: {ExactTraceMaxDimension}, probe: {Probe})");

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(HiddenFeatures, nameof(HiddenFeatures));
        ArgumentNullException.ThrowIfNull(Solver, nameof(Solver));
        foreach (int width in HiddenFeatures)
        {
            if (width <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(HiddenFeatures), width, $"Every hidden width must be > 0, got [{string.Join(", ", HiddenFeatures)}].");
            }
        }

        ArgumentOutOfRangeException.ThrowIfNegative(TimeFrequencies, nameof(TimeFrequencies));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(TimeFrequencies, 16, nameof(TimeFrequencies));
        if (!Enum.IsDefined(Activation))
        {
            throw new ArgumentOutOfRangeException(nameof(Activation), Activation, "Activation must be Tanh, Softplus or Swish.");
        }

        Solver.Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(ExactTraceMaxDimension, nameof(ExactTraceMaxDimension));
        if (!Enum.IsDefined(Probe))
        {
            throw new ArgumentOutOfRangeException(nameof(Probe), Probe, "Probe must be Rademacher or Gaussian.");
        }
    }
}
