using System.Numerics;
using Flows.Bijectors;
using Flows.Numerics;
using MathNet.Numerics.LinearAlgebra;
using Vector = MathNet.Numerics.LinearAlgebra.Vector<double>;

namespace Flows.Distributions;

/// <summary>
/// The multivariate normal N(μ, Σ) as a flow: a <see cref="LowerTriangularAffine{T}"/> with L the Cholesky factor of
/// Σ on a standard normal base, and its closed-form maximum-likelihood fit (the usual baseline for a density model).
/// </summary>
public static class MultivariateNormal
{
    /// <summary>
    /// The maximum-likelihood normal of <paramref name="data"/>: μ the sample mean, Σ the sample covariance with
    /// divisor n, computed in double and factored by Cholesky (MathNet.Numerics).
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
        Matrix<double> x = Matrix<double>.Build.Dense(n, d, (i, j) => double.CreateTruncating(data[i, j]));
        Vector mean = x.ColumnSums() / n;
        Matrix<double> centered = x - Matrix<double>.Build.Dense(n, d, (_, j) => mean[j]);
        Matrix<double> covariance = centered.TransposeThisAndMultiply(centered) / n;
        Matrix<double> lower;
        try
        {
            lower = covariance.Cholesky().Factor;
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException("The sample covariance of data is singular: a feature is constant or a linear combination of others.", nameof(data), e);
        }

        var bijector = new LowerTriangularAffine<T>(d);
        for (int j = 0; j < d; j++)
        {
            bijector.Shift.Values[j] = T.CreateTruncating(mean[j]);
        }

        for (int i = 0, k = 0; i < d; i++)
        {
            for (int j = 0; j <= i; j++, k++)
            {
                bijector.PackedScale.Values[k] = T.CreateTruncating(i == j ? Math.Log(lower[i, i]) : lower[i, j]);
            }
        }

        return new TransformedDistribution<T>(new StandardNormal<T>(d), bijector);
    }
}
