using System.Numerics;

namespace Flows.Numerics;

/// <summary>
/// One index range [Start[i], End[i]) per line of a matrix (a row or a column), outside which the line is known to be
/// zero, or not needed: what lets a product skip the zero part of a masked weight (MADE's masks are staircases once
/// the units are sorted by degree).
/// </summary>
internal sealed class Bands
{
    private Bands(int[] start, int[] end)
    {
        Start = start;
        End = end;
    }

    private GroupUnions? _groups0;
    private GroupUnions? _groups1;

    /// <summary>First index of each line's range.</summary>
    public int[] Start { get; }

    /// <summary>One past the last index of each line's range (equal to Start for an empty line).</summary>
    public int[] End { get; }

    /// <summary>Lines described.</summary>
    public int Count => Start.Length;

    /// <summary>For each row of a rows × columns 0/1 mask, the smallest range of columns that holds its ones.</summary>
    public static Bands OfRows<T>(ReadOnlySpan<T> mask, int rows, int columns) where T : unmanaged, IFloatingPointIeee754<T>
        => Of(mask, rows, columns, lineStride: columns, indexStride: 1);

    /// <summary>For each column of a rows × columns 0/1 mask, the smallest range of rows that holds its ones.</summary>
    public static Bands OfColumns<T>(ReadOnlySpan<T> mask, int rows, int columns) where T : unmanaged, IFloatingPointIeee754<T>
        => Of(mask, columns, rows, lineStride: 1, indexStride: columns);

    /// <summary>The union of the ranges of lines [group·size, (group + 1)·size), clipped to <see cref="Count"/>: what a
    /// product's tile of <paramref name="size"/> lines needs, computed once per size and kept.</summary>
    public (int Start, int End) GroupUnion(int group, int size)
    {
        // Two slots: a band is used with two tile sizes at most (its columns of C, and its rows of C in Aᵀ·B).
        GroupUnions? cached = _groups0 is { } g0 && g0.Size == size ? g0 : _groups1 is { } g1 && g1.Size == size ? g1 : null;
        if (cached is null)
        {
            cached = UnionsOfGroups(size);
            if (_groups0 is null)
            {
                _groups0 = cached;
            }
            else
            {
                _groups1 = cached;
            }
        }

        return cached.Unions[group];
    }

    // Its own method: a lambda capturing size in GroupUnion would allocate its closure on every call, hit or miss.
    private GroupUnions UnionsOfGroups(int size)
        => new(size, [.. Enumerable.Range(0, (Count + size - 1) / size).Select(g => Union(g * size, Math.Min(size, Count - (g * size))))]);

    /// <summary>The union of the ranges of lines [first, first + count).</summary>
    private (int Start, int End) Union(int first, int count)
    {
        int start = int.MaxValue;
        int end = int.MinValue;
        for (int i = first; i < first + count; i++)
        {
            if (End[i] > Start[i])
            {
                start = Math.Min(start, Start[i]);
                end = Math.Max(end, End[i]);
            }
        }

        return end > start ? (start, end) : (0, 0);
    }

    // Unions per group of lines; published whole, so a race between threads only computes them twice.
    private sealed record GroupUnions(int Size, (int Start, int End)[] Unions);

    private static Bands Of<T>(ReadOnlySpan<T> mask, int lines, int length, int lineStride, int indexStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var start = new int[lines];
        var end = new int[lines];
        for (int line = 0; line < lines; line++)
        {
            int first = -1;
            int last = -1;
            for (int i = 0; i < length; i++)
            {
                if (mask[(line * lineStride) + (i * indexStride)] != T.Zero)
                {
                    first = first < 0 ? i : first;
                    last = i;
                }
            }

            (start[line], end[line]) = first < 0 ? (0, 0) : (first, last + 1);
        }

        return new Bands(start, end);
    }
}
