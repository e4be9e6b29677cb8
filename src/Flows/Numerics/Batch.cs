using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Flows.Numerics;

/// <summary>Views and checks of row-major batches held in <c>T[,]</c> arrays and spans.</summary>
internal static class Batch
{
    /// <summary>The elements of a 2-D array as one row-major span (a .NET 2-D array is contiguous and row-major).</summary>
    public static Span<T> AsSpan<T>(T[,] array) where T : unmanaged
        => array.Length == 0
            ? []
            : MemoryMarshal.CreateSpan(ref Unsafe.As<byte, T>(ref MemoryMarshal.GetArrayDataReference(array)), array.Length);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first non-finite element as <c>name[row, column]</c>.</summary>
    public static void CheckFinite<T>(ReadOnlySpan<T> values, int columns, string name, string purpose)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!T.IsFinite(values[i]))
            {
                ThrowNonFinite(values[i], i / columns, i % columns, name, purpose);
            }
        }
    }

    /// <summary>The rows a data-initialized layer's <c>Initialize</c> takes, as a row-major span: throws unless
    /// <paramref name="data"/> holds at least one row of <paramref name="dimension"/> features, all finite.</summary>
    public static ReadOnlySpan<T> InitializationRows<T>(T[,] data, int dimension, string name = "data")
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(data, name);
        if (data.GetLength(1) != dimension || data.GetLength(0) == 0)
        {
            throw new ArgumentException($"{name} is {data.GetLength(0)} × {data.GetLength(1)}; expected at least one row of {dimension} features.", name);
        }

        ReadOnlySpan<T> rows = AsSpan(data);
        CheckFinite(rows, dimension, name, "initialization");
        return rows;
    }

    /// <summary>
    /// How far below overflow data that set a flow's scale must stay: a data-initialized layer (ActNorm, a Gaussian start)
    /// takes its shift and spread, each at most the largest |value| M, from data, and samples shift + spread · z with
    /// Box–Muller draws |z| ≤ 8.6 (53-bit uniforms), so M ≤ MaxValue/1024 keeps its samples finite with room to spare.
    /// </summary>
    public const int OverflowMargin = 1024;

    /// <summary>The index of the first value larger in magnitude than T's largest / <see cref="OverflowMargin"/>, or −1.</summary>
    public static int FirstNearOverflow<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T limit = T.BitDecrement(T.PositiveInfinity) / T.CreateTruncating(OverflowMargin);
        for (int i = 0; i < values.Length; i++)
        {
            if (T.Abs(values[i]) > limit)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Throws unless every context value is finite and farther than <see cref="OverflowMargin"/> from overflow:
    /// conditioners take the context unclipped, so such a value overflows their units to ∞ of both signs and the result
    /// is NaN; unlike a data row far out, such a context has no density of its own to report.</summary>
    public static void CheckContextValues<T>(ReadOnlySpan<T> context, int columns, string name)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckFinite(context, columns, name, "conditional flows");
        if (FirstNearOverflow(context) is int k and >= 0)
        {
            throw new ArgumentException($"{DescribeNearOverflow(context, k, columns, name)}; a flow cannot condition on it.", name);
        }
    }

    /// <summary>"x[5, 1] = -8.98847E+307 lies within a factor 1024 of the largest Double (1.79769E+308)", for messages.</summary>
    public static string DescribeNearOverflow<T>(ReadOnlySpan<T> values, int index, int columns, string name) where T : unmanaged, IFloatingPointIeee754<T>
        => string.Create(CultureInfo.InvariantCulture,
            $"{name}[{index / columns}, {index % columns}] = {values[index]:G6} lies within a factor {OverflowMargin} of the largest {typeof(T).Name} ({T.BitDecrement(T.PositiveInfinity):G6})");

    /// <summary>Throws unless <paramref name="length"/> is a whole number of rows of <paramref name="columns"/> features.</summary>
    public static int RowCount(int length, int columns, string name)
    {
        if (columns == 0 || length % columns != 0)
        {
            throw new ArgumentException($"{name} has {length} values, which is not a whole number of rows of {columns} features.", name);
        }

        return length / columns;
    }

    private static void ThrowNonFinite<T>(T value, int row, int column, string name, string purpose)
        where T : unmanaged, IFloatingPointIeee754<T>
        => throw new ArgumentException($"{name}[{row}, {column}] is {value}; {purpose} need finite inputs.", name);
}
