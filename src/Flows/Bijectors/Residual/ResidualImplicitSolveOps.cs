using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

internal static class ResidualImplicitSolveOps
{
    // Tolerance and iteration cap of the backward fixed-point solve (I + J)ᵀ y = g.
    private const double ImplicitSolveTolerance = 1e-14;
    private const int ImplicitSolveMaxIterations = 5000;

    /// <summary>
    /// The implicit-function-theorem gradient of a residual block's fixed-point inverse: returns a copy of
    /// <paramref name="residual"/> whose backward pass multiplies the incoming gradient by <c>(I + J_g)⁻ᵀ</c>, with
    /// <c>J_g = W₂ diag(tanh′(a)) W₁</c> at the fixed point.
    /// </summary>
    /// <remarks>
    /// <para>The inverse z of <c>x = z + g(z; θ)</c> satisfies <c>dz = (I + J_g)⁻¹ (dx − ∂g/∂θ dθ)</c>. Compute the
    /// fixed point z* without recording, then <c>r = x − g(z*; θ)</c> on the tape with z* constant (so r carries
    /// <c>dx − ∂g/∂θ dθ</c>), then this operation: its backward maps the gradient g of z to <c>(I + J_g)⁻ᵀ g</c>,
    /// giving exactly ∂L/∂x and ∂L/∂θ of the true inverse.</para>
    /// <para>The transposed system is solved per row by the fixed-point iteration <c>y ← g − J_gᵀ y</c>, which converges
    /// because ‖J_g‖ ≤ Lip(g) &lt; 1, to 1e-14 relative; no gradient flows into <paramref name="preActivation"/> or the
    /// weights through this operation (they only define the linear map).</para>
    /// </remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="residual">r = x − g(z*), n × d.</param>
    /// <param name="preActivation">a* = W₁ z* + b₁, n × h (values only).</param>
    /// <param name="weight1">W₁, h × d (values only).</param>
    /// <param name="weight2">W₂, d × h (values only).</param>
    /// <returns>A copy of r, n × d.</returns>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static Node<T> ResidualImplicitSolve<T>(this Tape<T> tape, Node<T> residual, Node<T> preActivation, Node<T> weight1, Node<T> weight2)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(residual);
        ArgumentNullException.ThrowIfNull(preActivation);
        ArgumentNullException.ThrowIfNull(weight1);
        ArgumentNullException.ThrowIfNull(weight2);
        if (residual.Columns != weight1.Columns || preActivation.Columns != weight1.Rows || weight2.Rows != weight1.Columns
            || weight2.Columns != weight1.Rows || residual.Rows != preActivation.Rows)
        {
            throw new ArgumentException("residual (n × d), preActivation (n × h), weight1 (h × d) and weight2 (d × h) do not agree.", nameof(residual));
        }

        Node<T> z = tape.Allocate(residual.Rows, residual.Columns);
        residual.Values.CopyTo(z.Values);
        tape.Record(ResidualImplicitSolveBackward<T>.Instance, z, residual, saved: preActivation, input1: weight1, input2: weight2);
        return z;
    }

    private static class ResidualImplicitSolveBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        private static void Run(in TapeEntry<T> e)
        {
            Node<T> r = e.Input0;
            if (!r.RequiresGradient)
            {
                return;
            }

            Node<T> a = e.Saved!;
            ReadOnlySpan<T> w1 = e.Input1!.Values;
            ReadOnlySpan<T> w2 = e.Input2!.Values;
            int d = r.Columns;
            int h = a.Columns;
            ReadOnlySpan<T> g = e.Output.Gradients;
            Span<T> gr = r.Gradients;
            Span<T> derivative = h <= 256 ? stackalloc T[h] : new T[h];
            Span<T> y = d <= 256 ? stackalloc T[d] : new T[d];
            Span<T> next = d <= 256 ? stackalloc T[d] : new T[d];
            Span<T> hidden = h <= 256 ? stackalloc T[h] : new T[h];
            T tolerance = T.Max(T.CreateTruncating(ImplicitSolveTolerance), T.CreateTruncating(64) * (T.BitIncrement(T.One) - T.One));
            for (int row = 0; row < r.Rows; row++)
            {
                ReadOnlySpan<T> gRow = g.Slice(row * d, d);
                ResidualLogDetOps.TanhDerivatives(a.Values.Slice(row * h, h), derivative, default);
                gRow.CopyTo(y);
                T scale = T.One;
                foreach (T v in gRow)
                {
                    scale = T.Max(scale, T.Abs(v));
                }

                int iteration = 0;
                while (true)
                {
                    // next = g − J_gᵀ y = g − W₁ᵀ (D ⊙ (W₂ᵀ y)).
                    for (int k = 0; k < h; k++)
                    {
                        T sum = T.Zero;
                        for (int i = 0; i < d; i++)
                        {
                            sum += w2[(i * h) + k] * y[i];
                        }

                        hidden[k] = derivative[k] * sum;
                    }

                    T change = T.Zero;
                    for (int j = 0; j < d; j++)
                    {
                        T sum = gRow[j];
                        for (int k = 0; k < h; k++)
                        {
                            sum -= w1[(k * d) + j] * hidden[k];
                        }

                        change = T.Max(change, T.Abs(sum - y[j]));
                        next[j] = sum;
                    }

                    next.CopyTo(y);
                    if (change <= tolerance * scale)
                    {
                        break;
                    }

                    if (++iteration >= ImplicitSolveMaxIterations)
                    {
                        throw new InvalidOperationException(
                            $"The implicit gradient of InvertibleResidual's inverse did not converge at row {row}: the last step was {change}, the tolerance {tolerance * scale} after {iteration} iterations. The block's Lipschitz constant is too close to 1.");
                    }
                }

                for (int j = 0; j < d; j++)
                {
                    gr[(row * d) + j] += y[j];
                }
            }
        }
    }
}
