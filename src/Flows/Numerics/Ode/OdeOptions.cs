namespace Flows.Numerics;

/// <summary>The integration scheme of an <see cref="OdeSolver{T}"/>.</summary>
public enum OdeMethod
{
    /// <summary>Adaptive Dormand–Prince 5(4): fifth-order steps, sized by the embedded fourth-order error estimate to
    /// meet <see cref="OdeOptions.RelativeTolerance"/> and <see cref="OdeOptions.AbsoluteTolerance"/>; 6 function
    /// evaluations per step (the seventh is reused by the next step), plus 2 to choose the first step.</summary>
    DormandPrince54,

    /// <summary>Classical fourth-order Runge–Kutta with <see cref="OdeOptions.Steps"/> equal steps: 4 evaluations per
    /// step, a cost fixed in advance and a map that does not depend on tolerances.</summary>
    RungeKutta4,
}

/// <summary>Settings of an <see cref="OdeSolver{T}"/>, with documented defaults.</summary>
public sealed record OdeOptions
{
    /// <summary>The scheme. Default <see cref="OdeMethod.DormandPrince54"/>.</summary>
    public OdeMethod Method { get; init; } = OdeMethod.DormandPrince54;

    /// <summary>Relative tolerance of each adaptive step. Default 1e-5 (FFJORD's). Range: &gt; 0, finite.</summary>
    /// <remarks>A step is accepted when the RMS over components of eᵢ / (atol + rtol · max(|yᵢ|, |y′ᵢ|)) is at most 1,
    /// with e the difference of the fifth- and fourth-order solutions (Hairer, Nørsett and Wanner, Solving Ordinary
    /// Differential Equations I, II.4). It bounds the local error per step, not the global error of the solve.</remarks>
    public double RelativeTolerance { get; init; } = 1e-5;

    /// <summary>Absolute tolerance of each adaptive step. Default 1e-5 (FFJORD's). Range: &gt; 0, finite.</summary>
    public double AbsoluteTolerance { get; init; } = 1e-5;

    /// <summary>Equal steps of <see cref="OdeMethod.RungeKutta4"/> over the interval. Default 20. Range: &gt; 0.</summary>
    public int Steps { get; init; } = 20;

    /// <summary>Adaptive steps (accepted and rejected) at most per solve; beyond it the solve throws. Default 10,000.
    /// Range: &gt; 0.</summary>
    public int MaxSteps { get; init; } = 10_000;

    /// <inheritdoc/>
    public override string ToString() => Method == OdeMethod.RungeKutta4
        ? FormattableString.Invariant($"RungeKutta4(steps: {Steps})")
        : FormattableString.Invariant($"DormandPrince54(rtol: {RelativeTolerance:G3}, atol: {AbsoluteTolerance:G3})");

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    internal void Validate()
    {
        if (!Enum.IsDefined(Method))
        {
            throw new ArgumentOutOfRangeException(nameof(Method), Method, "Method must be DormandPrince54 or RungeKutta4.");
        }

        if (!(RelativeTolerance > 0 && double.IsFinite(RelativeTolerance)))
        {
            throw new ArgumentOutOfRangeException(nameof(RelativeTolerance), RelativeTolerance, "RelativeTolerance must be finite and > 0.");
        }

        if (!(AbsoluteTolerance > 0 && double.IsFinite(AbsoluteTolerance)))
        {
            throw new ArgumentOutOfRangeException(nameof(AbsoluteTolerance), AbsoluteTolerance, "AbsoluteTolerance must be finite and > 0.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Steps, nameof(Steps));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxSteps, nameof(MaxSteps));
    }
}

/// <summary>A system of ordinary differential equations <c>dy/dt = F(t, y)</c>.</summary>
/// <typeparam name="T">The element type.</typeparam>
public interface IOdeSystem<T>
{
    /// <summary>Writes F(t, y) into <paramref name="derivative"/>.</summary>
    /// <param name="t">The time.</param>
    /// <param name="y">The state, as long as the solve's state.</param>
    /// <param name="derivative">Receives F(t, y); as long as <paramref name="y"/>.</param>
    void Evaluate(T t, ReadOnlySpan<T> y, Span<T> derivative);
}

/// <summary>What one solve cost.</summary>
/// <param name="FunctionEvaluations">Calls of <see cref="IOdeSystem{T}.Evaluate"/>.</param>
/// <param name="AcceptedSteps">Steps kept.</param>
/// <param name="RejectedSteps">Adaptive steps retried with a smaller size (0 for fixed steps).</param>
public readonly record struct OdeSolveStatistics(int FunctionEvaluations, int AcceptedSteps, int RejectedSteps)
{
    /// <summary>The sum of two solves' costs.</summary>
    /// <param name="a">One solve.</param>
    /// <param name="b">Another.</param>
    public static OdeSolveStatistics operator +(OdeSolveStatistics a, OdeSolveStatistics b)
        => new(a.FunctionEvaluations + b.FunctionEvaluations, a.AcceptedSteps + b.AcceptedSteps, a.RejectedSteps + b.RejectedSteps);

    /// <summary>The sum of two solves' costs.</summary>
    /// <param name="other">Another solve.</param>
    public OdeSolveStatistics Add(OdeSolveStatistics other) => this + other;
}
