using System.Numerics;

namespace Flows.Benchmarks;

/// <summary>
/// The canonical workloads of PEERS.md: x = sinh(z Aᵀ + b) with z ~ N(0, I), A ~ N(0, 1)/√d, b ~ 0.5·N(0, 1),
/// standardized per feature.
/// </summary>
internal static class PeerWorkload
{
    public static T[] Data<T>(int rows, int features, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(seed);
        var a = new double[features, features];
        var b = new double[features];
        for (int i = 0; i < features; i++)
        {
            b[i] = 0.5 * Normal(random);
            for (int j = 0; j < features; j++)
            {
                a[i, j] = Normal(random) / Math.Sqrt(features);
            }
        }

        var x = new double[rows * features];
        var z = new double[features];
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < features; j++)
            {
                z[j] = Normal(random);
            }

            for (int i = 0; i < features; i++)
            {
                double sum = b[i];
                for (int j = 0; j < features; j++)
                {
                    sum += a[i, j] * z[j];
                }

                x[(r * features) + i] = Math.Sinh(sum);
            }
        }

        for (int j = 0; j < features; j++)
        {
            double mean = 0;
            double square = 0;
            for (int r = 0; r < rows; r++)
            {
                mean += x[(r * features) + j];
            }

            mean /= rows;
            for (int r = 0; r < rows; r++)
            {
                double centered = x[(r * features) + j] - mean;
                square += centered * centered;
            }

            double scale = 1 / Math.Sqrt(square / rows);
            for (int r = 0; r < rows; r++)
            {
                x[(r * features) + j] = (x[(r * features) + j] - mean) * scale;
            }
        }

        return [.. x.Select(T.CreateTruncating)];
    }

    private static double Normal(Random random)
        => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
