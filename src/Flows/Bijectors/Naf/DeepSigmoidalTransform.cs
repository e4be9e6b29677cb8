using System.Globalization;
using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// The conditional deep sigmoidal transform of neural autoregressive flows (NAF-DSF, Huang et al. 2018): on [−B, B],
/// <c>z = f(x) = m·x + (1 − m)·σ⁻¹(Σⱼ wⱼ σ(aⱼx + bⱼ))</c> with aⱼ &gt; 0 and w on the simplex, continued linearly outside
/// [−B, B]; 3H parameters per feature (the raw slopes, shifts and weight logits of the H sigmoid units).
/// </summary>
/// <remarks>
/// <para><b>Directions.</b> Data → base (<see cref="Inverse"/>, the conditioner's one pass per layer) is the closed form,
/// evaluated in log space (see the implementation notes of its function) so that saturated sigmoids neither cancel nor
/// underflow; log|det J| = Σ log f′(x). Base → data (<see cref="Forward"/>) solves f(x) = z by Newton's method
/// safeguarded by bisection inside [−B, B] (closed-form on the tails), to a step of 4 ulp·(1 + |x|), with gradients by
/// the implicit function theorem.</para>
/// <para><b>Why the floor and the tails.</b> σ⁻¹ of a mixture of sigmoids flattens where every unit saturates, so its
/// inverse, and a density's Jacobian factor, can blow up there: zuko's NAF was reported to score log-likelihoods above
/// the true ones. The slope floor m (default 1e-3) and the linear tails beyond ±B keep f′ ≥ m everywhere, and the
/// property suite checks every log-det against finite differences of the map itself.</para>
/// <para>aⱼ = softplus(αⱼ)/log 2 and bⱼ = βⱼ + τⱼ with fixed offsets τⱼ evenly spread over [−3, 3]; w = softmax(ω). The
/// offsets make the units differ from the start: with equal units they would get equal gradients and stay equal. So
/// all-zero parameters do not give the identity but a fixed smooth increasing map (slope 1 at most).</para>
/// <para>Reference: Huang, Krueger, Lacoste &amp; Courville, "Neural Autoregressive Flows", ICML 2018, arXiv:1804.00779.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class DeepSigmoidalTransform<T> : IConditionalTransform<T>, IHasSavedForm<T, IConditionalTransform<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly DeepSigmoidalFunction<T> _function;
    private readonly object _state;

    /// <summary>Creates the transform.</summary>
    /// <param name="hiddenCount">H, the sigmoid units. Default 8. Range: 1 to 64.</param>
    /// <param name="tailBound">B: the sigmoidal map acts on [−B, B]. Default 5. Range: &gt; 0, at most 100.</param>
    /// <param name="minimumSlope">m, the smallest f′. Default 1e-3. Range: (0, 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public DeepSigmoidalTransform(int hiddenCount = 8, double tailBound = 5.0, double minimumSlope = 1e-3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hiddenCount, 64);
        MonotoneSettings.CheckBoundAndSlope(tailBound, minimumSlope);
        HiddenCount = hiddenCount;
        TailBound = tailBound;
        MinimumSlope = minimumSlope;
        _function = new DeepSigmoidalFunction<T>(hiddenCount, tailBound, minimumSlope);
        _state = _function;
    }

    /// <summary>H, the sigmoid units.</summary>
    public int HiddenCount { get; }

    /// <summary>B: the sigmoidal map acts on [−B, B], its tangents outside.</summary>
    public double TailBound { get; }

    /// <summary>m, the smallest derivative.</summary>
    public double MinimumSlope { get; }

    /// <inheritdoc/>
    public int ParametersPerFeature => _function.ParameterCount;

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The numerical inverse did not converge.</exception>
    public (Node<T> Output, Node<T> LogDet) Forward(Tape<T> tape, Node<T> z, Node<T> parameters)
        => tape.Monotone(z, parameters, _function, _state, solve: true, "DeepSigmoidalTransform forward");

    /// <inheritdoc/>
    public (Node<T> Output, Node<T> LogDet) Inverse(Tape<T> tape, Node<T> x, Node<T> parameters)
        => tape.Monotone(x, parameters, _function, _state, solve: false, "DeepSigmoidalTransform inverse");

    static SavedForm<T, IConditionalTransform<T>> IHasSavedForm<T, IConditionalTransform<T>>.SavedForm => new(
        "DeepSigmoidal",
        typeof(DeepSigmoidalTransform<T>),
        (t, w) =>
        {
            var dsf = (DeepSigmoidalTransform<T>)t;
            w.Int32("hiddenCount", dsf.HiddenCount);
            w.Double("tailBound", dsf.TailBound);
            w.Double("minimumSlope", dsf.MinimumSlope);
        },
        r => new DeepSigmoidalTransform<T>(r.Int32("hiddenCount", minimum: 1), r.Double("tailBound"), r.Double("minimumSlope")));

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"DeepSigmoidalTransform(hiddenCount: {HiddenCount}, tailBound: {TailBound}, minimumSlope: {MinimumSlope})");
}
