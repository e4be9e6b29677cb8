using System.Numerics;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>Reorders columns: <c>y[:, j] = x[:, permutation[j]]</c>.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="x">n × d.</param>
    /// <param name="permutation">A permutation of 0..d−1; the caller keeps it unchanged while the tape lives.</param>
    /// <exception cref="ArgumentException">The permutation has the wrong length.</exception>
    public static Node<T> PermuteColumns<T>(this Tape<T> tape, Node<T> x, int[] permutation) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(permutation);
        if (permutation.Length != x.Columns)
        {
            throw new ArgumentException($"permutation has {permutation.Length} entries but x has {x.Columns} columns.", nameof(permutation));
        }

        int d = x.Columns;
        Node<T> y = tape.Allocate(x.Rows, d);
        ReadOnlySpan<T> xs = x.Values;
        Span<T> ys = y.Values;
        for (int offset = 0; offset < ys.Length; offset += d)
        {
            for (int j = 0; j < d; j++)
            {
                ys[offset + j] = xs[offset + permutation[j]];
            }
        }

        tape.Record(PermuteColumnsBackward<T>.Instance, y, x, indices: permutation);
        return y;
    }

    private static class PermuteColumnsBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // The gradient is scattered back to where each column came from.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> x = e.Input0;
            if (!x.RequiresGradient)
            {
                return;
            }

            int[] permutation = e.Indices!;
            int d = x.Columns;
            ReadOnlySpan<T> g = e.Output.Gradients;
            Span<T> gx = x.Gradients;
            for (int offset = 0; offset < g.Length; offset += d)
            {
                for (int j = 0; j < d; j++)
                {
                    gx[offset + permutation[j]] += g[offset + j];
                }
            }
        }
    }
}
