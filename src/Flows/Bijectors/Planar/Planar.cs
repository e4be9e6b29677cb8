using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// The planar map <c>x = z + û tanh(wᵀz + b)</c> of Rezende &amp; Mohamed (2015): a contraction or expansion of the
/// space along the normal w of the hyperplane wᵀz + b = 0.
/// </summary>
/// <remarks>
/// <para>log|det J| = log|1 + wᵀû·tanh′(wᵀz + b)| (matrix determinant lemma) on every row.</para>
/// <para>Parameters are stored unconstrained: u, w (1 × Dimension) and b (1 × 1). The map uses
/// <c>û = u + (m(wᵀu) − wᵀu) w/‖w‖²</c> with m(a) = −1 + max(softplus(a + log(e − 1)), 1e-6), so wᵀû &gt; −1 for every
/// raw value: the map is invertible and its Jacobian factor is ≥ 1e-6 (see
/// <see cref="PlanarOps.PlanarParameters{T}"/>; w = 0 gives û = u, a translation). u = 0 gives û = 0, the identity, for
/// every w. All-zero parameters are the identity too but a saddle point (no gradient reaches u), so the constructor
/// draws w from a seed and sets u = 0 and b = 0: the layer starts as the identity and can learn.</para>
/// <para>Inverse: with α = wᵀz, wᵀx = α + wᵀû tanh(α + b) is strictly increasing in α; it is solved per row by
/// bracketed Newton with bisection fallback to 1e-12·(1 + |α|) in double (64 ulp in float), then
/// z = x − û tanh(α + b). Gradients of the inverse differentiate through α by the implicit function theorem. A row that
/// does not converge throws <see cref="InvalidOperationException"/> naming the row, residual and tolerance.</para>
/// <para>Reference: Rezende &amp; Mohamed, "Variational inference with normalizing flows", ICML 2015, arXiv:1505.05770.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class Planar<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T> _u;
    private readonly Parameter<T> _w;
    private readonly Parameter<T> _bias;

    /// <summary>
    /// Creates a planar layer that starts as the identity: u = 0, b = 0 and w drawn from N(0, 1/Dimension) with
    /// <paramref name="seed"/>.
    /// </summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <param name="seed">Seed of the initial w.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public Planar(int dimension, int seed = 0) : base(dimension)
    {
        _u = new Parameter<T>("u", 1, dimension);
        _w = new Parameter<T>("w", 1, dimension);
        _bias = new Parameter<T>("bias", 1, 1);
        Parameters = [_u, _w, _bias];
        Gaussian.Fill<T>(_w.Values, new Random(seed));
        T scale = T.One / T.Sqrt(T.CreateTruncating(dimension));
        for (int j = 0; j < dimension; j++)
        {
            _w.Values[j] *= scale;
        }
    }

    /// <summary>The unconstrained u, 1 × Dimension.</summary>
    public Parameter<T> U => _u;

    /// <summary>The hyperplane normal w, 1 × Dimension.</summary>
    public Parameter<T> W => _w;

    /// <summary>The offset b, 1 × 1.</summary>
    public Parameter<T> Bias => _bias;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>The reparameterized û the map uses, for which wᵀû &gt; −1.</summary>
    /// <returns>A new array of Dimension values.</returns>
    public T[] GetReparameterizedU()
    {
        var tape = new Tape<T>(isRecording: false);
        Node<T> packed = tape.PlanarParameters(tape.Use(_u), tape.Use(_w), tape.Use(_bias));
        return packed.Values[..Dimension].ToArray();
    }

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => SavedForm<T, IBijector<T>>.ForDimension("Planar", d => new Planar<T>(d));

    /// <inheritdoc/>
    public override string ToString() => $"Planar(dimension: {Dimension})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => tape.Planar(z, tape.PlanarParameters(tape.Use(_u), tape.Use(_w), tape.Use(_bias)), inverse: false);

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The root solve did not converge for some row.</exception>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => tape.Planar(x, tape.PlanarParameters(tape.Use(_u), tape.Use(_w), tape.Use(_bias)), inverse: true);
}
