using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// Elementwise leaky ReLU with a learned negative slope per feature: <c>xⱼ = zⱼ</c> for zⱼ ≥ 0 and <c>xⱼ = αⱼ zⱼ</c>
/// for zⱼ &lt; 0, with <c>αⱼ = exp(sⱼ)</c>.
/// </summary>
/// <remarks>
/// log|det J| = Σ over the negative features of sⱼ; the inverse divides the negative side by α. α &gt; 0 keeps the sign,
/// so the map is a bijection of ℝ onto ℝ for every s. All-zero parameters give the identity (α = 1). The derivative
/// jumps at 0; there the gradient takes the right side. As in nflows' <c>LeakyReLU</c>, with the slope learned.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class LeakyReLU<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T> _logSlope;

    /// <summary>Creates the identity map (α = 1) on <paramref name="dimension"/> features.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public LeakyReLU(int dimension) : base(dimension)
    {
        _logSlope = new Parameter<T>("logSlope", 1, dimension);
        Parameters = [_logSlope];
    }

    /// <summary>s = log α, the log of the negative-side slope, 1 × Dimension.</summary>
    public Parameter<T> LogSlope => _logSlope;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => SavedForm<T, IBijector<T>>.ForDimension("LeakyReLU", d => new LeakyReLU<T>(d));

    /// <inheritdoc/>
    public override string ToString() => $"LeakyReLU(dimension: {Dimension})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => tape.LeakyReLU(z, tape.Use(_logSlope), inverse: false);

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => tape.LeakyReLU(x, tape.Use(_logSlope), inverse: true);
}
