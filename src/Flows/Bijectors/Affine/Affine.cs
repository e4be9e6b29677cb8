using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>Elementwise affine map <c>x = μ + exp(s) ⊙ z</c> with learned shift μ and log-scale s.</summary>
/// <remarks>log|det J| = Σᵢ sᵢ on every row. All-zero parameters give the identity. One fused tape operation.</remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class Affine<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T> _shift;
    private readonly Parameter<T> _logScale;

    /// <summary>Creates the identity map on <paramref name="dimension"/> features.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public Affine(int dimension) : base(dimension)
    {
        _shift = new Parameter<T>("shift", 1, dimension);
        _logScale = new Parameter<T>("logScale", 1, dimension);
        Parameters = [_shift, _logScale];
    }

    /// <summary>μ, 1 × Dimension.</summary>
    public Parameter<T> Shift => _shift;

    /// <summary>s = log scale, 1 × Dimension.</summary>
    public Parameter<T> LogScale => _logScale;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => SavedForm<T, IBijector<T>>.ForDimension("Affine", d => new Affine<T>(d));

    /// <inheritdoc/>
    public override string ToString() => $"Affine(dimension: {Dimension})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => tape.AffineElementwise(z, tape.Use(_shift), tape.Use(_logScale), inverse: false);

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => tape.AffineElementwise(x, tape.Use(_shift), tape.Use(_logScale), inverse: true);
}
