using System.Globalization;

namespace Flows.Tests.Testing;

/// <summary>Seeded test inputs and the sample data sets.</summary>
internal static class TestData
{
    /// <summary>rows × columns independent N(0, scale²) draws from a seeded generator (Box–Muller, our own code).</summary>
    public static double[,] StandardNormal(int rows, int columns, int seed, double scale = 1)
    {
        var random = new Random(seed);
        var result = new double[rows, columns];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                result[i, j] = scale * NextNormal(random);
            }
        }

        return result;
    }

    /// <summary>count independent N(0, scale²) draws.</summary>
    public static double[] StandardNormal(int count, int seed, double scale = 1)
    {
        var random = new Random(seed);
        var result = new double[count];
        for (int i = 0; i < count; i++)
        {
            result[i] = scale * NextNormal(random);
        }

        return result;
    }

    /// <summary>One N(0, 1) draw.</summary>
    public static double NextNormal(Random random)
    {
        double u = 1 - random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * random.NextDouble());
    }

    /// <summary>The midpoints of an n × n grid of equal square cells covering [−half, half]², one row per point, and each
    /// cell's area: Σ p(x)·area over the rows is the midpoint rule for ∫p over the square.</summary>
    public static double[,] MidpointGrid(int n, double half, out double cellArea)
    {
        double h = 2 * half / n;
        var grid = new double[n * n, 2];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                grid[(i * n) + j, 0] = -half + ((i + 0.5) * h);
                grid[(i * n) + j, 1] = -half + ((j + 0.5) * h);
            }
        }

        cellArea = h * h;
        return grid;
    }

    /// <summary>The row-major elements of a 2-D array.</summary>
    public static double[] Flatten(double[,] array)
    {
        var result = new double[array.Length];
        int k = 0;
        foreach (double value in array)
        {
            result[k++] = value;
        }

        return result;
    }

    /// <summary>Row <paramref name="row"/> of a 2-D array.</summary>
    public static double[] Row(double[,] array, int row)
    {
        var result = new double[array.GetLength(1)];
        for (int j = 0; j < result.Length; j++)
        {
            result[j] = array[row, j];
        }

        return result;
    }

    /// <summary>A 1 × n array holding <paramref name="values"/>.</summary>
    public static double[,] AsRow(double[] values)
    {
        var result = new double[1, values.Length];
        for (int j = 0; j < values.Length; j++)
        {
            result[0, j] = values[j];
        }

        return result;
    }

    /// <summary>Rows <paramref name="start"/>..start+count−1 of a 2-D array.</summary>
    public static double[,] Rows(double[,] array, int start, int count)
    {
        int columns = array.GetLength(1);
        var result = new double[count, columns];
        for (int i = 0; i < count; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                result[i, j] = array[start + i, j];
            }
        }

        return result;
    }

    /// <summary>Loads a numeric CSV from the test output's <c>data/</c> folder, skipping a header and non-numeric columns.</summary>
    public static double[,] LoadCsv(string fileName)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "data", fileName);
        string[] lines = [.. File.ReadAllLines(path).Where(l => l.Length > 0)];
        bool header = !double.TryParse(lines[0].Split(',')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out _);
        string[] body = header ? lines[1..] : lines;
        string[] first = body[0].Split(',');
        int[] numeric = [.. Enumerable.Range(0, first.Length)
            .Where(j => double.TryParse(first[j], NumberStyles.Float, CultureInfo.InvariantCulture, out _))];
        var result = new double[body.Length, numeric.Length];
        for (int i = 0; i < body.Length; i++)
        {
            string[] cells = body[i].Split(',');
            for (int j = 0; j < numeric.Length; j++)
            {
                result[i, j] = double.Parse(cells[numeric[j]], NumberStyles.Float, CultureInfo.InvariantCulture);
            }
        }

        return result;
    }
}
