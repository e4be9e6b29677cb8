using System.Globalization;
using System.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// The conditional deep sigmoidal transform of neural autoregressive flows (NAF-DSF, Huang et al. 2018): on [−B, B],
/// <c>z = f(x) = m·x + (1 − m)·σ⁻¹(Σⱼ wⱼ σ(aⱼx + bⱼ))</c> with aⱼ &gt; 0 and w on the simplex, continued linearly outside
/// [−B, B]; 3H parameters per feature (the raw slopes, shifts and weight logits of the H sigmoid units).
/// </summary>
/// <remarks>
/// <para><b>Directions.</b> Data → base (<see cref="MonotoneTransform{T}.Inverse"/>, the conditioner's one pass per layer) is the closed form,
/// evaluated in log space (see the implementation notes of its function) so that saturated sigmoids neither cancel nor
/// underflow; log|det J| = Σ log f′(x). Base → data (<see cref="MonotoneTransform{T}.Forward"/>) solves f(x) = z by Newton's method
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
public sealed class DeepSigmoidalTransform<T> : MonotoneTransform<T>, IHasSavedForm<T, IConditionalTransform<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the transform.</summary>
    /// <param name="hiddenCount">H, the sigmoid units. Default 8. Range: 1 to 64.</param>
    /// <param name="tailBound">B: the sigmoidal map acts on [−B, B]. Default 5. Range: &gt; 0, at most 100.</param>
    /// <param name="minimumSlope">m, the smallest f′. Default 1e-3. Range: (0, 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public DeepSigmoidalTransform(int hiddenCount = 8, double tailBound = 5.0, double minimumSlope = 1e-3)
        : base("DeepSigmoidalTransform", Operation(hiddenCount, tailBound, minimumSlope), tailBound, minimumSlope)
    {
        HiddenCount = hiddenCount;
    }

    // Checks the settings in the order of the parameters, then builds f.
    private static MonotoneOperation<T> Operation(int hiddenCount, double tailBound, double minimumSlope)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hiddenCount, 64);
        MonotoneSettings.CheckBoundAndSlope(tailBound, minimumSlope);
        return MonotoneOperation<T>.Of(new DeepSigmoidalFunction<T>(hiddenCount, tailBound, minimumSlope));
    }

    /// <summary>H, the sigmoid units.</summary>
    public int HiddenCount { get; }

    static SavedForm<T, IConditionalTransform<T>> IHasSavedForm<T, IConditionalTransform<T>>.SavedForm => SavedFormOf<DeepSigmoidalTransform<T>>(
        "DeepSigmoidal",
        (dsf, w) => w.Int32("hiddenCount", dsf.HiddenCount),
        (r, tailBound, minimumSlope) => new DeepSigmoidalTransform<T>(r.Int32("hiddenCount", minimum: 1), tailBound, minimumSlope));

    private protected override string FamilySettings => string.Create(CultureInfo.InvariantCulture, $"hiddenCount: {HiddenCount}");
}
