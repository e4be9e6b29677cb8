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
    /// <summary>Widths of the hidden tanh layers of the vector field. Default [64, 64]. Range: each &gt; 0; empty gives
    /// a field affine in x and t.</summary>
    public IReadOnlyList<int> HiddenFeatures { get; init; } = [64, 64];

    /// <summary>Frequencies K of the time embedding: the field sees t and sin(ωₖ t), cos(ωₖ t) for ωₖ = 2ᵏ π,
    /// k = 0 … K − 1. Default 0 (t alone). Range: [0, 16].</summary>
    public int TimeFrequencies { get; init; }

    /// <summary>The activation of the field's hidden layers. Default <see cref="VectorFieldActivation.Tanh"/>.</summary>
    public VectorFieldActivation Activation { get; init; } = VectorFieldActivation.Tanh;

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
