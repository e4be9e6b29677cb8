using Flows.Bijectors;
using MathNet.Numerics.Distributions;

namespace Flows.Quality;

/// <summary>
/// Issue 15's three kinds of column: LogNormal(0.5, 0.6) on Positive(0), Beta(2, 5) on Interval(0, 1) and N(0, 1) on
/// Real, independent: draws, the true log-density and the Kolmogorov–Smirnov distance to each true marginal, with
/// MathNet as the oracle. Shared by <c>--data supports</c> and the unit test (linked into Flows.Tests).
/// </summary>
internal static class SupportsTruth
{
    public static readonly Support[] Supports = [Support.Positive(0), Support.Interval(0, 1), Support.Real];

    /// <summary><paramref name="rows"/> seeded rows.</summary>
    public static double[,] Sample(int rows, int seed)
    {
        var random = new Random(seed);
        var result = new double[rows, 3];
        for (int i = 0; i < rows; i++)
        {
            result[i, 0] = LogNormal.Sample(random, 0.5, 0.6);
            result[i, 1] = Beta.Sample(random, 2, 5);
            result[i, 2] = Normal.Sample(random, 0, 1);
        }

        return result;
    }

    /// <summary>The true log-density of row <paramref name="i"/> of <paramref name="x"/>.</summary>
    public static double DensityLn(double[,] x, int i)
        => LogNormal.PDFLn(0.5, 0.6, x[i, 0]) + Beta.PDFLn(2, 5, x[i, 1]) + Normal.PDFLn(0, 1, x[i, 2]);

    /// <summary>The Kolmogorov–Smirnov distance of each column of <paramref name="samples"/> to its true marginal.</summary>
    public static double[] KolmogorovSmirnov(double[,] samples)
    {
        Func<double, double>[] cdfs = [v => LogNormal.CDF(0.5, 0.6, v), v => Beta.CDF(2, 5, v), v => Normal.CDF(0, 1, v)];
        int n = samples.GetLength(0);
        var result = new double[3];
        for (int j = 0; j < 3; j++)
        {
            double[] column = [.. Enumerable.Range(0, n).Select(i => samples[i, j]).Order()];
            for (int i = 0; i < n; i++)
            {
                double f = cdfs[j](column[i]);
                result[j] = Math.Max(result[j], Math.Max(((i + 1.0) / n) - f, f - ((double)i / n)));
            }
        }

        return result;
    }
}
