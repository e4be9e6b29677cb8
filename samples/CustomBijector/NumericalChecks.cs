using Flows.Autodiff;
using Flows.Bijectors;

namespace CustomBijector;

/// <summary>One numerical check: the largest error found and the tolerance it must not exceed.</summary>
/// <param name="What">What was checked.</param>
/// <param name="Error">The largest error over the points tried.</param>
/// <param name="Tolerance">The bound.</param>
internal sealed record Check(string What, double Error, double Tolerance)
{
    /// <summary>Whether the error is within the tolerance (a NaN error fails).</summary>
    public bool Passed => Error <= Tolerance;
}

/// <summary>
/// The checks every bijector of the library passes, written here against the public API only: the round trip, the
/// log-determinant against a finite-difference Jacobian, and every gradient against central differences.
/// </summary>
internal static class NumericalChecks
{
    private const double JacobianStep = 1e-5;
    private const double GradientStep = 1e-6;

    /// <summary>Runs every check on <paramref name="bijector"/> at seeded random points, in double.</summary>
    public static IReadOnlyList<Check> Run(IBijector<double> bijector, int seed)
    {
        var random = new Random(seed);
        int d = bijector.Dimension;
        double[,] z = Normal(random, 64, d, scale: 1.5);
        (double[,] x, double[] forwardLogDet) = bijector.Forward(z);
        (double[,] zAgain, double[] inverseLogDet) = bijector.Inverse(x);

        return
        [
            new("inverse(forward(z)) = z", MaxRelative(z, zAgain), 1e-9),
            new("forward and inverse log-dets cancel", Enumerable.Range(0, 64).Max(i =>
                Math.Abs(forwardLogDet[i] + inverseLogDet[i]) / Math.Max(1, Math.Abs(forwardLogDet[i]))), 1e-10),
            new("log-det = log|det| of a finite-difference Jacobian", Enumerable.Range(0, 8).Max(i =>
                Math.Abs(forwardLogDet[i] - LogAbsDeterminant(Jacobian(bijector, Row(z, i))))), 1e-6),
            new("forward: gradients = central differences", GradientError(bijector, Normal(random, 6, d, 1.5), Normal(random, 6, d, 1), inverse: false), 1e-6),
            new("inverse: gradients = central differences", GradientError(bijector, x, Normal(random, 64, d, 1), inverse: true), 1e-6),
        ];
    }

    // The loss Σ w ⊙ output + Σ log-det on a tape; its gradient in every parameter and in the input, by backward pass
    // and by central differences. Returns max |AD − FD| / (1 + |FD|).
    private static double GradientError(IBijector<double> bijector, double[,] inputArray, double[,] weights, bool inverse)
    {
        int rows = inputArray.GetLength(0);
        int d = bijector.Dimension;
        double[] input = Flatten(inputArray);
        double[] w = Flatten(weights);
        Node<double>? inputNode = null;

        double Loss(bool backward)
        {
            var tape = new Tape<double>(isRecording: backward);
            inputNode = tape.Variable(input, rows, d);
            (Node<double> output, Node<double> logDet) = inverse ? bijector.Inverse(tape, inputNode) : bijector.Forward(tape, inputNode);
            Node<double> loss = tape.Add(tape.Sum(tape.Multiply(output, tape.Constant(w, rows, d))), tape.Sum(logDet));
            if (backward)
            {
                tape.Backward(loss);
            }

            return loss.Values[0];
        }

        foreach (Parameter<double> parameter in bijector.Parameters)
        {
            parameter.ZeroGradients();
        }

        Loss(backward: true);
        double error = MaxError(inputNode!.Gradients.ToArray(), CentralDifferences(() => Loss(false), input));
        foreach (Parameter<double> parameter in bijector.Parameters)
        {
            error = Math.Max(error, MaxError(parameter.Gradients, CentralDifferences(() => Loss(false), parameter.Values)));
        }

        return error;
    }

    // ∂loss/∂values[k] for every k, perturbing values in place and restoring each exactly.
    private static double[] CentralDifferences(Func<double> loss, double[] values)
    {
        var gradient = new double[values.Length];
        for (int k = 0; k < values.Length; k++)
        {
            double saved = values[k];
            values[k] = saved + GradientStep;
            double plus = loss();
            values[k] = saved - GradientStep;
            double minus = loss();
            values[k] = saved;
            gradient[k] = (plus - minus) / (2 * GradientStep);
        }

        return gradient;
    }

    // J[i, j] = ∂xᵢ/∂zⱼ of the forward map of one row, by central differences.
    private static double[,] Jacobian(IBijector<double> bijector, double[] z)
    {
        int d = z.Length;
        var jacobian = new double[d, d];
        for (int j = 0; j < d; j++)
        {
            var plus = new double[1, d];
            var minus = new double[1, d];
            for (int k = 0; k < d; k++)
            {
                plus[0, k] = minus[0, k] = z[k];
            }

            plus[0, j] += JacobianStep;
            minus[0, j] -= JacobianStep;
            double[,] xPlus = bijector.Forward(plus).Output;
            double[,] xMinus = bijector.Forward(minus).Output;
            for (int i = 0; i < d; i++)
            {
                jacobian[i, j] = (xPlus[0, i] - xMinus[0, i]) / (2 * JacobianStep);
            }
        }

        return jacobian;
    }

    // log|det A| by Gaussian elimination with partial pivoting: the sum of log|pivot|.
    private static double LogAbsDeterminant(double[,] matrix)
    {
        int n = matrix.GetLength(0);
        var a = (double[,])matrix.Clone();
        double sum = 0;
        for (int column = 0; column < n; column++)
        {
            int pivot = column;
            for (int row = column + 1; row < n; row++)
            {
                if (Math.Abs(a[row, column]) > Math.Abs(a[pivot, column]))
                {
                    pivot = row;
                }
            }

            for (int k = 0; k < n; k++)
            {
                (a[column, k], a[pivot, k]) = (a[pivot, k], a[column, k]);
            }

            sum += Math.Log(Math.Abs(a[column, column]));
            for (int row = column + 1; row < n; row++)
            {
                double factor = a[row, column] / a[column, column];
                for (int k = column; k < n; k++)
                {
                    a[row, k] -= factor * a[column, k];
                }
            }
        }

        return sum;
    }

    private static double MaxError(ReadOnlySpan<double> automatic, ReadOnlySpan<double> finiteDifference)
    {
        double error = 0;
        for (int k = 0; k < automatic.Length; k++)
        {
            // Math.Max propagates NaN, so a NaN gradient fails the check instead of vanishing.
            error = Math.Max(error, Math.Abs(automatic[k] - finiteDifference[k]) / (1 + Math.Abs(finiteDifference[k])));
        }

        return error;
    }

    private static double MaxRelative(double[,] expected, double[,] actual)
    {
        double error = 0;
        for (int i = 0; i < expected.GetLength(0); i++)
        {
            for (int j = 0; j < expected.GetLength(1); j++)
            {
                error = Math.Max(error, Math.Abs(actual[i, j] - expected[i, j]) / (1 + Math.Abs(expected[i, j])));
            }
        }

        return error;
    }

    /// <summary>rows × columns draws from N(0, scale²) (Box–Muller).</summary>
    public static double[,] Normal(Random random, int rows, int columns, double scale)
    {
        var result = new double[rows, columns];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                result[i, j] = scale * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            }
        }

        return result;
    }

    private static double[] Row(double[,] values, int row) => [.. Enumerable.Range(0, values.GetLength(1)).Select(j => values[row, j])];

    private static double[] Flatten(double[,] values) => [.. values.Cast<double>()];
}
