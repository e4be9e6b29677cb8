using System.Numerics;
using Flows.Bijectors;
using Flows.Numerics;
using MathNet.Numerics.LinearAlgebra;

namespace Flows.Distributions;

/// <summary>
/// The multivariate normal N(μ, Σ) as a flow: a <see cref="LowerTriangularAffine{T}"/> with L the Cholesky factor of
/// Σ on a standard normal base, and its closed-form maximum-likelihood fit (the usual baseline for a density model).
/// </summary>
public static class MultivariateNormal
{
    /// <summary>
    /// The maximum-likelihood normal of <paramref name="data"/>: μ the sample mean, Σ the sample covariance with
    /// divisor n, computed in double and factored by Cholesky (MathNet.Numerics). The MAF and RealNVP presets start at
    /// this normal of their training data (see <see cref="Presets.GaussianStart"/>).
    /// </summary>
    /// <param name="data">n × d, n &gt; d, all finite, not all on a hyperplane.</param>
    /// <returns>A flow whose log-density is that of N(μ, Σ); its parameters can be trained further.</returns>
    /// <exception cref="ArgumentException">Too few rows, a non-finite value, or a singular covariance.</exception>
    public static TransformedDistribution<T> Fit<T>(T[,] data) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(data);
        int n = data.GetLength(0);
        int d = data.GetLength(1);
        if (d == 0 || n <= d)
        {
            throw new ArgumentException($"data is {n} × {d}; a normal in {d} dimensions needs more than {d} rows.", nameof(data));
        }

        Batch.CheckFinite<T>(Batch.AsSpan(data), d, nameof(data), "fitting");
        (double[] mean, _, Matrix<double>? lower) = SampleMoments.Of<T>(Batch.AsSpan(data), d);
        if (lower is null)
        {
            throw new ArgumentException("The sample covariance of data is singular: a feature is constant or a linear combination of others.", nameof(data));
        }

        var bijector = new LowerTriangularAffine<T>(d);
        bijector.SetGaussian(mean, lower);
        return new TransformedDistribution<T>(new StandardNormal<T>(d), bijector);
    }
}
