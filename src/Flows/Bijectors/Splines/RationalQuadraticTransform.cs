using System.Globalization;
using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// The conditional monotone rational-quadratic spline transform of neural spline flows: K bins on [−B, B] with
/// learned widths, heights and interior derivatives, the identity outside [−B, B]; 3K − 1 parameters per feature.
/// </summary>
/// <remarks>
/// <para>Widths and heights are 2B·(m + (1 − Km)·softmax(logits)) with minimum share m (default 1e-3); interior
/// derivatives are m_δ + softplus(u + c) ≥ m_δ (default 1e-3), with c chosen so that u = 0 gives 1; the boundary
/// derivatives are 1, so the map is C¹ where the linear tails join. All-zero parameters give the identity.</para>
/// <para>Forward, inverse (the cancellation-free root of the quadratic) and the log-determinant are each one fused
/// tape operation with a hand-derived backward pass. Inputs outside [−B, B] take the identity branch only, so no NaN
/// can come from the branch not taken.</para>
/// <para>Reference: Durkan, Bekasov, Murray &amp; Papamakarios, "Neural Spline Flows", NeurIPS 2019, arXiv:1906.04032;
/// Gregory &amp; Delbourgo, "Piecewise rational quadratic interpolation to monotonic data", IMA J. Numer. Anal. 1982.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class RationalQuadraticTransform<T> : IConditionalTransform<T>, IHasSavedForm<T, IConditionalTransform<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the transform.</summary>
    /// <param name="binCount">K. Default 8. Range: &gt; 0.</param>
    /// <param name="tailBound">B. Default 5. Range: (0, <see cref="MaximumTailBound"/>].</param>
    /// <param name="minimumBinWidth">m_w, as a share of 2B. Default 1e-3. Range: [0, 1/K).</param>
    /// <param name="minimumBinHeight">m_h, as a share of 2B. Default 1e-3. Range: [0, 1/K).</param>
    /// <param name="minimumDerivative">m_δ. Default 1e-3. Range: (0, 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public RationalQuadraticTransform(int binCount = 8, double tailBound = 5.0, double minimumBinWidth = 1e-3,
        double minimumBinHeight = 1e-3, double minimumDerivative = 1e-3)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(binCount);
        if (!(tailBound > 0 && tailBound <= MaximumTailBound))
        {
            throw new ArgumentOutOfRangeException(nameof(tailBound), tailBound, string.Create(CultureInfo.InvariantCulture,
                $"tailBound must be > 0 and at most {MaximumTailBound:G3} for {typeof(T).Name}: the spline multiplies lengths of up to 2 · tailBound by each other and by its slopes, which overflows beyond that."));
        }

        if (!(minimumBinWidth >= 0 && binCount * minimumBinWidth < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(minimumBinWidth), minimumBinWidth, $"minimumBinWidth must be ≥ 0 with binCount · minimumBinWidth < 1 (binCount = {binCount}).");
        }

        if (!(minimumBinHeight >= 0 && binCount * minimumBinHeight < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(minimumBinHeight), minimumBinHeight, $"minimumBinHeight must be ≥ 0 with binCount · minimumBinHeight < 1 (binCount = {binCount}).");
        }

        if (!(minimumDerivative > 0 && minimumDerivative < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(minimumDerivative), minimumDerivative, "minimumDerivative must lie in (0, 1).");
        }

        BinCount = binCount;
        TailBound = tailBound;
        MinimumBinWidth = minimumBinWidth;
        MinimumBinHeight = minimumBinHeight;
        MinimumDerivative = minimumDerivative;
    }

    /// <summary>K, the number of bins.</summary>
    public int BinCount { get; }

    /// <summary>B: the spline acts on [−B, B].</summary>
    public double TailBound { get; }

    /// <summary>
    /// The largest tail bound B for the element type: 2⁻¹⁶ √MaxValue, about 2.0e149 for <see cref="double"/> and 2.8e14 for
    /// <see cref="float"/>.
    /// </summary>
    /// <remarks>The inverse solves a quadratic whose discriminant b² − 4ac is a product of two lengths (bin heights and
    /// distances up to 2B) and of slopes and derivatives (bin slopes reach 1/minimumBinWidth, 1000 by default): it
    /// overflows T, and the log-density turns NaN, once B² times those factors passes MaxValue. The margin 2³² on B²
    /// covers factors up to about 10⁴.</remarks>
    public static double MaximumTailBound { get; } = Math.ScaleB(Math.Sqrt(double.CreateTruncating(T.BitDecrement(T.PositiveInfinity))), -16);

    /// <summary>m_w, the smallest bin width as a share of 2B.</summary>
    public double MinimumBinWidth { get; }

    /// <summary>m_h, the smallest bin height as a share of 2B.</summary>
    public double MinimumBinHeight { get; }

    /// <summary>m_δ, the smallest interior derivative.</summary>
    public double MinimumDerivative { get; }

    /// <inheritdoc/>
    public int ParametersPerFeature => (3 * BinCount) - 1;

    /// <inheritdoc/>
    public (Node<T> Output, Node<T> LogDet) Forward(Tape<T> tape, Node<T> z, Node<T> parameters)
        => tape.RationalQuadraticSpline(z, parameters, BinCount, TailBound, MinimumBinWidth, MinimumBinHeight, MinimumDerivative, inverse: false);

    /// <inheritdoc/>
    public (Node<T> Output, Node<T> LogDet) Inverse(Tape<T> tape, Node<T> x, Node<T> parameters)
        => tape.RationalQuadraticSpline(x, parameters, BinCount, TailBound, MinimumBinWidth, MinimumBinHeight, MinimumDerivative, inverse: true);

    /// <summary>
    /// Sums each row's log-derivatives as <see cref="Forward"/> sums a whole row: a vector of features at a time, lane by
    /// lane, then across the lanes (so not, in general, in column order, even within one vector).
    /// </summary>
    /// <param name="logDerivatives">n × d, row-major.</param>
    /// <param name="features">d. Range: &gt; 0.</param>
    /// <param name="logDet">n: each row's sum.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="features"/> is not positive.</exception>
    /// <exception cref="ArgumentException"><paramref name="logDerivatives"/> does not hold <paramref name="logDet"/>'s
    /// length × <paramref name="features"/> values.</exception>
    public void SumLogDerivatives(ReadOnlySpan<T> logDerivatives, int features, Span<T> logDet)
    {
        ConditionalTransformChecks.CheckRowSums(logDerivatives, features, logDet);
        Numerics.RationalQuadraticSpline.SumLogDerivatives(logDerivatives, features, logDet);
    }

    static SavedForm<T, IConditionalTransform<T>> IHasSavedForm<T, IConditionalTransform<T>>.SavedForm => new(
        "RationalQuadratic",
        typeof(RationalQuadraticTransform<T>),
        (t, w) =>
        {
            var spline = (RationalQuadraticTransform<T>)t;
            w.Int32("binCount", spline.BinCount);
            w.Double("tailBound", spline.TailBound);
            w.Double("minimumBinWidth", spline.MinimumBinWidth);
            w.Double("minimumBinHeight", spline.MinimumBinHeight);
            w.Double("minimumDerivative", spline.MinimumDerivative);
        },
        r => new RationalQuadraticTransform<T>(
            r.Int32("binCount", minimum: 1),
            r.Double("tailBound"),
            r.Double("minimumBinWidth"),
            r.Double("minimumBinHeight"),
            r.Double("minimumDerivative")));

    /// <inheritdoc/>
    public override string ToString()
        => $"RationalQuadraticTransform(binCount: {BinCount}, tailBound: {TailBound}, minimumBinWidth: {MinimumBinWidth}, minimumBinHeight: {MinimumBinHeight}, minimumDerivative: {MinimumDerivative})";
}
