using System.Numerics;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>Selected columns in a given order: <c>y[:, j] = x[:, columns[j]]</c>, n × columns.Length from n × d.</summary>
    /// <remarks>A column may be taken more than once; the backward pass adds up what each copy receives. With a permutation
    /// of 0..d − 1 it is <see cref="PermuteColumns{T}"/>.</remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="x">n × d.</param>
    /// <param name="columns">Column indices, each in 0..d − 1, at least one; the caller keeps them unchanged while the tape lives.</param>
    /// <returns>n × columns.Length.</returns>
    /// <exception cref="ArgumentException"><paramref name="columns"/> is empty or holds an index outside 0..d − 1.</exception>
    public static Node<T> GatherColumns<T>(this Tape<T> tape, Node<T> x, int[] columns) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(columns);
        int d = x.Columns;
        bool valid = columns.Length > 0;
        foreach (int c in columns)
        {
            valid &= (uint)c < (uint)d;
        }

        if (!valid)
        {
            throw new ArgumentException($"columns must hold at least one index, each in 0..{d - 1} (x has {d} columns).", nameof(columns));
        }

        int count = columns.Length;
        Node<T> y = tape.Allocate(x.Rows, count);
        ReadOnlySpan<T> xs = x.Values;
        Span<T> ys = y.Values;
        for (int i = 0; i < x.Rows; i++)
        {
            for (int j = 0; j < count; j++)
            {
                ys[(i * count) + j] = xs[(i * d) + columns[j]];
            }
        }

        tape.Record(GatherColumnsBackward<T>.Instance, y, x, indices: columns);
        return y;
    }

    private static class GatherColumnsBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Each output column's gradient goes back to the column it came from.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> x = e.Input0;
            if (!x.RequiresGradient)
            {
                return;
            }

            int[] columns = e.Indices!;
            int d = x.Columns;
            int count = columns.Length;
            ReadOnlySpan<T> g = e.Output.Gradients;
            Span<T> gx = x.Gradients;
            for (int i = 0; i < x.Rows; i++)
            {
                for (int j = 0; j < count; j++)
                {
                    gx[(i * d) + columns[j]] += g[(i * count) + j];
                }
            }
        }
    }
}
