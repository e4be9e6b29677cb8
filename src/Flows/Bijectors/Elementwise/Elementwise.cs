using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// The fixed elementwise bijector <c>xᵢ = f(zᵢ)</c> for a strictly increasing f given by <typeparamref name="TFunction"/>,
/// for constrained supports (<see cref="ExpFunction{T}"/>, <see cref="SoftplusFunction{T}"/>,
/// <see cref="SigmoidFunction{T}"/>, <see cref="TanhFunction{T}"/>; create them with the <see cref="Elementwise"/> factories).
/// </summary>
/// <remarks>
/// log|det J| = Σᵢ log f′(zᵢ) forward and −Σᵢ log f′(zᵢ) at zᵢ = f⁻¹(xᵢ) inverse. Not trainable. Data outside the range
/// of f get density 0 (a row log-determinant of −∞), never NaN.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
/// <typeparam name="TFunction">The scalar map.</typeparam>
public sealed partial class Elementwise<T, TFunction> : Bijector<T>, IHasSavedForm<T, IBijector<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TFunction : IElementwiseFunction<T>
{
    /// <summary>Creates the map on <paramref name="dimension"/> features.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public Elementwise(int dimension) : base(dimension)
    {
    }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => [];

    // Saved under the function's name ("Exp", "Sigmoid", ...), as the four separate classes of format version 2 were.
    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm
        => SavedForm<T, IBijector<T>>.ForDimension(TFunction.Name, d => new Elementwise<T, TFunction>(d));

    /// <inheritdoc/>
    public override string ToString() => $"{TFunction.Name}(dimension: {Dimension})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => tape.ElementwiseBijection<T, TFunction>(z, inverse: false);

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => tape.ElementwiseBijection<T, TFunction>(x, inverse: true);
}

/// <summary>Factories of the built-in <see cref="Elementwise{T, TFunction}"/> bijectors.</summary>
public static class Elementwise
{
    /// <summary><c>x = exp(z)</c>: ℝ onto (0, ∞), for positive quantities.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public static Elementwise<T, ExpFunction<T>> Exp<T>(int dimension) where T : unmanaged, IFloatingPointIeee754<T> => new(dimension);

    /// <summary><c>x = log(1 + exp(z))</c>: ℝ onto (0, ∞), for positive quantities with a near-linear upper tail.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public static Elementwise<T, SoftplusFunction<T>> Softplus<T>(int dimension) where T : unmanaged, IFloatingPointIeee754<T> => new(dimension);

    /// <summary><c>x = 1/(1 + exp(−z))</c>: ℝ onto (0, 1), for probabilities and proportions.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public static Elementwise<T, SigmoidFunction<T>> Sigmoid<T>(int dimension) where T : unmanaged, IFloatingPointIeee754<T> => new(dimension);

    /// <summary><c>x = tanh(z)</c>: ℝ onto (−1, 1), for correlations and other quantities in (−1, 1).</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public static Elementwise<T, TanhFunction<T>> Tanh<T>(int dimension) where T : unmanaged, IFloatingPointIeee754<T> => new(dimension);
}
