using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Variational;

// Checks and shapes shared by the amortized-inference types.
internal static class VariationalData
{
    // A constant node of the rows of x after the checks every entry point makes: the width, at least one row, finiteness.
    public static Node<T> Constant<T>(Tape<T> tape, T[,] x, int dimension, string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ReadOnlySpan<T> values = Check(x, dimension, name);
        return tape.Constant(values, x.GetLength(0), dimension);
    }

    public static ReadOnlySpan<T> Check<T>(T[,] x, int dimension, string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(x, name);
        if (x.GetLength(1) != dimension)
        {
            throw new ArgumentException($"{name} has {x.GetLength(1)} columns but the model takes {dimension} features.", name);
        }

        if (x.GetLength(0) == 0)
        {
            throw new ArgumentException($"{name} has no rows.", name);
        }

        ReadOnlySpan<T> values = Batch.AsSpan(x);
        Batch.CheckFinite(values, dimension, name, "amortized fits and estimates");
        return values;
    }

    // [0, …, 0, 1, …, 1, …]: each of n indices k times, so that the k samples of a row are adjacent.
    public static int[] RepeatEach(int n, int k)
    {
        var indices = new int[n * k];
        for (int i = 0; i < n; i++)
        {
            indices.AsSpan(i * k, k).Fill(i);
        }

        return indices;
    }
}
