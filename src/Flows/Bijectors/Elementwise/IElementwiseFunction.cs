using System.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// A strictly increasing scalar map f with its inverse and the derivatives that the log-determinant and the backward
/// pass need: everything <see cref="Elementwise{T, TFunction}"/> runs, element by element, through one fused tape op.
/// </summary>
/// <remarks>
/// Implement it on a <c>readonly struct</c>, so the generic driver is specialized for it and calls no delegate. A new
/// fixed elementwise bijector is one such struct: <see cref="Elementwise{T, TFunction}"/> gives it both directions,
/// the log-determinant, gradients, the shared checks and, for the structs of this assembly, a saved form under
/// <see cref="Name"/>.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public interface IElementwiseFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The name shown by <c>ToString</c> and written to saved files, such as <c>"Exp"</c>.</summary>
    static abstract string Name { get; }

    /// <summary><c>f(z)</c>.</summary>
    /// <param name="z">Any real number.</param>
    static abstract T Forward(T z);

    /// <summary><c>f⁻¹(x)</c>.</summary>
    /// <param name="x">A value for which <see cref="IsInRange"/> is true.</param>
    static abstract T Inverse(T x);

    /// <summary>Whether x lies in the range of f, where <see cref="Inverse"/> is defined.</summary>
    /// <param name="x">Any value.</param>
    static abstract bool IsInRange(T x);

    /// <summary><c>f′(z)</c>.</summary>
    /// <param name="z">Any real number.</param>
    static abstract T Derivative(T z);

    /// <summary><c>log f′(z)</c>, computed stably.</summary>
    /// <param name="z">Any real number.</param>
    static abstract T LogDerivative(T z);

    /// <summary><c>(log f′)′(z) = f″(z)/f′(z)</c>.</summary>
    /// <param name="z">Any real number.</param>
    static abstract T LogDerivativeSlope(T z);
}
