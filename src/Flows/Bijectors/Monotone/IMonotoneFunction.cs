using System.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// One strictly increasing scalar map f(x; θ) on [−B, B], given by its value, its derivative and the gradients the
/// generic monotone operation (<see cref="MonotoneOps"/>) needs: the family-specific part of a polynomial, Bernstein or
/// integral-based transform. Implemented by structs, so the operation's loops call it without a virtual call.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal interface IMonotoneFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>P, the unconstrained parameters θ of one feature.</summary>
    int ParameterCount { get; }

    /// <summary>B: the function is used on [−B, B] and extended linearly outside it.</summary>
    T Bound { get; }

    /// <summary>f(x; θ) and f′(x; θ) &gt; 0 at x ∈ [−B, B].</summary>
    (T Value, T Derivative) Evaluate(T x, ReadOnlySpan<T> theta);

    /// <summary>
    /// Adds <c>valueWeight·∂f/∂θ + logDerivativeWeight·∂log f′/∂θ</c> to <paramref name="thetaGradient"/> and returns
    /// f′(x) and ∂log f′/∂x at x ∈ [−B, B].
    /// </summary>
    (T Derivative, T LogDerivativeSlope) Backpropagate(T x, ReadOnlySpan<T> theta, T valueWeight, T logDerivativeWeight, Span<T> thetaGradient);
}
