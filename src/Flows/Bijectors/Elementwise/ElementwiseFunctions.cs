using System.Numerics;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary><c>f = exp</c>: ℝ → (0, ∞), log f′(z) = z; the inverse is log x.</summary>
/// <typeparam name="T">The element type.</typeparam>
public readonly partial struct ExpFunction<T> : IElementwiseFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public static string Name => "Exp";

    /// <inheritdoc/>
    public static T Forward(T z) => T.Exp(z);

    /// <inheritdoc/>
    public static T Inverse(T x) => T.Log(x);

    /// <inheritdoc/>
    public static bool IsInRange(T x) => x > T.Zero && T.IsFinite(x);

    /// <inheritdoc/>
    public static T Derivative(T z) => T.Exp(z);

    /// <inheritdoc/>
    public static T LogDerivative(T z) => z;

    /// <inheritdoc/>
    public static T LogDerivativeSlope(T z) => T.One;
}

/// <summary>
/// <c>f = softplus = log(1 + exp(z))</c>: ℝ → (0, ∞), log f′(z) = log σ(z) = −softplus(−z); the inverse is
/// log(expm1(x)), evaluated as x + log(−expm1(−x)).
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public readonly partial struct SoftplusFunction<T> : IElementwiseFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public static string Name => "Softplus";

    /// <inheritdoc/>
    public static T Forward(T z) => Scalar.Softplus(z);

    /// <inheritdoc/>
    public static T Inverse(T x) => Scalar.InverseSoftplus(x);

    /// <inheritdoc/>
    public static bool IsInRange(T x) => x > T.Zero && T.IsFinite(x);

    /// <inheritdoc/>
    public static T Derivative(T z) => Scalar.Sigmoid(z);

    /// <inheritdoc/>
    public static T LogDerivative(T z) => -Scalar.Softplus(-z);

    /// <inheritdoc/>
    public static T LogDerivativeSlope(T z) => Scalar.Sigmoid(-z);
}

/// <summary>
/// <c>f = σ = 1/(1 + exp(−z))</c>: ℝ → (0, 1), log f′(z) = −softplus(−z) − softplus(z); the inverse is
/// logit(x) = log x − log1p(−x).
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public readonly partial struct SigmoidFunction<T> : IElementwiseFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public static string Name => "Sigmoid";

    /// <inheritdoc/>
    public static T Forward(T z) => Scalar.Sigmoid(z);

    /// <inheritdoc/>
    // logit(x) = log x − log1p(−x), accurate near both ends.
    public static T Inverse(T x) => T.Log(x) - Scalar.LogP1(-x);

    /// <inheritdoc/>
    public static bool IsInRange(T x) => x > T.Zero && x < T.One;

    /// <inheritdoc/>
    public static T Derivative(T z) => Scalar.Sigmoid(z) * Scalar.Sigmoid(-z);

    /// <inheritdoc/>
    public static T LogDerivative(T z) => -Scalar.Softplus(-z) - Scalar.Softplus(z);

    /// <inheritdoc/>
    public static T LogDerivativeSlope(T z) => Scalar.Sigmoid(-z) - Scalar.Sigmoid(z);
}

/// <summary>
/// <c>f = tanh</c>: ℝ → (−1, 1), log f′(z) = 2(log 2 − z − softplus(−2z)), stable for large |z|; the inverse is atanh(x).
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public readonly partial struct TanhFunction<T> : IElementwiseFunction<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly T Log2 = T.CreateTruncating(0.69314718055994530941723212145818);
    private static readonly T Two = T.CreateTruncating(2);

    /// <inheritdoc/>
    public static string Name => "Tanh";

    /// <inheritdoc/>
    public static T Forward(T z) => T.Tanh(z);

    /// <inheritdoc/>
    public static T Inverse(T x) => T.Atanh(x);

    /// <inheritdoc/>
    public static bool IsInRange(T x) => x > -T.One && x < T.One;

    /// <inheritdoc/>
    public static T Derivative(T z)
    {
        T t = T.Tanh(z);
        return T.One - (t * t);
    }

    /// <inheritdoc/>
    public static T LogDerivative(T z) => Two * (Log2 - z - Scalar.Softplus(-Two * z));

    /// <inheritdoc/>
    public static T LogDerivativeSlope(T z) => -Two * T.Tanh(z);
}
