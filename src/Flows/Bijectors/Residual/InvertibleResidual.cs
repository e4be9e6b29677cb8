using System.Numerics;
using Flows.Autodiff;
using Flows.Neural;

namespace Flows.Bijectors;

/// <summary>
/// An invertible residual block (i-ResNet): <c>x = z + g(z)</c> with <c>g(z) = Ŵ₂ tanh(Ŵ₁ z + b₁) + b₂</c>, whose
/// weights are spectrally normalized to Lipschitz bound c &lt; 1, so that Lip(g) ≤ c² &lt; 1 and the map is invertible.
/// </summary>
/// <remarks>
/// <para><b>Weights.</b> <c>Ŵ = W · min(1, c/σ̂(W))</c>, σ̂ from warm-started power iteration with persistent vectors
/// (<see cref="SpectralNorm{T}"/>), refined whenever the weights changed (after every optimizer step); tanh is
/// 1-Lipschitz with a smooth second derivative.</para>
/// <para><b>Inverse</b> (data → base) by the Banach fixed-point iteration <c>z ← x − g(z)</c> from z = x, per row,
/// until a step is at most 1e-13 · (1 + max|x|) (64 ulp in float), then on while the step still shrinks (to the rounding floor), then
/// one more step on the tape; the residual is then at rounding level, well below 1e-10 · (1 + max|x|). If a row has not converged after <see cref="MaxIterations"/> steps an
/// <see cref="InvalidOperationException"/> names the row, the last step and the tolerance.</para>
/// <para><b>Log-determinant.</b> log|det J_T(z)| = log|det(I + J_g(z))| with J_g = Ŵ₂ diag(tanh′(a)) Ŵ₁. For
/// Dimension ≤ <see cref="ExactLogDetMaxDimension"/> (default 16) it is exact: one d × d LU per row. Above it, the
/// truncated power series <c>Σₖ₌₁ⁿ (−1)^(k+1)/k · vᵀ J_gᵏ v</c>, n = <see cref="SeriesTerms"/>, with one standard
/// Gaussian probe v per row (Hutchinson), drawn from a generator seeded by <c>seed</c> that advances on every call:
/// an unbiased estimate of the <i>truncated</i> series, so its value and its gradient are biased by the truncation
/// (|bias| ≤ d·Σₖ₍ₙ₊₁₎ Lip(g)ᵏ/k); the Russian-roulette estimator of residual flows is not implemented. In series mode
/// outputs are stochastic, so rows are not independent of the call and two calls differ.</para>
/// <para><b>Gradients.</b> All gradients are exact (for the exact log-det) in both directions: the forward map through
/// the tape, the exact log-det through a hand-derived backward that uses tanh″, and the inverse through the implicit
/// function theorem, <c>dz = (I + J_g)⁻¹ (dx − ∂g/∂θ dθ)</c> (<see cref="ResidualImplicitSolveOps.ResidualImplicitSolve{T}"/>), so
/// <c>DensityLn</c> and <c>Fit</c> train it. Gradients of σ̂ are those of ‖Wᵀu‖ with u fixed between weight changes.</para>
/// <para>All-zero parameters give the identity. The power-iteration vectors, coefficient, seed and settings are saved.</para>
/// <para>Reference: J. Behrmann, W. Grathwohl, R. T. Q. Chen, D. Duvenaud and J.-H. Jacobsen, "Invertible Residual
/// Networks", 2019, arXiv:1811.00995.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class InvertibleResidual<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const double FixedPointTolerance = 1e-13;

    private readonly Linear<T> _layer0;
    private readonly Linear<T> _layer1;
    private readonly SpectralNorm<T> _norm0;
    private readonly SpectralNorm<T> _norm1;
    private readonly Random _probes;

    /// <summary>Creates the block with seeded random weights.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <param name="hiddenFeatures">Width h of the hidden layer. Range: &gt; 0.</param>
    /// <param name="coefficient">Lipschitz bound c of each normalized weight. Default 0.97. Range: (0, 1).</param>
    /// <param name="seed">Seed of the initial weights, power-iteration vectors and series probes.</param>
    /// <param name="maxIterations">Fixed-point iterations at most per row of the inverse. Default 1000. Range: &gt; 0.</param>
    /// <param name="exactLogDetMaxDimension">Largest Dimension with the exact log-det. Default 16. Range: ≥ 0.</param>
    /// <param name="seriesTerms">Terms n of the power series above that. Default 20. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range; in particular c ≥ 1.</exception>
    public InvertibleResidual(int dimension, int hiddenFeatures, double coefficient = 0.97, int seed = 0, int maxIterations = 1000,
        int exactLogDetMaxDimension = 16, int seriesTerms = 20)
        : base(dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hiddenFeatures);
        if (!(coefficient > 0 && coefficient < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(coefficient), coefficient, "coefficient must lie in (0, 1); with c ≥ 1 the block need not be invertible.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxIterations);
        ArgumentOutOfRangeException.ThrowIfNegative(exactLogDetMaxDimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seriesTerms);
        HiddenFeatures = hiddenFeatures;
        Coefficient = coefficient;
        Seed = seed;
        MaxIterations = maxIterations;
        ExactLogDetMaxDimension = exactLogDetMaxDimension;
        SeriesTerms = seriesTerms;
        var random = new Random(seed);
        _layer0 = new Linear<T>("layer0", dimension, hiddenFeatures, random);
        _layer1 = new Linear<T>("layer1", hiddenFeatures, dimension, random, initialScale: 0.1);
        _norm0 = new SpectralNorm<T>(_layer0.Weight, coefficient, random);
        _norm1 = new SpectralNorm<T>(_layer1.Weight, coefficient, random);
        _probes = new Random(seed + 1);
        Parameters = [.. _layer0.Parameters, .. _layer1.Parameters];
    }

    /// <summary>Width of the hidden layer.</summary>
    public int HiddenFeatures { get; }

    /// <summary>Lipschitz bound c of each normalized weight.</summary>
    public double Coefficient { get; }

    /// <summary>The seed of the initial weights, power-iteration vectors and series probes.</summary>
    public int Seed { get; }

    /// <summary>Fixed-point iterations at most per row of the inverse.</summary>
    public int MaxIterations { get; }

    /// <summary>Largest Dimension for which the log-det is exact; above it the power series is used.</summary>
    public int ExactLogDetMaxDimension { get; }

    /// <summary>Terms of the power series.</summary>
    public int SeriesTerms { get; }

    /// <summary>Whether the log-det is computed exactly (Dimension ≤ <see cref="ExactLogDetMaxDimension"/>).</summary>
    public bool IsLogDetExact => Dimension <= ExactLogDetMaxDimension;

    /// <summary>The spectral normalizations of the first (h × d) and second (d × h) weights.</summary>
    public IReadOnlyList<SpectralNorm<T>> SpectralNorms => [_norm0, _norm1];

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    // The settings and the power-iteration vectors, refined for the saved weights first, so a loaded block normalizes
    // its weights bit for bit as the saved one did.
    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "InvertibleResidual",
        typeof(InvertibleResidual<T>),
        (b, w) =>
        {
            var block = (InvertibleResidual<T>)b;
            w.Int32("dimension", block.Dimension);
            w.Int32("hiddenFeatures", block.HiddenFeatures);
            w.Double("coefficient", block.Coefficient);
            w.Int32("seed", block.Seed);
            w.Int32("maxIterations", block.MaxIterations);
            w.Int32("exactLogDetMaxDimension", block.ExactLogDetMaxDimension);
            w.Int32("seriesTerms", block.SeriesTerms);
            for (int k = 0; k < 2; k++)
            {
                block.SpectralNorms[k].Refresh();
                w.Values($"u{k}", block.SpectralNorms[k].U);
            }
        },
        r =>
        {
            int dimension = r.Int32("dimension", minimum: 1);
            int hidden = r.Int32("hiddenFeatures", minimum: 1);
            var block = new InvertibleResidual<T>(
                dimension,
                hidden,
                r.Double("coefficient"),
                r.Int32("seed"),
                r.Int32("maxIterations", minimum: 1),
                r.Int32("exactLogDetMaxDimension", minimum: 0),
                r.Int32("seriesTerms", minimum: 1));
            block.RestoreSpectralState(r.Values("u0", hidden), r.Values("u1", dimension));
            return block;
        });

    /// <inheritdoc/>
    public override string ToString()
        => FormattableString.Invariant($"InvertibleResidual(dimension: {Dimension}, hiddenFeatures: {HiddenFeatures}, coefficient: {Coefficient}, seed: {Seed})");

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
    {
        Node<T> w1 = _norm0.Apply(tape);
        Node<T> w2 = _norm1.Apply(tape);
        Node<T> a = tape.Linear(z, w1, tape.Use(_layer0.Bias!));
        Node<T> x = tape.Add(z, tape.Linear(tape.Tanh(a), w2, tape.Use(_layer1.Bias!)));
        return (x, LogDet(tape, a, w1, w2));
    }

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
    {
        Node<T> w1 = _norm0.Apply(tape);
        Node<T> w2 = _norm1.Apply(tape);
        Node<T> b1 = tape.Use(_layer0.Bias!);
        Node<T> b2 = tape.Use(_layer1.Bias!);
        T[] fixedPoint = SolveFixedPoint(x.Values, w1.Values, b1.Values, w2.Values, b2.Values);

        // r = x − g(z*) with z* constant, then the implicit-function gradient (see remarks).
        Node<T> aStar = tape.Linear(tape.Constant(fixedPoint, x.Rows, Dimension), w1, b1);
        Node<T> r = tape.Subtract(x, tape.Linear(tape.Tanh(aStar), w2, b2));
        Node<T> z = tape.ResidualImplicitSolve(r, aStar, w1, w2);
        Node<T> a = tape.Linear(z, w1, b1);
        return (z, tape.Negate(LogDet(tape, a, w1, w2)));
    }

    private Node<T> LogDet(Tape<T> tape, Node<T> a, Node<T> w1, Node<T> w2)
    {
        if (IsLogDetExact)
        {
            return tape.ResidualLogDet(a, w1, w2);
        }

        // Hutchinson estimate of Σₖ (−1)^(k+1)/k tr(Jᵏ), Jv = Ŵ₂ (tanh′(a) ⊙ (Ŵ₁ v)), one Gaussian probe per row.
        int n = a.Rows;
        var probe = new T[n * Dimension];
        for (int k = 0; k < probe.Length; k++)
        {
            probe[k] = T.CreateTruncating(StandardNormal(_probes));
        }

        Node<T> v = tape.Constant(probe, n, Dimension);
        Node<T> t = tape.Tanh(a);
        Span<T> ones = a.Columns <= 256 ? stackalloc T[a.Columns] : new T[a.Columns];
        ones.Fill(T.One);
        Node<T> derivative = tape.Add(tape.Negate(tape.Multiply(t, t)), tape.Constant(ones, 1, a.Columns));
        Node<T> w = v;
        Node<T>? sum = null;
        for (int k = 1; k <= SeriesTerms; k++)
        {
            w = tape.Linear(tape.Multiply(tape.Linear(w, w1), derivative), w2);
            T coefficient = T.CreateTruncating((k % 2 == 1 ? 1.0 : -1.0) / k);
            Node<T> term = tape.Scale(tape.RowSums(tape.Multiply(v, w)), coefficient);
            sum = sum is null ? term : tape.Add(sum, term);
        }

        return sum!;
    }

    // z ← x − g(z) per row from z = x, so each row's result is independent of the others.
    private T[] SolveFixedPoint(ReadOnlySpan<T> x, ReadOnlySpan<T> w1, ReadOnlySpan<T> b1, ReadOnlySpan<T> w2, ReadOnlySpan<T> b2)
    {
        int d = Dimension;
        int h = HiddenFeatures;
        var result = new T[x.Length];
        Span<T> hidden = h <= 256 ? stackalloc T[h] : new T[h];
        // 1e-13 relative in double; float's rounding floor lies far above that, so never below 64 ulp of the type.
        T tolerance = T.Max(T.CreateTruncating(FixedPointTolerance), T.CreateTruncating(64) * (T.BitIncrement(T.One) - T.One));
        for (int offset = 0; offset < x.Length; offset += d)
        {
            ReadOnlySpan<T> xr = x.Slice(offset, d);
            Span<T> z = result.AsSpan(offset, d);
            xr.CopyTo(z);
            T scale = T.One;
            foreach (T value in xr)
            {
                scale = T.Max(scale, T.Abs(value));
            }

            // After the tolerance is met, keep iterating while the step still shrinks: this polishes z to the rounding
            // floor (so finite differences through the inverse are not disturbed by where the loop stopped).
            bool polishing = false;
            T lastChange = T.PositiveInfinity;
            for (int iteration = 1; ; iteration++)
            {
                for (int k = 0; k < h; k++)
                {
                    T sum = b1[k];
                    for (int j = 0; j < d; j++)
                    {
                        sum += w1[(k * d) + j] * z[j];
                    }

                    hidden[k] = T.Tanh(sum);
                }

                T change = T.Zero;
                for (int i = 0; i < d; i++)
                {
                    T g = b2[i];
                    for (int k = 0; k < h; k++)
                    {
                        g += w2[(i * h) + k] * hidden[k];
                    }

                    T next = xr[i] - g;
                    change = T.Max(change, T.Abs(next - z[i]));
                    z[i] = next;
                }

                if (polishing && (change >= lastChange || change == T.Zero || iteration >= MaxIterations))
                {
                    break;
                }

                lastChange = change;
                if (!polishing && change <= tolerance * scale)
                {
                    polishing = true;
                    continue;
                }

                if (!polishing && iteration >= MaxIterations || !T.IsFinite(change))
                {
                    throw new InvalidOperationException(
                        $"{this}: the fixed-point inverse did not converge at row {offset / d}: the last step was {change} (residual of z + g(z) = x), the tolerance {tolerance * scale}, after {iteration} iterations.");
                }
            }
        }

        return result;
    }

    private static double StandardNormal(Random random)
    {
        // Box–Muller; 1 − U keeps the logarithm finite.
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    internal void RestoreSpectralState(ReadOnlySpan<T> u0, ReadOnlySpan<T> u1)
    {
        _norm0.Restore(u0);
        _norm1.Restore(u1);
    }
}
