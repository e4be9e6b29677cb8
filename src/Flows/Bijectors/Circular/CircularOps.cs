using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>The circle [−π, π) of the circular family: angle columns, wrapping, rotations and the periodic embedding.</summary>
internal static class CircularOps
{
    /// <summary>Checks a per-column angle mask and returns the indices of the angle columns and of the real ones.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="angles"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="angles"/> is empty, or marks no angle.</exception>
    public static (int[] Angles, int[] Reals) Columns(IReadOnlyList<bool> angles, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(angles, parameterName);
        if (!angles.Contains(true))
        {
            throw new ArgumentException($"{parameterName} must mark at least one column as an angle (true); it has {angles.Count} columns and none is.", parameterName);
        }

        return ([.. Enumerable.Range(0, angles.Count).Where(j => angles[j])], [.. Enumerable.Range(0, angles.Count).Where(j => !angles[j])]);
    }

    /// <summary>Per column, whether it is an angle, as 0/1 for saved forms.</summary>
    public static int[] ToFlags(IReadOnlyList<bool> angles) => [.. angles.Select(a => a ? 1 : 0)];

    /// <summary>Column j of the mask text: "1, 0, 1".</summary>
    public static string Describe(IReadOnlyList<bool> angles) => string.Join(", ", angles.Select(a => a ? 1 : 0));

    /// <summary>v wrapped onto [−π, π): v itself when it lies there (bit for bit), else v − 2πk for the integer k that brings it there.</summary>
    public static T Wrap<T>(T v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (v >= -T.Pi && v < T.Pi)
        {
            return v;
        }

        T wrapped = v - (T.Tau * T.Floor((v + T.Pi) / T.Tau));

        // The quotient rounds, so the result can land one period off by an ulp; one correction each way suffices.
        if (wrapped >= T.Pi)
        {
            wrapped -= T.Tau;
        }

        if (wrapped < -T.Pi)
        {
            wrapped += T.Tau;
        }

        return wrapped;
    }

    /// <summary>
    /// The rotation of the angle columns, <c>x_j = wrap(z_j + φ_j)</c> (or, inverse, <c>wrap(x_j − φ_j)</c>), the other
    /// columns unchanged; the log-determinant is 0 and not produced here.
    /// </summary>
    /// <param name="tape">The tape.</param>
    /// <param name="input">n × d.</param>
    /// <param name="shift">1 × a: φ of each angle column in the order of <paramref name="angles"/>.</param>
    /// <param name="angles">The a angle columns.</param>
    /// <param name="inverse">Whether to subtract φ.</param>
    public static Node<T> Rotate<T>(this Tape<T> tape, Node<T> input, Node<T> shift, int[] angles, bool inverse)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = input.Columns;
        Node<T> output = tape.Allocate(input.Rows, d);
        input.Values.CopyTo(output.Values);
        Span<T> y = output.Values;
        ReadOnlySpan<T> phi = shift.Values;
        for (int i = 0; i < input.Rows; i++)
        {
            for (int a = 0; a < angles.Length; a++)
            {
                ref T v = ref y[(i * d) + angles[a]];
                v = Wrap(inverse ? v - phi[a] : v + phi[a]);
            }
        }

        tape.Record(RotateBackward<T>.Instance, output, input, shift, flag: inverse ? 1 : 0, indices: angles);
        return output;
    }

    /// <summary>
    /// The conditioner's view of a row, periodic in every angle: n × (d + a) with column j the feature itself for a real
    /// column and cos θ_j for an angle, and columns d.. the sines of the a angle columns in order.
    /// </summary>
    /// <remarks>A network on raw angles would give parameters that jump where an angle wraps from π to −π, so the
    /// flow's density would too; on (cos θ, sin θ) it is continuous on the circle (Rezende et al. 2020, section 3).</remarks>
    public static Node<T> AngleFeatures<T>(this Tape<T> tape, Node<T> input, int[] angles) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = input.Columns;
        int width = d + angles.Length;
        Node<T> output = tape.Allocate(input.Rows, width);
        ReadOnlySpan<T> x = input.Values;
        Span<T> y = output.Values;
        for (int i = 0; i < input.Rows; i++)
        {
            x.Slice(i * d, d).CopyTo(y.Slice(i * width, d));
            for (int a = 0; a < angles.Length; a++)
            {
                (T sin, T cos) = T.SinCos(x[(i * d) + angles[a]]);
                y[(i * width) + angles[a]] = cos;
                y[(i * width) + d + a] = sin;
            }
        }

        tape.Record(AngleFeaturesBackward<T>.Instance, output, input, indices: angles);
        return output;
    }

    private static class RotateBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Wrapping subtracts a locally constant multiple of 2π, so ∂x/∂z = 1 and ∂x/∂φ = ±1.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> input = e.Input0;
            Node<T> shift = e.Input1!;
            ReadOnlySpan<T> g = e.Output.Gradients;
            if (input.RequiresGradient)
            {
                Span<T> gx = input.Gradients;
                for (int k = 0; k < g.Length; k++)
                {
                    gx[k] += g[k];
                }
            }

            if (shift.RequiresGradient)
            {
                int[] angles = e.Indices!;
                int d = input.Columns;
                Span<T> gPhi = shift.Gradients;
                bool inverse = e.Flag == 1;
                for (int i = 0; i < input.Rows; i++)
                {
                    for (int a = 0; a < angles.Length; a++)
                    {
                        T term = g[(i * d) + angles[a]];
                        gPhi[a] += inverse ? -term : term;
                    }
                }
            }
        }
    }

    private static class AngleFeaturesBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // d cos θ = −sin θ dθ, d sin θ = cos θ dθ; the sines and cosines are read back from the output.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> input = e.Input0;
            if (!input.RequiresGradient)
            {
                return;
            }

            int[] angles = e.Indices!;
            int d = input.Columns;
            int width = e.Output.Columns;
            ReadOnlySpan<T> g = e.Output.Gradients;
            ReadOnlySpan<T> y = e.Output.Values;
            Span<T> gx = input.Gradients;
            for (int i = 0; i < input.Rows; i++)
            {
                int next = 0;
                for (int j = 0; j < d; j++)
                {
                    if (next < angles.Length && angles[next] == j)
                    {
                        T cos = y[(i * width) + j];
                        T sin = y[(i * width) + d + next];
                        gx[(i * d) + j] += (cos * g[(i * width) + d + next]) - (sin * g[(i * width) + j]);
                        next++;
                    }
                    else
                    {
                        gx[(i * d) + j] += g[(i * width) + j];
                    }
                }
            }
        }
    }
}
