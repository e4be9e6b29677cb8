using System.Globalization;
using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// The conditional Bernstein polynomial transform (BPF, Ramasinghe et al. 2021): on [−B, B],
/// <c>z = f(x) = Σₖ βₖ·C(M, k)·uᵏ(1 − u)^(M−k)</c> with u = (x + B)/(2B) and increasing coefficients
/// β₀ = −B + θ₀, βₖ − βₖ₋₁ = (2B/M)·(m + (1 − m)·softplus(θₖ)/log 2), continued linearly outside [−B, B] with its
/// boundary slopes; M + 1 parameters per feature.
/// </summary>
/// <remarks>
/// <para><b>Directions.</b> Data → base (<see cref="Inverse"/>) is the closed form, log|det J| = Σ log f′(x), with
/// f′(x) = Σₖ (βₖ₊₁ − βₖ)(M/2B)·C(M − 1, k)·uᵏ(1 − u)^(M−1−k) ≥ m. Base → data (<see cref="Forward"/>) solves f(x) = z
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
public sealed class BernsteinTransform<T> : IConditionalTransform<T>, IHasSavedForm<T, IConditionalTransform<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly BernsteinFunction<T> _function;
    private readonly object _state;

    /// <summary>Creates the transform.</summary>
    /// <param name="degree">M. Default 16. Range: 1 to 100.</param>
    /// <param name="tailBound">B: the polynomial acts on [−B, B]. Default 5. Range: &gt; 0, at most 100.</param>
    /// <param name="minimumSlope">m, the smallest f′ as a share of the identity's. Default 1e-3. Range: (0, 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public BernsteinTransform(int degree = 16, double tailBound = 5.0, double minimumSlope = 1e-3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(degree, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(degree, 100);
        MonotoneSettings.CheckBoundAndSlope(tailBound, minimumSlope);
        Degree = degree;
        TailBound = tailBound;
        MinimumSlope = minimumSlope;
        _function = new BernsteinFunction<T>(degree, tailBound, minimumSlope);
        _state = _function;
    }

    /// <summary>M, the degree.</summary>
    public int Degree { get; }

    /// <summary>B: the polynomial acts on [−B, B], its tangents outside.</summary>
    public double TailBound { get; }

    /// <summary>m, the smallest derivative.</summary>
    public double MinimumSlope { get; }

    /// <inheritdoc/>
    public int ParametersPerFeature => _function.ParameterCount;

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The numerical inverse did not converge (see the remarks).</exception>
    public (Node<T> Output, Node<T> LogDet) Forward(Tape<T> tape, Node<T> z, Node<T> parameters)
        => tape.Monotone(z, parameters, _function, _state, solve: true, "BernsteinTransform forward");

    /// <inheritdoc/>
    public (Node<T> Output, Node<T> LogDet) Inverse(Tape<T> tape, Node<T> x, Node<T> parameters)
        => tape.Monotone(x, parameters, _function, _state, solve: false, "BernsteinTransform inverse");

    static SavedForm<T, IConditionalTransform<T>> IHasSavedForm<T, IConditionalTransform<T>>.SavedForm => new(
        "Bernstein",
        typeof(BernsteinTransform<T>),
        (t, w) =>
        {
            var bernstein = (BernsteinTransform<T>)t;
            w.Int32("degree", bernstein.Degree);
            w.Double("tailBound", bernstein.TailBound);
            w.Double("minimumSlope", bernstein.MinimumSlope);
        },
        r => new BernsteinTransform<T>(r.Int32("degree", minimum: 1), r.Double("tailBound"), r.Double("minimumSlope")));

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"BernsteinTransform(degree: {Degree}, tailBound: {TailBound}, minimumSlope: {MinimumSlope})");
}
