using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// The conditional affine transform <c>x = z ⊙ exp(s) + μ</c> with a soft-clamped log-scale s = b·tanh(r/b): two
/// parameters per feature, shift μ then raw log-scale r.
/// </summary>
/// <remarks>log|det J| = Σ s. The soft clamp keeps every scale in (e^−b, e^b), so no raw exponential of a network
/// output can overflow, and unlike a hard clamp its gradient never drops to zero abruptly. All-zero parameters give the
/// identity.</remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class AffineTransform<T> : IConditionalTransform<T>, IHasSavedForm<T, IConditionalTransform<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _bound;

    /// <summary>Creates the transform.</summary>
    /// <param name="logScaleBound">b, the bound of |s|. Default 5. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="logScaleBound"/> is not finite and positive.</exception>
    public AffineTransform(double logScaleBound = 5.0)
    {
        if (!(logScaleBound > 0 && double.IsFinite(logScaleBound)))
        {
            throw new ArgumentOutOfRangeException(nameof(logScaleBound), logScaleBound, "logScaleBound must be finite and > 0.");
        }

        LogScaleBound = logScaleBound;
        _bound = T.CreateTruncating(logScaleBound);
    }

    /// <summary>b, the bound of |s|.</summary>
    public double LogScaleBound { get; }

    /// <inheritdoc/>
    public int ParametersPerFeature => 2;

    /// <inheritdoc/>
    public (Node<T> Output, Node<T> LogDet) Forward(Tape<T> tape, Node<T> z, Node<T> parameters)
        => tape.ConditionalAffine(z, parameters, _bound, inverse: false);

    /// <inheritdoc/>
    public (Node<T> Output, Node<T> LogDet) Inverse(Tape<T> tape, Node<T> x, Node<T> parameters)
        => tape.ConditionalAffine(x, parameters, _bound, inverse: true);

    static SavedForm<T, IConditionalTransform<T>> IHasSavedForm<T, IConditionalTransform<T>>.SavedForm => new(
        "Affine",
        typeof(AffineTransform<T>),
        (t, w) => w.Double("logScaleBound", ((AffineTransform<T>)t).LogScaleBound),
        r => new AffineTransform<T>(r.Double("logScaleBound")));

    /// <inheritdoc/>
    public override string ToString() => $"AffineTransform(logScaleBound: {LogScaleBound})";
}
