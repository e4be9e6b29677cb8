using Flows.Autodiff;
using Flows.Bijectors;

namespace Flows.Tests.Testing;

/// <summary>
/// The error a map's output suffers from the rounding of its input alone: for y = g(x), C·u·Σⱼ |∂yᵢ/∂xⱼ|·|xⱼ| per row
/// and output (u = 2⁻⁵³), and the same for its log-det. No implementation, however exact, can beat it: the round-trip
/// and log-det properties add it to their fixed tolerances, so that they hold a well-conditioned map to the fixed
/// tolerance and an ill-conditioned one (a spline flattened to a slope of 1e-7 by a drawn network at an extreme input)
/// to what its conditioning allows. The derivatives are the tape's own; the callers cap the term at
/// <see cref="MaximumFactor"/> times their fixed tolerance, so that a wrong derivative cannot excuse a gross error.
/// </summary>
internal static class Conditioning
{
    // C: rounding in the intermediate layers on top of the input's own (C = 1 already covered every case measured).
    private const double Factor = 4;
    private const double UnitRoundoff = 1.1102230246251565e-16;

    /// <summary>The most the term may add, as a multiple of the fixed tolerance (the worst case measured needed 2,270).</summary>
    public const double MaximumFactor = 1e4;

    /// <summary>The rounding error of <paramref name="bijector"/>'s forward (or inverse) map at <paramref name="input"/>:
    /// per row and output, and per row for the log-det.</summary>
    public static (double[,] Output, double[] LogDet) RoundingError(IBijector<double> bijector, double[,] input, bool inverse)
    {
        int n = input.GetLength(0);
        int d = input.GetLength(1);
        double[] flat = TestData.Flatten(input);
        var output = new double[n, d];
        var logDet = new double[n];
        for (int k = 0; k <= d; k++)
        {
            // One backward pass per output column (and one for the log-det): rows are independent, so the gradient of
            // the column's sum holds each row's own derivatives.
            var tape = new Tape<double>(isRecording: true);
            Node<double> x = tape.Variable(flat, n, d);
            (Node<double> y, Node<double> ld) = inverse ? bijector.Inverse(tape, x) : bijector.Forward(tape, x);
            Node<double> picked = ld;
            if (k < d)
            {
                var mask = new double[n * d];
                for (int r = 0; r < n; r++)
                {
                    mask[(r * d) + k] = 1;
                }

                picked = tape.Multiply(y, tape.Constant(mask, n, d));
            }

            tape.Backward(tape.Sum(picked));
            ReadOnlySpan<double> gradient = x.Gradients;
            for (int r = 0; r < n; r++)
            {
                double sum = 0;
                for (int j = 0; j < d; j++)
                {
                    sum += Math.Abs(gradient[(r * d) + j]) * Math.Abs(flat[(r * d) + j]);
                }

                double error = Factor * UnitRoundoff * sum;
                if (k < d)
                {
                    output[r, k] = error;
                }
                else
                {
                    logDet[r] = error;
                }
            }
        }

        return (output, logDet);
    }
}
