using System.Numerics;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>The elementwise bijections for constrained supports.</summary>
internal static class ElementwiseBijections
{
    /// <summary><c>f = exp</c>: ℝ → (0, ∞), log f′(z) = z.</summary>
    public readonly struct Exp<T> : IElementwiseBijection<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Forward(T z) => T.Exp(z);

        public static T Inverse(T x) => T.Log(x);

        public static bool IsInRange(T x) => x > T.Zero && T.IsFinite(x);

        public static T Derivative(T z) => T.Exp(z);

        public static T LogDerivative(T z) => z;

        public static T LogDerivativeSlope(T z) => T.One;
    }

    /// <summary><c>f = softplus</c>: ℝ → (0, ∞), log f′(z) = log σ(z) = −softplus(−z).</summary>
    public readonly struct Softplus<T> : IElementwiseBijection<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Forward(T z) => Scalar.Softplus(z);

        public static T Inverse(T x) => Scalar.InverseSoftplus(x);

        public static bool IsInRange(T x) => x > T.Zero && T.IsFinite(x);

        public static T Derivative(T z) => Scalar.Sigmoid(z);

        public static T LogDerivative(T z) => -Scalar.Softplus(-z);

        public static T LogDerivativeSlope(T z) => Scalar.Sigmoid(-z);
    }

    /// <summary><c>f = σ</c>: ℝ → (0, 1), log f′(z) = −softplus(−z) − softplus(z).</summary>
    public readonly struct Sigmoid<T> : IElementwiseBijection<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Forward(T z) => Scalar.Sigmoid(z);

        // logit(x) = log x − log1p(−x), accurate near both ends.
        public static T Inverse(T x) => T.Log(x) - Scalar.LogP1(-x);

        public static bool IsInRange(T x) => x > T.Zero && x < T.One;

        public static T Derivative(T z) => Scalar.Sigmoid(z) * Scalar.Sigmoid(-z);

        public static T LogDerivative(T z) => -Scalar.Softplus(-z) - Scalar.Softplus(z);

        public static T LogDerivativeSlope(T z) => Scalar.Sigmoid(-z) - Scalar.Sigmoid(z);
    }

    /// <summary><c>f = tanh</c>: ℝ → (−1, 1), log f′(z) = 2(log 2 − z − softplus(−2z)).</summary>
    public readonly struct Tanh<T> : IElementwiseBijection<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private static readonly T Log2 = T.CreateTruncating(0.69314718055994530941723212145818);
        private static readonly T Two = T.CreateTruncating(2);

        public static T Forward(T z) => T.Tanh(z);

        public static T Inverse(T x) => T.Atanh(x);

        public static bool IsInRange(T x) => x > -T.One && x < T.One;

        public static T Derivative(T z)
        {
            T t = T.Tanh(z);
            return T.One - (t * t);
        }

        public static T LogDerivative(T z) => Two * (Log2 - z - Scalar.Softplus(-Two * z));

        public static T LogDerivativeSlope(T z) => -Two * T.Tanh(z);
    }
}
