using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// An elementwise monotone rational-quadratic spline with learned parameters: one
/// <see cref="RationalQuadraticTransform{T}"/> per feature, K bins on [−B, B], identity tails.
/// </summary>
/// <remarks>The parameters are one 1 × ((3K − 1)·d) row in block layout (column p·d + j is parameter p of feature j).
/// All-zero parameters give the identity. See <see cref="RationalQuadraticTransform{T}"/> for the maths and the
/// reference.</remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class RationalQuadraticSpline<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T> _parameters;

    /// <summary>Creates the identity spline on <paramref name="dimension"/> features.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <param name="transform">Bins, bound and minimums; default K = 8, B = 5, minimums 1e-3.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public RationalQuadraticSpline(int dimension, RationalQuadraticTransform<T>? transform = null) : base(dimension)
    {
        Transform = transform ?? new RationalQuadraticTransform<T>();
        _parameters = new Parameter<T>("spline", 1, Transform.ParametersPerFeature * dimension);
        Parameters = [_parameters];
    }

    /// <summary>The spline settings.</summary>
    public RationalQuadraticTransform<T> Transform { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "RationalQuadraticSpline",
        typeof(RationalQuadraticSpline<T>),
        (b, w) =>
        {
            w.Int32("dimension", b.Dimension);
            w.Transform("transform", ((RationalQuadraticSpline<T>)b).Transform);
        },
        r => new RationalQuadraticSpline<T>(
            r.Int32("dimension", minimum: 1),
            r.Transform("transform") as RationalQuadraticTransform<T> ?? throw r.Error("transform", "expected a RationalQuadratic transform")));

    /// <inheritdoc/>
    public override string ToString() => $"RationalQuadraticSpline(dimension: {Dimension}, binCount: {Transform.BinCount}, tailBound: {Transform.TailBound})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => Transform.Forward(tape, z, tape.Use(_parameters));

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => Transform.Inverse(tape, x, tape.Use(_parameters));
}
