using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

internal static partial class SylvesterOps
{
    /// <summary>
    /// The triangular factors of a Sylvester layer from packed unconstrained values: R and R̃ are M × M upper-triangular
    /// with the upper triangles packed row by row (entry (i, j ≥ i) at i·M − i(i − 1)/2 + j − i), off-diagonal entries
    /// as stored and diagonals <c>rᵢᵢ = (1 − 1e-6)·tanh(raw)</c>, so that rᵢᵢr̃ᵢᵢ ≥ −(1 − 1e-6)² &gt; −1.
    /// </summary>
    /// <param name="tape">The tape.</param>
    /// <param name="r">R's packed upper triangle, 1 × M(M + 1)/2; or S × M(M + 1)/2 for S sets (one per row of a batch).</param>
    /// <param name="rTilde">R̃'s packed upper triangle, shaped as <paramref name="r"/>.</param>
    /// <param name="bias">b, 1 × M; or S × M.</param>
    /// <returns>A (2M + 1) × M node: rows 0..M−1 hold R, rows M..2M−1 hold R̃, row 2M holds b; for S sets, S such
    /// blocks stacked, S(2M + 1) × M.</returns>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static Node<T> SylvesterTriangles<T>(this Tape<T> tape, Node<T> r, Node<T> rTilde, Node<T> bias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(rTilde);
        ArgumentNullException.ThrowIfNull(bias);
        int m = bias.Columns;
        int sets = bias.Rows;
        int packedLength = m * (m + 1) / 2;
        if (r.Length != sets * packedLength || rTilde.Length != sets * packedLength)
        {
            throw new ArgumentException(
                $"bias is S × M and r, rTilde must hold S·M(M + 1)/2 values; got bias {bias.Rows} × {bias.Columns}, r {r.Length}, rTilde {rTilde.Length}.",
                nameof(r));
        }

        // One set of factors (a layer's own), or S stacked sets (one per row, from an encoder).
        Node<T> output = tape.Allocate(sets * ((2 * m) + 1), m);
        output.Values.Clear();
        T scale = DiagonalScale<T>();
        for (int set = 0; set < sets; set++)
        {
            Span<T> values = output.Values.Slice(set * ((2 * m) + 1) * m, ((2 * m) + 1) * m);
            ReadOnlySpan<T> rs = r.Values.Slice(set * packedLength, packedLength);
            ReadOnlySpan<T> rts = rTilde.Values.Slice(set * packedLength, packedLength);
            for (int i = 0, k = 0; i < m; i++)
            {
                for (int j = i; j < m; j++, k++)
                {
                    values[(i * m) + j] = i == j ? scale * T.Tanh(rs[k]) : rs[k];
                    values[((m + i) * m) + j] = i == j ? scale * T.Tanh(rts[k]) : rts[k];
                }
            }

            bias.Values.Slice(set * m, m).CopyTo(values[(2 * m * m)..]);
        }

        tape.Record(SylvesterTrianglesBackward<T>.Instance, output, r, rTilde, bias);
        return output;
    }

    private static T DiagonalScale<T>() where T : unmanaged, IFloatingPointIeee754<T> => T.One - T.CreateTruncating(1e-6);

    private static class SylvesterTrianglesBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Off-diagonal entries pass through; d(c·tanh(x))/dx = c(1 − tanh²x) on the diagonal.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> r = e.Input0;
            Node<T> rTilde = e.Input1!;
            Node<T> bias = e.Input2!;
            int m = bias.Columns;
            int packedLength = m * (m + 1) / 2;
            T scale = DiagonalScale<T>();
            for (int set = 0; set < bias.Rows; set++)
            {
                ReadOnlySpan<T> g = e.Output.Gradients.Slice(set * ((2 * m) + 1) * m, ((2 * m) + 1) * m);
                int offset = set * packedLength;
                for (int i = 0, k = offset; i < m; i++)
                {
                    for (int j = i; j < m; j++, k++)
                    {
                        if (r.RequiresGradient)
                        {
                            T slope = i == j ? scale * TanhRootSolver.SechSquared(r.Values[k]) : T.One;
                            r.Gradients[k] += g[(i * m) + j] * slope;
                        }

                        if (rTilde.RequiresGradient)
                        {
                            T slope = i == j ? scale * TanhRootSolver.SechSquared(rTilde.Values[k]) : T.One;
                            rTilde.Gradients[k] += g[((m + i) * m) + j] * slope;
                        }
                    }
                }

                if (bias.RequiresGradient)
                {
                    Span<T> gb = bias.Gradients.Slice(set * m, m);
                    for (int j = 0; j < m; j++)
                    {
                        gb[j] += g[(2 * m * m) + j];
                    }
                }
            }
        }
    }
}
