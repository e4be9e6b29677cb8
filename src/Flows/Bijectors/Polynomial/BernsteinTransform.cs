using System.Globalization;
using System.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// The conditional Bernstein polynomial transform (BPF, Ramasinghe et al. 2021): on [−B, B],
/// <c>z = f(x) = Σₖ βₖ·C(M, k)·uᵏ(1 − u)^(M−k)</c> with u = (x + B)/(2B) and increasing coefficients
/// β₀ = −B + θ₀, βₖ − βₖ₋₁ = (2B/M)·(m + (1 − m)·softplus(θₖ)/log 2), continued linearly outside [−B, B] with its
/// boundary slopes; M + 1 parameters per feature.
/// </summary>
/// <remarks>
/// <para><b>Directions.</b> Data → base (<see cref="MonotoneTransform{T}.Inverse"/>) is the closed form, log|det J| = Σ log f′(x), with
/// f′(x) = Σₖ (βₖ₊₁ − βₖ)(M/2B)·C(M − 1, k)·uᵏ(1 − u)^(M−1−k) ≥ m. Base → data (<see cref="MonotoneTransform{T}.Forward"/>) solves f(x) = z
/// by Newton's method safeguarded by bisection inside [−B, B] (closed-form on the tails), to a step of 4 ulp·(1 + |x|)
/// (well inside 1e-12 in double), with gradients by the implicit function theorem.</para>
/// <para>Increasing coefficients make f increasing (the derivative of a Bernstein polynomial is one of degree M − 1 with
/// the coefficients' differences). The basis is evaluated by de Casteljau's recurrence, stable at any degree. All-zero
/// parameters give equally spaced coefficients from −B to B, hence the identity.</para>
/// <para>References: Ramasinghe, Fernando, Khan &amp; Barnes, "Robust normalizing flows using Bernstein-type
/// polynomials", BMVC 2022, arXiv:2102.03509; Sick, Hothorn &amp; Dürr, "Deep transformation models", ICPR 2020,
/// arXiv:2004.00464.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class BernsteinTransform<T> : MonotoneTransform<T>, IHasSavedForm<T, IConditionalTransform<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the transform.</summary>
    /// <param name="degree">M. Default 16. Range: 1 to 100.</param>
    /// <param name="tailBound">B: the polynomial acts on [−B, B]. Default 5. Range: &gt; 0, at most 100.</param>
    /// <param name="minimumSlope">m, the smallest f′ as a share of the identity's. Default 1e-3. Range: (0, 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public BernsteinTransform(int degree = 16, double tailBound = 5.0, double minimumSlope = 1e-3)
        : base("BernsteinTransform", Operation(degree, tailBound, minimumSlope), tailBound, minimumSlope)
    {
        Degree = degree;
    }

    // Checks the settings in the order of the parameters, then builds f.
    private static MonotoneOperation<T> Operation(int degree, double tailBound, double minimumSlope)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(degree, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(degree, 100);
        MonotoneSettings.CheckBoundAndSlope(tailBound, minimumSlope);
        return MonotoneOperation<T>.OfLanes(new BernsteinFunction<T>(degree, tailBound, minimumSlope));
    }

    /// <summary>M, the degree.</summary>
    public int Degree { get; }

    static SavedForm<T, IConditionalTransform<T>> IHasSavedForm<T, IConditionalTransform<T>>.SavedForm => SavedFormOf<BernsteinTransform<T>>(
        "Bernstein",
        (b, w) => w.Int32("degree", b.Degree),
        (r, tailBound, minimumSlope) => new BernsteinTransform<T>(r.Int32("degree", minimum: 1), tailBound, minimumSlope));

    private protected override string FamilySettings => string.Create(CultureInfo.InvariantCulture, $"degree: {Degree}");
}
