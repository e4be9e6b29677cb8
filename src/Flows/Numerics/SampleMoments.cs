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

    // A feature whose standard deviation is at most this many of T's machine epsilons times its largest magnitude is
    // constant: the mean of equal values need not equal them to the last bit, which leaves a spread of a few ulps. A
    // fixed share such as 1e-10 would call real data constant: Unix times near 1.7e9 s that vary by 0.1 s (6e-11 of
    // their magnitude, yet 2.6e5 ulps in double).
    private const double ConstantFeatureUlps = 64;

    /// <summary>The mean and per-feature scales of the rows of <paramref name="x"/>.</summary>
    /// <param name="x">n × d rows, row-major, all finite, n &gt; 0.</param>
    /// <param name="d">Features per row.</param>
    /// <returns>The mean (d) and the population standard deviations (d), with 1 for a constant feature.</returns>
    public static (double[] Mean, double[] Scale) OfFeatures<T>(ReadOnlySpan<T> x, int d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        (double[,] centred, double[] unit, double[] largest, double[] mean) = Centred(x, d);
        int n = centred.GetLength(0);
        var scale = new double[d];
        for (int j = 0; j < d; j++)
        {
            double squares = 0;
            for (int i = 0; i < n; i++)
            {
                squares += centred[i, j] * centred[i, j];
            }

            scale[j] = Math.Sqrt(squares / n);
        }

        Unscale<T>(mean, scale, unit, largest);
        return (mean, scale);
    }

    /// <summary>The mean, per-feature scales and Cholesky factor of the rows of <paramref name="x"/>.</summary>
    /// <param name="x">n × d rows, row-major, all finite, n &gt; 0.</param>
    /// <param name="d">Features per row.</param>
    /// <returns>The mean (d); the population standard deviations (d), with 1 for a constant feature; and the lower
    /// Cholesky factor of the covariance (d × d), or null when n ≤ d or the covariance is singular (a constant feature,
    /// or one a linear combination of others).</returns>
    public static (double[] Mean, double[] Scale, Matrix<double>? Lower) Of<T>(ReadOnlySpan<T> x, int d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        (double[,] centred, double[] unit, double[] largest, double[] mean) = Centred(x, d);
        int n = centred.GetLength(0);
        Matrix<double> covariance = Matrix<double>.Build.Dense(d, d);
        for (int i = 0; i < n; i++)
        {
            for (int r = 0; r < d; r++)
            {
                for (int c = 0; c <= r; c++)
                {
                    covariance[r, c] += centred[i, r] * centred[i, c];
                }
            }
        }

        var scale = new double[d];
        for (int r = 0; r < d; r++)
        {
            for (int c = 0; c <= r; c++)
            {
                covariance[r, c] /= n;
                covariance[c, r] = covariance[r, c];
            }

            scale[r] = Math.Sqrt(covariance[r, r]);
        }

        Matrix<double>? lower = n > d ? Cholesky(covariance, scale) : null;
        bool constant = Unscale<T>(mean, scale, unit, largest);
        if (lower is not null)
        {
            for (int r = 0; r < d; r++)
            {
                for (int c = 0; c <= r; c++)
                {
                    lower[r, c] /= unit[r];
                }
            }
        }

        return (mean, scale, constant ? null : lower);
    }

    // The rows in double, each feature multiplied by the power of two that brings its largest magnitude into [1, 2), and
    // centred on its mean (a second pass on centred values avoids the cancellation of E[x²] − E[x]²). Scaling by a
    // power of two is exact, so the moments have the bits unscaled ones would, while squares of values near double's
    // overflow (issue 12's fuzz: 1.8e308 in a probe) stay finite.
    private static (double[,] Centred, double[] Unit, double[] Largest, double[] Mean) Centred<T>(ReadOnlySpan<T> x, int d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length / d;
        var unit = new double[d];
        var largest = new double[d];
        for (int j = 0; j < d; j++)
        {
            for (int i = 0; i < n; i++)
            {
                largest[j] = Math.Max(largest[j], Math.Abs(double.CreateTruncating(x[(i * d) + j])));
            }

            // 2¹⁰²³ at most: a subnormal largest magnitude (ILogB down to −1074) is brought up as far as a double allows.
            unit[j] = largest[j] > 0 ? Math.ScaleB(1.0, Math.Min(-Math.ILogB(largest[j]), 1023)) : 1;
            largest[j] *= unit[j];
        }

        var mean = new double[d];
        var centred = new double[n, d];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < d; j++)
            {
                centred[i, j] = double.CreateTruncating(x[(i * d) + j]) * unit[j];
                mean[j] += centred[i, j];
            }
        }

        for (int j = 0; j < d; j++)
        {
            mean[j] /= n;
        }

        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < d; j++)
            {
                centred[i, j] -= mean[j];
            }
        }

        return (centred, unit, largest, mean);
    }

    // Back to the data's units. A feature whose standard deviation is at most ConstantFeatureUlps ulps of its largest
    // magnitude (both scaled), or is not a normal number of the element type (a spread of subnormals, whose reciprocal
    // or logarithm would overflow a layer), is constant: its scale becomes 1. Returns whether any feature is constant.
    private static bool Unscale<T>(double[] mean, double[] scale, double[] unit, double[] largest)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool constant = false;
        for (int j = 0; j < mean.Length; j++)
        {
            mean[j] /= unit[j];
            if (scale[j] > ConstantFeatureUlps * double.CreateTruncating(T.BitIncrement(T.One) - T.One) * largest[j] && T.IsNormal(T.CreateTruncating(scale[j] / unit[j])))
            {
                scale[j] /= unit[j];
            }
            else
            {
                scale[j] = 1;
                constant = true;
            }
        }

        return constant;
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
