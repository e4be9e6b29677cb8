using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// The radial map <c>x = z + β/(α + r)·(z − z₀)</c>, r = ‖z − z₀‖, of Rezende &amp; Mohamed (2015): a contraction
/// (β &lt; 0) or expansion (β &gt; 0) of the space around the center z₀.
/// </summary>
/// <remarks>
/// <para>log|det J| = (d − 1) log(1 + βh) + log(1 + βh + βh′r) with h = 1/(α + r), evaluated as
/// (d − 1) log((r + γ)/(α + r)) + log((r(2α + r) + γα)/(α + r)²), γ = α + β: finite at r = 0 and for large r.</para>
/// <para>Parameters are stored unconstrained: the center z₀ (1 × Dimension) and α̂, β̂ (1 × 1 each), with
/// α = softplus(α̂) &gt; 0 and β = −α + softplus(β̂) &gt; −α, the condition for invertibility. In floating point
/// softplus(β̂) is floored at 1e-6·α (and α at 1e-30), so β &gt; −α and 1 + βh ≥ 1e-6 hold for every raw value.
/// All-zero parameters give β = −log 2 + log 2 = 0: the identity, from which every parameter receives a gradient.</para>
/// <para>Inverse: ρ = ‖x − z₀‖ = r(1 + β/(α + r)) is a quadratic in r with exactly one non-negative root, taken in
/// closed form without cancellation; then z = z₀ + (x − z₀)(α + r)/(r + γ), which needs no division by ρ (at x = z₀,
/// z = z₀). Exact to rounding: no iteration and no tolerance. Gradients of the inverse differentiate the root
/// implicitly.</para>
/// <para>Reference: Rezende &amp; Mohamed, "Variational inference with normalizing flows", ICML 2015, arXiv:1505.05770.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class Radial<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T> _center;
    private readonly Parameter<T> _alpha;
    private readonly Parameter<T> _beta;

    /// <summary>Creates the identity map (all-zero parameters) on <paramref name="dimension"/> features.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public Radial(int dimension) : base(dimension)
    {
        _center = new Parameter<T>("center", 1, dimension);
        _alpha = new Parameter<T>("alpha", 1, 1);
        _beta = new Parameter<T>("beta", 1, 1);
        Parameters = [_center, _alpha, _beta];
    }

    /// <summary>The center z₀, 1 × Dimension.</summary>
    public Parameter<T> Center => _center;

    /// <summary>α̂ with α = softplus(α̂), 1 × 1.</summary>
    public Parameter<T> Alpha => _alpha;

    /// <summary>β̂ with β = −α + softplus(β̂), 1 × 1.</summary>
    public Parameter<T> Beta => _beta;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>The constrained α &gt; 0 and β &gt; −α the map uses.</summary>
    public (T Alpha, T Beta) GetConstrainedParameters()
    {
        var tape = new Tape<T>(isRecording: false);
        Node<T> packed = Packed(tape);
        T alpha = packed.Values[Dimension];
        return (alpha, packed.Values[Dimension + 1] - alpha);
    }

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => SavedForm<T, IBijector<T>>.ForDimension("Radial", d => new Radial<T>(d));

    /// <inheritdoc/>
    public override string ToString() => $"Radial(dimension: {Dimension})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => tape.Radial(z, Packed(tape), inverse: false);

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => tape.Radial(x, Packed(tape), inverse: true);

    private Node<T> Packed(Tape<T> tape) => tape.RadialParameters(tape.Use(_center), tape.Use(_alpha), tape.Use(_beta));
}
