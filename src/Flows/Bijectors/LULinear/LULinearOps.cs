using System.Numerics;
using Flows.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

internal static class LULinearOps
{
    /// <summary>The floor ε of the diagonal of U in <see cref="LULinear{T}"/>: <c>uᵢᵢ = softplus(rawᵢ + c) + ε</c>.</summary>
    internal const double LUMinimumDiagonal = 1e-3;

    /// <summary>
    /// The invertible linear map <c>x = P L U z + b</c> (Glow's LU parameterization) on every row, with its log-determinant.
    /// </summary>
    /// <remarks>
    /// <para><paramref name="lu"/> packs both factors in one d × d array, as LAPACK does: below the diagonal the
    /// strictly lower part of the unit lower-triangular L, above it the strictly upper part of U, and on the diagonal
    /// the raw values whose <c>uᵢᵢ = softplus(rawᵢ + c) + ε</c>, ε = 1e-3 and c = softplus⁻¹(1 − ε), so a zero raw
    /// value gives uᵢᵢ = 1 and U is never singular. P is <c>(P v)ᵢ = v[permutation[i]]</c>.</para>
    /// <para>Forward: x = P L U z + b, log|det J| = Σᵢ log uᵢᵢ. Inverse: z = U⁻¹ L⁻¹ Pᵀ (x − b) by forward then back
    /// substitution, log|det J| = −Σᵢ log uᵢᵢ.</para>
    /// </remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="input">n × d rows: z for the forward map, x for the inverse.</param>
    /// <param name="lu">d × d packed factors.</param>
    /// <param name="bias">1 × d shift b.</param>
    /// <param name="permutation">The permutation P; not copied, must not change.</param>
    /// <param name="inverse">Whether to run the inverse map.</param>
    /// <returns>The n × d output and the n × 1 log|det J| of the direction that ran.</returns>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static (Node<T> Output, Node<T> LogDet) LULinear<T>(this Tape<T> tape, Node<T> input, Node<T> lu, Node<T> bias,
        int[] permutation, bool inverse)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(lu);
        ArgumentNullException.ThrowIfNull(bias);
        ArgumentNullException.ThrowIfNull(permutation);
        int d = input.Columns;
        if (lu.Rows != d || lu.Columns != d || bias.Rows != 1 || bias.Columns != d || permutation.Length != d)
        {
            throw new ArgumentException(
                $"input has {d} columns; expected lu {d} × {d}, bias 1 × {d} and a permutation of {d}, got lu {lu.Rows} × {lu.Columns}, bias {bias.Rows} × {bias.Columns}, permutation of {permutation.Length}.",
                nameof(lu));
        }

        int n = input.Rows;
        Node<T> output = tape.Allocate(n, d);
        Node<T> logDet = tape.Allocate(n, 1);
        ReadOnlySpan<T> a = lu.Values;
        ReadOnlySpan<T> b = bias.Values;
        ReadOnlySpan<T> xs = input.Values;
        Span<T> ys = output.Values;
        Span<T> diagonal = d <= 128 ? stackalloc T[d] : new T[d];
        Span<T> work = d <= 128 ? stackalloc T[d] : new T[d];
        T sumLog = T.Zero;
        for (int i = 0; i < d; i++)
        {
            diagonal[i] = LUDiagonal(a[(i * d) + i]);
            sumLog += T.Log(diagonal[i]);
        }

        for (int offset = 0; offset < ys.Length; offset += d)
        {
            ReadOnlySpan<T> row = xs.Slice(offset, d);
            Span<T> result = ys.Slice(offset, d);
            if (!inverse)
            {
                LUForwardRow(a, diagonal, row, work, d);
                // v = L u, then x = P v + b.
                for (int i = 0; i < d; i++)
                {
                    T sum = work[i];
                    for (int j = 0; j < i; j++)
                    {
                        sum += a[(i * d) + j] * work[j];
                    }

                    result[i] = sum;
                }

                for (int i = 0; i < d; i++)
                {
                    work[i] = result[i];
                }

                for (int i = 0; i < d; i++)
                {
                    result[i] = work[permutation[i]] + b[i];
                }
            }
            else
            {
                // v = Pᵀ (x − b): v[perm[i]] = xᵢ − bᵢ.
                for (int i = 0; i < d; i++)
                {
                    work[permutation[i]] = row[i] - b[i];
                }

                // L u = v, forward substitution (unit diagonal).
                for (int i = 0; i < d; i++)
                {
                    T sum = work[i];
                    for (int j = 0; j < i; j++)
                    {
                        sum -= a[(i * d) + j] * work[j];
                    }

                    work[i] = sum;
                }

                // U z = u, back substitution.
                for (int i = d - 1; i >= 0; i--)
                {
                    T sum = work[i];
                    for (int j = i + 1; j < d; j++)
                    {
                        sum -= a[(i * d) + j] * result[j];
                    }

                    result[i] = sum / diagonal[i];
                }
            }
        }

        logDet.Values.Fill(inverse ? -sumLog : sumLog);
        tape.Record(LULinearBackward<T>.Instance, output, input, lu, bias, output1: logDet, flag: inverse ? 1 : 0, indices: permutation);
        return (output, logDet);
    }

    // uᵢᵢ = softplus(raw + c) + ε with c = softplus⁻¹(1 − ε): zero raw gives exactly 1 up to rounding.
    internal static T LUDiagonal<T>(T raw) where T : unmanaged, IFloatingPointIeee754<T>
        => Scalar.Softplus(raw + LUDiagonalOffset<T>()) + T.CreateTruncating(LUMinimumDiagonal);

    internal static T LUDiagonalOffset<T>() where T : unmanaged, IFloatingPointIeee754<T>
        => Scalar.InverseSoftplus(T.One - T.CreateTruncating(LUMinimumDiagonal));

    // u = U z for one row, U's diagonal given separately.
    private static void LUForwardRow<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> diagonal, ReadOnlySpan<T> z, Span<T> u, int d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < d; i++)
        {
            T sum = diagonal[i] * z[i];
            for (int j = i + 1; j < d; j++)
            {
                sum += a[(i * d) + j] * z[j];
            }

            u[i] = sum;
        }
    }

    private static class LULinearBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Forward, per row: u = U z, v = L u, x = P v + b. With gᵥ = Pᵀ gₓ:
        //   gL (strictly lower) += gᵥ uᵀ,  gᵤ = Lᵀ gᵥ,  gU (upper with diagonal) += gᵤ zᵀ,  g_z += Uᵀ gᵤ,  g_b += gₓ.
        // Inverse, per row: v = Pᵀ(x − b), u = L⁻¹ v, z = U⁻¹ u. With a = U⁻ᵀ g_z and c = L⁻ᵀ a:
        //   gU −= a zᵀ,  gL −= c uᵀ (u = U z recomputed),  gₓ[i] += c[perm[i]],  g_b −= the same.
        // The diagonal of U reaches its raw value through d softplus(r + c)/dr = sigmoid(r + c); the log-det adds
        // ±(Σ of its row gradients) · sigmoid(rᵢ + c) / uᵢᵢ. Verified against central differences by the property suite.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> input = e.Input0;
            Node<T> lu = e.Input1!;
            Node<T> bias = e.Input2!;
            int[] perm = e.Indices!;
            bool inverse = e.Flag == 1;
            int d = input.Columns;
            ReadOnlySpan<T> a = lu.Values;
            ReadOnlySpan<T> g = e.Output.Gradients;
            T offsetC = LUDiagonalOffset<T>();
            Span<T> diagonal = d <= 128 ? stackalloc T[d] : new T[d];
            for (int i = 0; i < d; i++)
            {
                diagonal[i] = LUDiagonal(a[(i * d) + i]);
            }

            Span<T> gv = d <= 128 ? stackalloc T[d] : new T[d];
            Span<T> gu = d <= 128 ? stackalloc T[d] : new T[d];
            Span<T> u = d <= 128 ? stackalloc T[d] : new T[d];
            Span<T> gLU = lu.RequiresGradient ? lu.Gradients : default;
            for (int offset = 0; offset < g.Length; offset += d)
            {
                ReadOnlySpan<T> gx = g.Slice(offset, d);
                if (!inverse)
                {
                    ReadOnlySpan<T> z = input.Values.Slice(offset, d);
                    LUForwardRow(a, diagonal, z, u, d);
                    for (int i = 0; i < d; i++)
                    {
                        gv[perm[i]] = gx[i];
                    }

                    // gᵤ = Lᵀ gᵥ (unit diagonal).
                    for (int j = 0; j < d; j++)
                    {
                        T sum = gv[j];
                        for (int i = j + 1; i < d; i++)
                        {
                            sum += a[(i * d) + j] * gv[i];
                        }

                        gu[j] = sum;
                    }

                    if (lu.RequiresGradient)
                    {
                        for (int i = 0; i < d; i++)
                        {
                            for (int j = 0; j < i; j++)
                            {
                                gLU[(i * d) + j] += gv[i] * u[j];
                            }

                            gLU[(i * d) + i] += gu[i] * z[i] * Scalar.Sigmoid(a[(i * d) + i] + offsetC);
                            for (int j = i + 1; j < d; j++)
                            {
                                gLU[(i * d) + j] += gu[i] * z[j];
                            }
                        }
                    }

                    if (input.RequiresGradient)
                    {
                        // g_z = Uᵀ gᵤ.
                        Span<T> gz = input.Gradients.Slice(offset, d);
                        for (int j = 0; j < d; j++)
                        {
                            T sum = diagonal[j] * gu[j];
                            for (int i = 0; i < j; i++)
                            {
                                sum += a[(i * d) + j] * gu[i];
                            }

                            gz[j] += sum;
                        }
                    }

                    if (bias.RequiresGradient)
                    {
                        Span<T> gb = bias.Gradients;
                        for (int i = 0; i < d; i++)
                        {
                            gb[i] += gx[i];
                        }
                    }
                }
                else
                {
                    ReadOnlySpan<T> z = e.Output.Values.Slice(offset, d);
                    LUForwardRow(a, diagonal, z, u, d);

                    // a' = U⁻ᵀ g_z: Uᵀ a' = g, forward substitution over columns of U.
                    for (int j = 0; j < d; j++)
                    {
                        T sum = gx[j];
                        for (int i = 0; i < j; i++)
                        {
                            sum -= a[(i * d) + j] * gu[i];
                        }

                        gu[j] = sum / diagonal[j];
                    }

                    // c = L⁻ᵀ a': Lᵀ c = a', back substitution (unit diagonal).
                    for (int j = d - 1; j >= 0; j--)
                    {
                        T sum = gu[j];
                        for (int i = j + 1; i < d; i++)
                        {
                            sum -= a[(i * d) + j] * gv[i];
                        }

                        gv[j] = sum;
                    }

                    if (lu.RequiresGradient)
                    {
                        for (int i = 0; i < d; i++)
                        {
                            for (int j = 0; j < i; j++)
                            {
                                gLU[(i * d) + j] -= gv[i] * u[j];
                            }

                            gLU[(i * d) + i] -= gu[i] * z[i] * Scalar.Sigmoid(a[(i * d) + i] + offsetC);
                            for (int j = i + 1; j < d; j++)
                            {
                                gLU[(i * d) + j] -= gu[i] * z[j];
                            }
                        }
                    }

                    if (input.RequiresGradient)
                    {
                        Span<T> gxIn = input.Gradients.Slice(offset, d);
                        for (int i = 0; i < d; i++)
                        {
                            gxIn[i] += gv[perm[i]];
                        }
                    }

                    if (bias.RequiresGradient)
                    {
                        Span<T> gb = bias.Gradients;
                        for (int i = 0; i < d; i++)
                        {
                            gb[i] -= gv[perm[i]];
                        }
                    }
                }
            }

            if (lu.RequiresGradient && e.Output1!.RequiresGradient)
            {
                T total = T.Zero;
                foreach (T gl in e.Output1.Gradients)
                {
                    total += gl;
                }

                if (inverse)
                {
                    total = -total;
                }

                for (int i = 0; i < d; i++)
                {
                    T raw = a[(i * d) + i];
                    gLU[(i * d) + i] += total * Scalar.Sigmoid(raw + offsetC) / diagonal[i];
                }
            }
        }
    }
}
