using System.Numerics;
using Flows.Autodiff;

namespace Flows.Neural;

internal static class SpectralNormOps
{
    /// <summary>
    /// Spectral normalization <c>Ŵ = W · min(1, c / σ̂(W))</c> with <c>σ̂(W) = ‖Wᵀ u‖</c> for a fixed unit vector u (the
    /// power-iteration estimate of the largest left singular vector, kept by the caller).
    /// </summary>
    /// <remarks>σ̂ is a lower bound of the spectral norm that equals it when u is the top left singular vector; u is a
    /// constant here, so the gradient is the exact gradient of the map computed: with v = Wᵀu/σ̂ and G = ∂L/∂Ŵ,
    /// ∂L/∂W = s G − (s/σ̂)⟨G, W⟩ u vᵀ when σ̂ &gt; c (s = c/σ̂), and G otherwise.
    /// Reference: T. Miyato et al., "Spectral Normalization for Generative Adversarial Networks", 2018, arXiv:1802.05957.</remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="weight">W, out × in.</param>
    /// <param name="u">The out × 1 unit vector u, a constant node.</param>
    /// <param name="coefficient">c. Range: &gt; 0.</param>
    /// <returns>Ŵ, out × in.</returns>
    /// <exception cref="ArgumentException">u does not have one value per row of W.</exception>
    public static Node<T> SpectralNormalize<T>(this Tape<T> tape, Node<T> weight, Node<T> u, T coefficient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(u);
        if (u.Length != weight.Rows)
        {
            throw new ArgumentException($"u has {u.Length} values but the weight has {weight.Rows} rows.", nameof(u));
        }

        T sigma = SpectralEstimate(weight.Values, u.Values, weight.Rows, weight.Columns);
        T s = sigma > coefficient ? coefficient / sigma : T.One;
        Node<T> y = tape.Allocate(weight.Rows, weight.Columns);
        ReadOnlySpan<T> w = weight.Values;
        Span<T> ys = y.Values;
        for (int k = 0; k < ys.Length; k++)
        {
            ys[k] = w[k] * s;
        }

        tape.Record(SpectralNormalizeBackward<T>.Instance, y, weight, u, scalar: coefficient);
        return y;
    }

    // σ̂ = ‖Wᵀ u‖ for W rows × columns, row-major.
    internal static T SpectralEstimate<T>(ReadOnlySpan<T> w, ReadOnlySpan<T> u, int rows, int columns)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T sum = T.Zero;
        for (int j = 0; j < columns; j++)
        {
            T v = T.Zero;
            for (int i = 0; i < rows; i++)
            {
                v += w[(i * columns) + j] * u[i];
            }

            sum += v * v;
        }

        return T.Sqrt(sum);
    }

    private static class SpectralNormalizeBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        private static void Run(in TapeEntry<T> e)
        {
            Node<T> weight = e.Input0;
            if (!weight.RequiresGradient)
            {
                return;
            }

            int rows = weight.Rows;
            int columns = weight.Columns;
            ReadOnlySpan<T> w = weight.Values;
            ReadOnlySpan<T> u = e.Input1!.Values;
            ReadOnlySpan<T> g = e.Output.Gradients;
            Span<T> gw = weight.Gradients;
            T c = e.Scalar;
            T sigma = SpectralEstimate(w, u, rows, columns);
            if (!(sigma > c))
            {
                for (int k = 0; k < g.Length; k++)
                {
                    gw[k] += g[k];
                }

                return;
            }

            T s = c / sigma;
            T inner = T.Zero;
            for (int k = 0; k < g.Length; k++)
            {
                inner += g[k] * w[k];
            }

            T factor = s * inner / (sigma * sigma); // (s/σ̂)⟨G, W⟩ times 1/σ̂ for v = Wᵀu/σ̂
            for (int j = 0; j < columns; j++)
            {
                T wu = T.Zero;
                for (int i = 0; i < rows; i++)
                {
                    wu += w[(i * columns) + j] * u[i];
                }

                for (int i = 0; i < rows; i++)
                {
                    int k = (i * columns) + j;
                    gw[k] += (s * g[k]) - (factor * u[i] * wu);
                }
            }
        }
    }
}
