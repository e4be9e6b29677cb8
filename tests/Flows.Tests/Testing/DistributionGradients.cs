using Flows.Autodiff;
using Flows.Distributions;

namespace Flows.Tests.Testing;

/// <summary>The tape gradient of Σᵢ wᵢ log p(xᵢ), in every parameter and in x, against central differences.</summary>
internal static class DistributionGradients
{
    public static void AssertMatchFiniteDifferences(IDistribution<double> distribution, double[,] x, double tolerance = Tolerance.Gradient)
    {
        int n = x.GetLength(0);
        int d = x.GetLength(1);
        double[] weights = TestData.StandardNormal(n, seed: 31);
        var input = new Parameter<double>("x", n, d);
        TestData.Flatten(x).CopyTo(input.Values, 0);

        double Loss()
        {
            var tape = new Tape<double>(isRecording: false);
            ReadOnlySpan<double> logDensity = distribution.DensityLn(tape, tape.Constant(input.Values, n, d)).Values;
            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                sum += weights[i] * logDensity[i];
            }

            return sum;
        }

        Parameter<double>[] all = [input, .. distribution.Parameters];
        foreach (Parameter<double> parameter in all)
        {
            parameter.ZeroGradients();
        }

        var recording = new Tape<double>();
        Node<double> density = distribution.DensityLn(recording, recording.Use(input));
        Node<double> loss = recording.Sum(recording.Multiply(density, recording.Constant(weights, n, 1)));
        recording.Backward(loss);
        foreach (Parameter<double> parameter in all)
        {
            double[] expected = FiniteDifference.Gradient(Loss, parameter.Values, Tolerance.FiniteDifferenceGradientStep);
            AssertClose.All(expected, parameter.Gradients, tolerance, $"{distribution}: ∂/∂{parameter.Name}");
        }
    }
}
