using Flows.Inference;
using Flows.Tests.Testing;

namespace Flows.Tests.Inference;

/// <summary>
/// The conjugate linear-Gaussian task: θ ~ N(0, σ²_p I), x = θ + N(0, σ²_n I), whose posterior is
/// N(x σ²_p / (σ²_p + σ²_n), σ²_p σ²_n / (σ²_p + σ²_n) I) in closed form; with σ²_p = σ²_n = 0.1, N(x / 2, 0.05 I).
/// </summary>
internal sealed class LinearGaussianTask(int dimension, double priorVariance = 0.1, double noiseVariance = 0.1)
{
    public int Dimension { get; } = dimension;

    public NormalPrior<double> Prior { get; } = NormalPrior<double>.Isotropic(dimension, Math.Sqrt(priorVariance));

    public double PosteriorMeanFactor { get; } = priorVariance / (priorVariance + noiseVariance);

    public double PosteriorStandardDeviation { get; } = Math.Sqrt(priorVariance * noiseVariance / (priorVariance + noiseVariance));

    public double[,] Simulate(double[,] theta, Random random)
    {
        var x = new double[theta.GetLength(0), theta.GetLength(1)];
        double noise = Math.Sqrt(noiseVariance);
        for (int i = 0; i < theta.GetLength(0); i++)
        {
            for (int j = 0; j < theta.GetLength(1); j++)
            {
                x[i, j] = theta[i, j] + (noise * TestData.NextNormal(random));
            }
        }

        return x;
    }

    /// <summary>The exact posterior, or with <paramref name="scale"/> ≠ 1 one whose spread is that many times the true one.</summary>
    public GaussianPosterior ExactPosterior(double scale = 1) => new(Dimension, PosteriorMeanFactor, scale * PosteriorStandardDeviation);
}

/// <summary>q(θ | x) = N(a x, s² I): the exact posterior of <see cref="LinearGaussianTask"/>, or a deliberately miscalibrated one.</summary>
internal sealed class GaussianPosterior(int dimension, double meanFactor, double standardDeviation) : IPosterior<double>
{
    public int Dimension { get; } = dimension;

    public int ObservationDimension => Dimension;

    public void Sample(ReadOnlySpan<double> observation, Span<double> destination, Random random)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = (meanFactor * observation[i % Dimension]) + (standardDeviation * TestData.NextNormal(random));
        }
    }

    public void DensityLn(ReadOnlySpan<double> observation, ReadOnlySpan<double> theta, Span<double> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            double sum = -Dimension * (Math.Log(standardDeviation) + (0.5 * Math.Log(2 * Math.PI)));
            for (int j = 0; j < Dimension; j++)
            {
                double z = (theta[(i * Dimension) + j] - (meanFactor * observation[j])) / standardDeviation;
                sum -= 0.5 * z * z;
            }

            destination[i] = sum;
        }
    }
}
