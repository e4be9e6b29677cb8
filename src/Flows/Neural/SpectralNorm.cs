using System.Numerics;
using Flows.Autodiff;

namespace Flows.Neural;

/// <summary>
/// Spectral normalization of one weight: <c>Ŵ = W · min(1, c / σ̂(W))</c>, with σ̂ the power-iteration estimate of the
/// largest singular value of W, kept as a persistent, warm-started left singular vector u.
/// </summary>
/// <remarks>
/// <para>σ̂(W) = ‖Wᵀu‖ for the stored unit vector u (see <see cref="SpectralNormOps.SpectralNormalize{T}"/>). Whenever the
/// weight's values differ from those u was last refined for — after every optimizer step — the next use refines u by
/// power iteration (v = Wᵀu/‖Wᵀu‖, u = Wv/‖Wv‖), warm-started from the current u, until u changes by at most 1e-12
/// (max norm; σ̂, whose error is quadratic in u's, is then accurate to ~1e-20 relative) or <see cref="MaxPowerIterations"/> iterations have run. Between weight changes the map is a fixed,
/// differentiable function of W, so its tape gradient is exact.</para>
/// <para>Reference: T. Miyato, T. Kataoka, M. Koyama and Y. Yoshida, "Spectral Normalization for Generative
/// Adversarial Networks", 2018, arXiv:1802.05957; J. Behrmann et al., "Invertible Residual Networks", 2019,
/// arXiv:1811.00995.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class SpectralNorm<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Power iterations at most per refinement.</summary>
    public const int MaxPowerIterations = 2000;

    private readonly T[] _u;
    private readonly T[] _v;
    private readonly T[] _next;
    private readonly T[] _refinedFor;
    private readonly Lock _refineLock = new();
    private bool _hasRefined;
    private bool _adoptNext;

    /// <summary>Wraps <paramref name="weight"/> with a random unit u drawn from a generator seeded by <paramref name="seed"/>.</summary>
    /// <param name="weight">The weight W (out × in); its values stay unconstrained.</param>
    /// <param name="coefficient">c. Range: (0, 1) for invertible residual blocks; &gt; 0 here.</param>
    /// <param name="seed">Seed of the initial u.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="coefficient"/> is not positive and finite.</exception>
    public SpectralNorm(Parameter<T> weight, double coefficient, int seed)
        : this(weight, coefficient, new Random(seed))
    {
    }

    // Draws u from a caller's generator, so that a block can thread one generator through its layers and norms.
    internal SpectralNorm(Parameter<T> weight, double coefficient, Random random)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(random);
        if (!(coefficient > 0 && double.IsFinite(coefficient)))
        {
            throw new ArgumentOutOfRangeException(nameof(coefficient), coefficient, "coefficient must be finite and > 0.");
        }

        Weight = weight;
        Coefficient = coefficient;
        _u = new T[weight.Rows];
        _v = new T[weight.Columns];
        // Scratch and the copy of the weights u was refined for, allocated once so that a training step allocates nothing.
        _next = new T[weight.Rows];
        _refinedFor = new T[weight.Values.Length];
        T norm = T.Zero;
        for (int i = 0; i < _u.Length; i++)
        {
            _u[i] = T.CreateTruncating((2 * random.NextDouble()) - 1);
            norm += _u[i] * _u[i];
        }

        Scale(_u, T.One / T.Sqrt(norm));
    }

    /// <summary>The normalized weight W.</summary>
    public Parameter<T> Weight { get; }

    /// <summary>The Lipschitz bound c of the normalized weight.</summary>
    public double Coefficient { get; }

    /// <summary>The current unit vector u (the model's own array; saved with it).</summary>
    public ReadOnlySpan<T> U => _u;

    /// <summary>σ̂(W) = ‖Wᵀu‖ for the current weight, after refining u if the weight changed.</summary>
    public T EstimatedNorm
    {
        get
        {
            lock (_refineLock)
            {
                Refresh();
                return SpectralNormOps.SpectralEstimate<T>(Weight.Values, _u, Weight.Rows, Weight.Columns);
            }
        }
    }

    /// <summary>Ŵ on the tape, after refining u if the weight changed since the last refinement.</summary>
    /// <param name="tape">The tape.</param>
    public Node<T> Apply(Tape<T> tape)
    {
        ArgumentNullException.ThrowIfNull(tape);
        Node<T> u;
        // Concurrent evaluations of one flow share u: one refines it, the others wait and copy the refined vector.
        lock (_refineLock)
        {
            Refresh();
            u = tape.Constant(_u, _u.Length, 1);
        }

        return tape.SpectralNormalize(tape.Use(Weight), u, T.CreateTruncating(Coefficient));
    }

    /// <summary>The current Ŵ as a dense out × in array.</summary>
    public T[,] GetNormalizedWeight()
    {
        var tape = new Tape<T>(isRecording: false);
        Node<T> w = Apply(tape);
        var result = new T[Weight.Rows, Weight.Columns];
        for (int i = 0; i < Weight.Rows; i++)
        {
            for (int j = 0; j < Weight.Columns; j++)
            {
                result[i, j] = w[i, j];
            }
        }

        return result;
    }

    /// <summary>Refines u by warm-started power iteration if the weight changed since it was last refined.</summary>
    public void Refresh()
    {
        lock (_refineLock)
        {
            RefreshCore();
        }
    }

    private void RefreshCore()
    {
        T[] w = Weight.Values;
        if (_adoptNext)
        {
            // Loaded state: u was refined for exactly these saved weights; refining again would change its last bits.
            _adoptNext = false;
            w.CopyTo(_refinedFor, 0);
            _hasRefined = true;
            return;
        }

        if (_hasRefined && w.AsSpan().SequenceEqual(_refinedFor))
        {
            return;
        }

        int rows = Weight.Rows;
        int columns = Weight.Columns;
        T tolerance = T.CreateTruncating(1e-12);
        for (int iteration = 0; iteration < MaxPowerIterations; iteration++)
        {
            // v = Wᵀu / ‖Wᵀu‖, then u = W v / ‖W v‖.
            T vNorm = T.Zero;
            for (int j = 0; j < columns; j++)
            {
                T sum = T.Zero;
                for (int i = 0; i < rows; i++)
                {
                    sum += w[(i * columns) + j] * _u[i];
                }

                _v[j] = sum;
                vNorm += sum * sum;
            }

            if (vNorm == T.Zero)
            {
                break; // W = 0 (or Wᵀu = 0 exactly): σ̂ = 0 and Ŵ = W; nothing to refine.
            }

            Scale(_v, T.One / T.Sqrt(vNorm));
            T uNorm = T.Zero;
            T[] next = _next;
            for (int i = 0; i < rows; i++)
            {
                T sum = T.Zero;
                for (int j = 0; j < columns; j++)
                {
                    sum += w[(i * columns) + j] * _v[j];
                }

                next[i] = sum;
                uNorm += sum * sum;
            }

            T sigma = T.Sqrt(uNorm);
            if (sigma == T.Zero)
            {
                break;
            }

            Scale(next, T.One / sigma);
            T change = T.Zero;
            for (int i = 0; i < rows; i++)
            {
                change = T.Max(change, T.Abs(next[i] - _u[i]));
            }

            next.CopyTo(_u, 0);

            // Converging u itself (not only σ̂, whose error is the square of u's) keeps σ̂ a smooth function of W.
            if (change <= tolerance)
            {
                break;
            }
        }

        w.CopyTo(_refinedFor, 0);
        _hasRefined = true;
    }

    // Restores a saved u; the next use adopts the weights it then sees (those loaded with it) without refining.
    internal void Restore(ReadOnlySpan<T> u)
    {
        u.CopyTo(_u);
        _adoptNext = true;
    }

    private static void Scale(Span<T> values, T factor)
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] *= factor;
        }
    }
}
