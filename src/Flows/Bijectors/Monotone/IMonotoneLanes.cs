using System.Numerics;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// A monotone function that also evaluates W elements at once, one per lane of a vector (<see cref="ISimdLanes{TSelf, T}"/>),
/// each with its own parameters: what <see cref="MonotoneLanes"/> runs for the data → base direction and its gradients.
/// </summary>
/// <remarks>
/// <para>The lanes' θ arrive as vectors (θ_p of every lane in vector p); <see cref="Prepare"/> turns them into the values
/// the lane arithmetic reads ("prepared": the constrained coefficients), <see cref="Evaluate"/> and
/// <see cref="Backpropagate"/> repeat the scalar <see cref="IMonotoneFunction{T}.Evaluate"/> and
/// <see cref="IMonotoneFunction{T}.Backpropagate"/> operation for operation, and <see cref="Finish"/> applies the chain
/// rule from the prepared values back to θ in the scalar code's order. A step that the vector functions would round
/// differently (softplus, sigmoid) runs lane by lane in scalar code, so every lane gets the scalar path's bits.</para>
/// </remarks>
/// <typeparam name="T">The element type.</typeparam>
internal interface IMonotoneLanes<T> : IMonotoneFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Q, the prepared values per lane.</summary>
    int PreparedCount { get; }

    /// <summary>The prepared values of every lane (Q vectors) from their θ (P vectors).</summary>
    void Prepare<TV>(ReadOnlySpan<TV> theta, Span<TV> prepared) where TV : unmanaged, ISimdLanes<TV, T>;

    /// <summary>f(x) and f′(x) at x ∈ [−B, B] in every lane.</summary>
    (TV Value, TV Derivative) Evaluate<TV>(TV x, ReadOnlySpan<TV> prepared) where TV : unmanaged, ISimdLanes<TV, T>;

    /// <summary>
    /// Adds <c>valueWeight·∂f/∂q + logDerivativeWeight·∂log f′/∂q</c> (q the prepared values) to
    /// <paramref name="preparedGradient"/> and returns f′(x) and ∂log f′/∂x, in every lane.
    /// </summary>
    (TV Derivative, TV LogDerivativeSlope) Backpropagate<TV>(TV x, ReadOnlySpan<TV> prepared, TV valueWeight, TV logDerivativeWeight,
        Span<TV> preparedGradient) where TV : unmanaged, ISimdLanes<TV, T>;

    /// <summary>Adds the θ gradient of every lane, from its prepared gradient and its θ, to <paramref name="thetaGradient"/> (P vectors).</summary>
    void Finish<TV>(ReadOnlySpan<TV> theta, ReadOnlySpan<TV> preparedGradient, Span<TV> thetaGradient) where TV : unmanaged, ISimdLanes<TV, T>;
}
