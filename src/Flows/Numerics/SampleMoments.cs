using System.Numerics;
using MathNet.Numerics.LinearAlgebra;

namespace Flows.Numerics;

/// <summary>
/// The maximum-likelihood normal of a batch: the sample mean, and the Cholesky factor of the sample covariance with
/// divisor n, computed in double whatever the element type.
/// </summary>
internal static class SampleMoments
{
    // A feature whose conditional standard deviation given the features before it (Lᵢᵢ) is at most this share of its
    // own standard deviation is treated as a linear combination of them: rounding alone leaves Lᵢᵢ near 1e-8·σᵢ for an
    // exact combination computed in double, so the threshold sits well above that.
    private const double CollinearityThreshold = 1e-6;

    // A feature whose standard deviation is at most this share of its largest magnitude is constant (as in ActNorm):
    // the mean of equal values need not equal them to the last bit, which leaves a spurious tiny spread.
    private const double ConstantFeatureThreshold = 1e-10;

    /// <summary>The mean, per-feature scales and Cholesky factor of the rows of <paramref name="x"/>.</summary>
    /// <param name="x">n × d rows, row-major, all finite, n &gt; 0.</param>
    /// <param name="d">Features per row.</param>
    /// <returns>The mean (d); the population standard deviations (d), with 1 for a constant feature; and the lower
    /// Cholesky factor of the covariance (d × d), or null when n ≤ d or the covariance is singular (a constant feature,
    /// or one a linear combination of others).</returns>
    public static (double[] Mean, double[] Scale, Matrix<double>? Lower) Of<T>(ReadOnlySpan<T> x, int d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length / d;
        var mean = new double[d];
        var largest = new double[d];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < d; j++)
            {
                double value = double.CreateTruncating(x[(i * d) + j]);
                mean[j] += value;
                largest[j] = Math.Max(largest[j], Math.Abs(value));
            }
        }

        for (int j = 0; j < d; j++)
        {
            mean[j] /= n;
        }

        // The second pass on centred values avoids the cancellation of E[x²] − E[x]².
        Matrix<double> covariance = Matrix<double>.Build.Dense(d, d);
        var centred = new double[d];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < d; j++)
            {
                centred[j] = double.CreateTruncating(x[(i * d) + j]) - mean[j];
            }

            for (int r = 0; r < d; r++)
            {
                for (int c = 0; c <= r; c++)
                {
                    covariance[r, c] += centred[r] * centred[c];
                }
            }
        }

        var scale = new double[d];
        bool constant = false;
        for (int r = 0; r < d; r++)
        {
            for (int c = 0; c <= r; c++)
            {
                covariance[r, c] /= n;
                covariance[c, r] = covariance[r, c];
            }

            scale[r] = Math.Sqrt(covariance[r, r]);
            if (!(scale[r] > ConstantFeatureThreshold * largest[r]))
            {
                scale[r] = 1;
                constant = true;
            }
        }

        return (mean, scale, n > d && !constant ? Cholesky(covariance, scale) : null);
    }

    private static Matrix<double>? Cholesky(Matrix<double> covariance, double[] standardDeviation)
    {
        Matrix<double> lower;
        try
        {
            lower = covariance.Cholesky().Factor;
        }
        catch (ArgumentException)
        {
            return null; // not positive definite
        }

        for (int j = 0; j < standardDeviation.Length; j++)
        {
            if (!(lower[j, j] > CollinearityThreshold * standardDeviation[j]))
            {
                return null;
            }
        }

        return lower;
    }
}
