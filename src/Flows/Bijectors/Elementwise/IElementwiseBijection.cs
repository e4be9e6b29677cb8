using System.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// A strictly increasing scalar map f with its inverse and the derivatives that its log-determinant and backward
/// pass need, run by one generic fused tape operation.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal interface IElementwiseBijection<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary><c>f(z)</c>.</summary>
    static abstract T Forward(T z);

    /// <summary><c>f⁻¹(x)</c> for x in the range of f.</summary>
    static abstract T Inverse(T x);

    /// <summary>Whether x lies in the range of f, where <see cref="Inverse"/> is defined.</summary>
    static abstract bool IsInRange(T x);

    /// <summary><c>f′(z)</c>.</summary>
    static abstract T Derivative(T z);

    /// <summary><c>log f′(z)</c>, computed stably.</summary>
    static abstract T LogDerivative(T z);

    /// <summary><c>(log f′)′(z) = f″(z)/f′(z)</c>.</summary>
    static abstract T LogDerivativeSlope(T z);
}
