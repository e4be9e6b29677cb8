using System.Numerics;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>Elementwise soft clip <c>y = x / (1 + |x|/B)</c>: the identity near 0 (slope 1), within (−B, B) everywhere.</summary>
    /// <remarks>dy/dx = 1/(1 + |x|/B)², which reaches 0 only where |x|/B overflows, so a clipped input still gets a
    /// gradient. y = ±B at x = ±∞: a layer that overflowed to ∞ feeds the next conditioner a bounded input, not NaN. Each element is
    /// computed by <see cref="SoftClip{T}(T, T)"/>, which code outside the tape (a sequential pass) can call for the same bits.</remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="x">The input.</param>
    /// <param name="bound">B. Range: &gt; 0, finite.</param>
    /// <returns>A node shaped like <paramref name="x"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bound"/> is not finite and positive.</exception>
    public static Node<T> SoftClip<T>(this Tape<T> tape, Node<T> x, T bound) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        if (!(bound > T.Zero && T.IsFinite(bound)))
        {
            throw new ArgumentOutOfRangeException(nameof(bound), bound, "bound must be finite and > 0.");
        }

        T inverseBound = T.One / bound;
        Node<T> y = tape.Allocate(x.Rows, x.Columns);
        ReadOnlySpan<T> input = x.Values;
        Span<T> output = y.Values;
        for (int i = 0; i < input.Length; i++)
        {
            output[i] = SoftClip(input[i], inverseBound);
        }

        tape.Record(SoftClipBackward<T>.Instance, y, x, scalar: inverseBound);
        return y;
    }

    /// <summary>x / (1 + |x|·<paramref name="inverseBound"/>), the one formula both the tape op and sequential passes use.</summary>
    /// <remarks>Where |x|/B overflows (x = ±∞, or x near overflow with B &lt; 1) the quotient would be ∞/∞ = NaN or
    /// x/∞ = 0; the value there is its limit ±B, exact to rounding since the omitted factor 1/(1 + B/|x|) differs from 1
    /// by less than 1/MaxValue. NaN stays NaN.</remarks>
    internal static T SoftClip<T>(T x, T inverseBound) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T scaled = T.Abs(x) * inverseBound;
        return T.IsPositiveInfinity(scaled) ? T.CopySign(T.One / inverseBound, x) : x / (T.One + scaled);
    }

    private static class SoftClipBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // dx += g / (1 + |x|/B)²; checked against central differences in TapeOpsGradientTests.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> x = e.Input0;
            if (!x.RequiresGradient)
            {
                return;
            }

            ReadOnlySpan<T> values = x.Values;
            ReadOnlySpan<T> gradient = e.Output.Gradients;
            Span<T> target = x.Gradients;
            for (int i = 0; i < values.Length; i++)
            {
                T denominator = T.One + (T.Abs(values[i]) * e.Scalar);
                target[i] += gradient[i] / (denominator * denominator);
            }
        }
    }
}
