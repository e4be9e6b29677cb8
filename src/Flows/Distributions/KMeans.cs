using System.Numerics;

namespace Flows.Distributions;

/// <summary>
/// Lloyd's k-means with k-means++ seeding (Arthur and Vassilvitskii, "k-means++: The Advantages of Careful Seeding",
/// 2007), in double: deterministic given the rows, their order and the <see cref="Random"/>.
/// </summary>
internal static class KMeans
{
    /// <summary>Clusters the <paramref name="rows"/> × <paramref name="d"/> values of <paramref name="x"/> into
    /// <paramref name="k"/> clusters; returns the centres (k × d, row-major) and each row's cluster.</summary>
    /// <remarks>k-means++ can seed two centres in one cluster, which Lloyd's iterations cannot undo; so, as scikit-learn's
    /// <c>n_init</c>, it runs <paramref name="attempts"/> times from successive draws of <paramref name="random"/> and
    /// keeps the clustering of least within-cluster sum of squares (the first on a tie).</remarks>
    public static (double[] Centers, int[] Assignment) Run<T>(ReadOnlySpan<T> x, int rows, int d, int k, Random random, int attempts = 8,
        int maxIterations = 100)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var data = new double[rows * d];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = double.CreateTruncating(x[i]);
        }

        (double[] Centers, int[] Assignment) best = default;
        double bestInertia = double.PositiveInfinity;
        for (int attempt = 0; attempt < attempts; attempt++)
        {
            (double[] centers, int[] assignment) = Lloyd(data, rows, d, k, random, maxIterations);
            double inertia = 0;
            for (int i = 0; i < rows; i++)
            {
                inertia += Nearest(data.AsSpan(i * d, d), centers, k).Distance;
            }

            if (inertia < bestInertia || best.Centers is null)
            {
                best = (centers, assignment);
                bestInertia = inertia;
            }
        }

        return best;
    }

    private static (double[] Centers, int[] Assignment) Lloyd(double[] data, int rows, int d, int k, Random random, int maxIterations)
    {
        double[] centers = Seed(data, rows, d, k, random);
        var assignment = new int[rows];
        Array.Fill(assignment, -1);
        var sums = new double[k * d];
        var counts = new int[k];
        for (int iteration = 0; iteration < maxIterations; iteration++)
        {
            bool changed = false;
            for (int i = 0; i < rows; i++)
            {
                int nearest = Nearest(data.AsSpan(i * d, d), centers, k).Index;
                changed |= nearest != assignment[i];
                assignment[i] = nearest;
            }

            if (!changed)
            {
                break;
            }

            Array.Clear(sums);
            Array.Clear(counts);
            for (int i = 0; i < rows; i++)
            {
                counts[assignment[i]]++;
                for (int j = 0; j < d; j++)
                {
                    sums[(assignment[i] * d) + j] += data[(i * d) + j];
                }
            }

            // An emptied cluster keeps its centre.
            for (int c = 0; c < k; c++)
            {
                for (int j = 0; j < d && counts[c] > 0; j++)
                {
                    centers[(c * d) + j] = sums[(c * d) + j] / counts[c];
                }
            }
        }

        return (centers, assignment);
    }

    // k-means++: the first centre a uniformly drawn row, each next one a row drawn with probability proportional to its
    // squared distance to the nearest centre so far (uniformly when every row sits on a centre).
    private static double[] Seed(double[] data, int rows, int d, int k, Random random)
    {
        var centers = new double[k * d];
        var distance = new double[rows];
        int first = random.Next(rows);
        data.AsSpan(first * d, d).CopyTo(centers);
        for (int c = 1; c < k; c++)
        {
            double total = 0;
            for (int i = 0; i < rows; i++)
            {
                distance[i] = Nearest(data.AsSpan(i * d, d), centers, c).Distance;
                total += distance[i];
            }

            int chosen = rows - 1;
            if (total > 0)
            {
                double u = random.NextDouble() * total;
                for (int i = 0; i < rows; i++)
                {
                    u -= distance[i];
                    if (u < 0)
                    {
                        chosen = i;
                        break;
                    }
                }
            }
            else
            {
                chosen = random.Next(rows);
            }

            data.AsSpan(chosen * d, d).CopyTo(centers.AsSpan(c * d, d));
        }

        return centers;
    }

    private static (int Index, double Distance) Nearest(ReadOnlySpan<double> row, double[] centers, int count)
    {
        int d = row.Length;
        int best = 0;
        double bestDistance = double.PositiveInfinity;
        for (int c = 0; c < count; c++)
        {
            double distance = 0;
            for (int j = 0; j < d; j++)
            {
                double difference = row[j] - centers[(c * d) + j];
                distance += difference * difference;
            }

            if (distance < bestDistance)
            {
                best = c;
                bestDistance = distance;
            }
        }

        return (best, bestDistance);
    }
}
