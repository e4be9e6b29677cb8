using System.Globalization;
using System.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// The conditional unconstrained monotonic transform (UMNN, Wehenkel &amp; Louppe 2019): on [−B, B],
/// <c>z = f(x) = b + ∫₀ˣ g(t) dt</c> with a positive integrand g(t) = m + (1 − m)·softplus(h(t))/log 2 and the network
/// h(t) = a₀ + Σₖ aₖ·tanh(sₖ(t − τₖ) + cₖ), sₖ = softplus(wₖ)/log 2, integrated by Clenshaw–Curtis quadrature, continued
/// linearly outside [−B, B]; 3H + 2 parameters per feature.
/// </summary>
/// <remarks>
/// <para><b>The network.</b> UMNN only needs g &gt; 0, so h is unconstrained. Here h is a one-hidden-layer tanh network of
/// t whose weights (a, w, c) and the offset b the conditioner emits per row and feature, as a hypernetwork (the way the
/// neural autoregressive flow's conditioner emits its monotone network), rather than UMNN's one shared network that reads
/// an embedding. The knots τₖ are fixed, evenly spread over [−B, B], so that the hidden units differ from the start.</para>
/// <para><b>Quadrature.</b> ∫₀ˣ g ≈ x·Σᵢ ωᵢ g(x(1 + sᵢ)/2) on N + 1 Clenshaw–Curtis nodes sᵢ = cos(iπ/N) (positive weights,
/// exact for polynomials of degree N); its parameter gradient is the same rule applied to ∂g/∂θ (Leibniz). The
/// log-derivative is log g(x), the derivative of the exact integral, as in UMNN, not the slope of the quadrature map
/// itself, so a flow's density integrates to 1 only up to the quadrature's error in that slope: measured 1 − 3.9e-5 at
/// the default N = 32 and 1 − 8.8e-6 at N = 128 for a two-layer flow with random parameters (the other monotone
/// transforms integrate to 1 within 1e-7 in the same test). The gradients are exact for the computed values.</para>
/// <para><b>Directions.</b> Data → base (<see cref="MonotoneTransform{T}.Inverse"/>) is the quadrature above; base → data
/// (<see cref="MonotoneTransform{T}.Forward"/>) solves f(x) = z by Newton's method safeguarded by bisection inside [−B, B] (closed-form on the
/// tails), to a step of 4 ulp·(1 + |x|), with gradients by the implicit function theorem.</para>
/// <para>All-zero parameters give the identity (h = 0, g = 1), with nonzero gradients for every aₖ.</para>
/// <para>Reference: Wehenkel &amp; Louppe, "Unconstrained Monotonic Neural Networks", NeurIPS 2019, arXiv:1908.05164;
/// Clenshaw &amp; Curtis, "A method for numerical integration on an automatic computer", Numer. Math. 1960.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class UnconstrainedMonotonicTransform<T> : MonotoneTransform<T>, IHasSavedForm<T, IConditionalTransform<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the transform.</summary>
    /// <param name="hiddenCount">H, hidden units of the integrand's network. Default 8. Range: 1 to 64.</param>
    /// <param name="intervalCount">N, Clenshaw–Curtis intervals (N + 1 nodes). Default 32. Range: even, 2 to 256.</param>
    /// <param name="tailBound">B: the integral acts on [−B, B]. Default 5. Range: &gt; 0, at most 100.</param>
    /// <param name="minimumSlope">m, the smallest g. Default 1e-3. Range: (0, 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public UnconstrainedMonotonicTransform(int hiddenCount = 8, int intervalCount = 32, double tailBound = 5.0, double minimumSlope = 1e-3)
        : base("UnconstrainedMonotonicTransform", Operation(hiddenCount, intervalCount, tailBound, minimumSlope), tailBound, minimumSlope)
    {
        HiddenCount = hiddenCount;
        IntervalCount = intervalCount;
    }

    // Checks the settings in the order of the parameters, then builds f.
    private static MonotoneOperation<T> Operation(int hiddenCount, int intervalCount, double tailBound, double minimumSlope)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hiddenCount, 64);
        if (intervalCount < 2 || intervalCount > 256 || intervalCount % 2 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(intervalCount), intervalCount, "intervalCount must be even and between 2 and 256.");
        }

        MonotoneSettings.CheckBoundAndSlope(tailBound, minimumSlope);
        return MonotoneOperation<T>.Of(new IntegralFunction<T>(hiddenCount, intervalCount, tailBound, minimumSlope));
    }

    /// <summary>H, the hidden units of the integrand's network.</summary>
    public int HiddenCount { get; }

    /// <summary>N, the Clenshaw–Curtis intervals.</summary>
    public int IntervalCount { get; }

    static SavedForm<T, IConditionalTransform<T>> IHasSavedForm<T, IConditionalTransform<T>>.SavedForm => SavedFormOf<UnconstrainedMonotonicTransform<T>>(
        "UnconstrainedMonotonic",
        (umnn, w) =>
        {
            w.Int32("hiddenCount", umnn.HiddenCount);
            w.Int32("intervalCount", umnn.IntervalCount);
        },
        (r, tailBound, minimumSlope) => new UnconstrainedMonotonicTransform<T>(r.Int32("hiddenCount", minimum: 1), r.Int32("intervalCount", minimum: 2), tailBound, minimumSlope));

    private protected override string FamilySettings => string.Create(CultureInfo.InvariantCulture, $"hiddenCount: {HiddenCount}, intervalCount: {IntervalCount}");
}
