using System.Globalization;
using System.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// The conditional sum-of-squares polynomial transform (SOS, Jaini et al. 2019): on [−B, B],
/// <c>z = f(x) = b + m·x + ((1 − m)/K)·Σᵢ ∫₀ˣ (1 + Σⱼ aᵢⱼ tʲ)² dt</c>, a polynomial of degree 2r + 1 with f′ ≥ m,
/// continued linearly outside [−B, B] with its boundary slopes; K(r + 1) + 1 parameters per feature (b, then each
/// polynomial's r + 1 coefficients).
/// </summary>
/// <remarks>
/// <para><b>Directions.</b> Data → base (<see cref="MonotoneTransform{T}.Inverse"/>, what log-density needs) is the closed form above, with
/// log|det J| = Σ log f′(x). Base → data (<see cref="MonotoneTransform{T}.Forward"/>, sampling) solves f(x) = z by Newton's method safeguarded
/// by bisection inside [−B, B] (closed-form on the linear tails), to a step of 4 ulp·(1 + |x|)
/// (well inside 1e-12 in double); its gradients come from the implicit function theorem, so no iteration is differentiated. A solve that fails
/// throws <see cref="InvalidOperationException"/> naming the row and the residual.</para>
/// <para><b>Why linear tails.</b> A polynomial of degree 2r + 1 stretches a row 10 standard deviations out by 10^(2r+1):
/// one outlier would get a density of e^(−10¹⁴). Beyond ±B the map is its tangent there, as the splines' identity
/// tails.</para>
/// <para>All-zero parameters give the identity (every square is 1). The minimum slope m (default 1e-3) keeps f′ away
/// from 0 where the squares vanish, as zuko's <c>SOSPolynomialTransform</c> does.</para>
/// <para>Reference: Jaini, Selby &amp; Yu, "Sum-of-Squares Polynomial Flow", ICML 2019, arXiv:1905.02325.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class SumOfSquaresPolynomialTransform<T> : MonotoneTransform<T>, IHasSavedForm<T, IConditionalTransform<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the transform.</summary>
    /// <param name="polynomialCount">K, the squared polynomials. Default 2. Range: 1 to 16.</param>
    /// <param name="degree">r, the degree of each squared polynomial (f has degree 2r + 1). Default 3. Range: 0 to 8.</param>
    /// <param name="tailBound">B: the polynomial acts on [−B, B]. Default 5. Range: &gt; 0, at most 100.</param>
    /// <param name="minimumSlope">m, the smallest f′. Default 1e-3. Range: (0, 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public SumOfSquaresPolynomialTransform(int polynomialCount = 2, int degree = 3, double tailBound = 5.0, double minimumSlope = 1e-3)
        : base("SumOfSquaresPolynomialTransform", Operation(polynomialCount, degree, tailBound, minimumSlope), tailBound, minimumSlope)
    {
        PolynomialCount = polynomialCount;
        Degree = degree;
    }

    // Checks the settings in the order of the parameters, then builds f.
    private static MonotoneOperation<T> Operation(int polynomialCount, int degree, double tailBound, double minimumSlope)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(polynomialCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(polynomialCount, 16);
        ArgumentOutOfRangeException.ThrowIfNegative(degree);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(degree, 8);
        MonotoneSettings.CheckBoundAndSlope(tailBound, minimumSlope);
        return MonotoneOperation<T>.OfLanes(new SumOfSquaresFunction<T>(polynomialCount, degree, tailBound, minimumSlope));
    }

    /// <summary>K, the number of squared polynomials.</summary>
    public int PolynomialCount { get; }

    /// <summary>r, the degree of each squared polynomial.</summary>
    public int Degree { get; }

    static SavedForm<T, IConditionalTransform<T>> IHasSavedForm<T, IConditionalTransform<T>>.SavedForm => SavedFormOf<SumOfSquaresPolynomialTransform<T>>(
        "SumOfSquaresPolynomial",
        (sos, w) =>
        {
            w.Int32("polynomialCount", sos.PolynomialCount);
            w.Int32("degree", sos.Degree);
        },
        (r, tailBound, minimumSlope) => new SumOfSquaresPolynomialTransform<T>(r.Int32("polynomialCount", minimum: 1), r.Int32("degree", minimum: 0), tailBound, minimumSlope));

    private protected override string FamilySettings => string.Create(CultureInfo.InvariantCulture, $"polynomialCount: {PolynomialCount}, degree: {Degree}");
}
