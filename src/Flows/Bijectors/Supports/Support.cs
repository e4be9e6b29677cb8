using System.Globalization;

namespace Flows.Bijectors;

/// <summary>The kind of a column's <see cref="Support"/>.</summary>
public enum SupportKind
{
    /// <summary>The real line, ℝ: the column is left as it is.</summary>
    Real,

    /// <summary>(lower, ∞): <c>x = lower + exp(z)</c>.</summary>
    Positive,

    /// <summary>(lower, upper): <c>x = lower + (upper − lower) σ(z)</c>.</summary>
    Interval,

    /// <summary>An angle: one turn [lower, upper) of a circle, read modulo its period upper − lower; only circular flows
    /// model it (see <see cref="Support.Angle(double, double)"/>).</summary>
    Angle,
}

/// <summary>
/// Where one column of the data lives: <see cref="Real"/>, <see cref="Positive(double)"/>,
/// <see cref="Interval(double, double)"/> or <see cref="Angle(double, double)"/>. A list of them, one per column, builds a
/// <see cref="ColumnSupports{T}"/> and is what the presets take as <c>supports</c>.
/// </summary>
/// <remarks>
/// <para>Every support but an angle is <b>open</b>: densities are defined strictly inside it, a value on a bound (0 for
/// <c>Positive(0)</c>) or beyond is refused with an <see cref="ArgumentException"/> by a flow whose layer next to the
/// data is a <see cref="ColumnSupports{T}"/>, and samples lie strictly inside (see <see cref="ColumnSupports{T}"/>).</para>
/// <para>An <see cref="Angle(double, double)"/> column is a circle, not a part of the line: every finite value is on it
/// (read modulo the period) and samples lie in [lower, upper). Only
/// <see cref="Flows.Distributions.Presets.CircularSplineFlow"/> models angle columns; the real-line presets refuse them.</para>
/// </remarks>
public sealed record Support
{
    private Support(SupportKind kind, double lower, double upper)
    {
        Kind = kind;
        Lower = lower;
        Upper = upper;
    }

    /// <summary>The kind of support.</summary>
    public SupportKind Kind { get; }

    /// <summary>The lower bound; −∞ for <see cref="SupportKind.Real"/>; for an angle, where its turn starts.</summary>
    public double Lower { get; }

    /// <summary>The upper bound; +∞ for <see cref="SupportKind.Real"/> and <see cref="SupportKind.Positive"/>; for an
    /// angle, where its turn ends (the same point of the circle as <see cref="Lower"/>).</summary>
    public double Upper { get; }

    /// <summary>Whether this is <c>Angle()</c>, radians on [−π, π): the circle the circular layers act on, so a
    /// <see cref="ColumnSupports{T}"/> has nothing to map on such a column but the wrap.</summary>
    internal bool IsRadians => Kind == SupportKind.Angle && Lower == -Math.PI && Upper == Math.PI;

    /// <summary>The real line: the column is left unconstrained.</summary>
    public static Support Real { get; } = new(SupportKind.Real, double.NegativeInfinity, double.PositiveInfinity);

    /// <summary>The open half-line (lower, ∞), mapped by <c>x = lower + exp(z)</c>.</summary>
    /// <remarks>
    /// Why exp rather than softplus: positive scientific quantities (concentrations, times, sizes) often spread over orders
    /// of magnitude and are close to log-normal; exp makes such a column Gaussian before the flow sees it (as Stan's and
    /// PyMC's lower-bound transforms do), where softplus, linear above, leaves a log-normal's heavy right tail for the
    /// flow to learn. Softplus has the lighter left tail (density near the bound), which matters only for columns that
    /// pile up just above it.
    /// </remarks>
    /// <param name="lower">The bound, excluded. Default 0. Range: finite.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lower"/> is not finite.</exception>
    public static Support Positive(double lower = 0)
    {
        if (!double.IsFinite(lower))
        {
            throw new ArgumentOutOfRangeException(nameof(lower), lower, "The lower bound of a positive support must be finite.");
        }

        return new Support(SupportKind.Positive, lower, double.PositiveInfinity);
    }

    /// <summary>The open interval (lower, upper), mapped by the scaled sigmoid <c>x = lower + (upper − lower) σ(z)</c>.</summary>
    /// <param name="lower">The lower bound, excluded. Range: finite.</param>
    /// <param name="upper">The upper bound, excluded. Range: finite, &gt; <paramref name="lower"/>, with upper − lower finite.</param>
    /// <exception cref="ArgumentOutOfRangeException">A bound is not finite, <paramref name="upper"/> is not above
    /// <paramref name="lower"/>, or the width overflows.</exception>
    public static Support Interval(double lower, double upper)
    {
        if (!double.IsFinite(lower))
        {
            throw new ArgumentOutOfRangeException(nameof(lower), lower, "The bounds of an interval support must be finite.");
        }

        if (!double.IsFinite(upper) || !(upper > lower) || !double.IsFinite(upper - lower))
        {
            throw new ArgumentOutOfRangeException(nameof(upper), upper,
                string.Create(CultureInfo.InvariantCulture, $"An interval support needs a finite upper bound above the lower bound {lower} and a finite width."));
        }

        return new Support(SupportKind.Interval, lower, upper);
    }

    /// <summary>
    /// An angle column: one full turn [lower, upper) of a circle, whose period is upper − lower. A flow models it on the
    /// circle [−π, π) through <c>θ = wrap(−π + 2π (x − lower) / (upper − lower))</c>, so that densities are per unit of x
    /// (log p gains log(2π / (upper − lower))) and samples lie in [lower, upper).
    /// </summary>
    /// <remarks>
    /// <para><c>Angle()</c> is radians on [−π, π) (the convention of Rezende et al. 2020, of Pyro's and TFP's von Mises
    /// and of the base <see cref="Flows.Distributions.UniformAngles{T}"/>): the flow uses the values as they are.
    /// <c>Angle(0, 2 * Math.PI)</c> is radians on [0, 2π), <c>Angle(0, 360)</c> and <c>Angle(-180, 180)</c> are
    /// degrees, <c>Angle(0, 24)</c> is the hour of the day. The bounds say where samples are reported and what the
    /// period is; densities are the same for any choice of lower with the same period, up to that shift.</para>
    /// <para><b>Values outside [lower, upper) wrap, they are not refused</b>: an angle is a point of the circle, and
    /// 370° is 10°, so data in any period (a −170° among 0–360° data, an unwrapped phase) score as the angle they
    /// denote. Non-finite values are refused like any other. A sub-arc of a circle, such as a latitude in (−90°, 90°),
    /// is not an angle column: it is an <see cref="Interval(double, double)"/>.</para>
    /// </remarks>
    /// <param name="lower">Where the turn starts. Default −π. Range: finite.</param>
    /// <param name="upper">Where the turn ends: lower plus the period. Default π. Range: finite, &gt;
    /// <paramref name="lower"/>, with upper − lower finite.</param>
    /// <exception cref="ArgumentOutOfRangeException">A bound is not finite, <paramref name="upper"/> is not above
    /// <paramref name="lower"/>, or the period overflows.</exception>
    public static Support Angle(double lower = -Math.PI, double upper = Math.PI)
    {
        if (!double.IsFinite(lower))
        {
            throw new ArgumentOutOfRangeException(nameof(lower), lower, "The start of an angle's turn must be finite.");
        }

        if (!double.IsFinite(upper) || !(upper > lower) || !double.IsFinite(upper - lower))
        {
            throw new ArgumentOutOfRangeException(nameof(upper), upper,
                string.Create(CultureInfo.InvariantCulture, $"An angle support needs a finite end of its turn above its start {lower} and a finite period (upper − lower)."));
        }

        return new Support(SupportKind.Angle, lower, upper);
    }

    /// <summary>Whether <paramref name="value"/> lies strictly inside the support; for an angle, whether it is finite
    /// (any finite value is a point of the circle).</summary>
    /// <param name="value">Any value.</param>
    public bool Contains(double value) => Kind switch
    {
        SupportKind.Real or SupportKind.Angle => double.IsFinite(value),
        SupportKind.Positive => value > Lower && value < double.PositiveInfinity,
        _ => value > Lower && value < Upper,
    };

    /// <summary><c>Real</c>, <c>Positive(0)</c>, <c>Interval(0, 1)</c>, <c>Angle()</c> (radians on [−π, π)) or
    /// <c>Angle(0, 360)</c>, as created.</summary>
    public override string ToString() => Kind switch
    {
        SupportKind.Real => "Real",
        SupportKind.Positive => string.Create(CultureInfo.InvariantCulture, $"Positive({Lower:R})"),
        SupportKind.Angle when IsRadians => "Angle()",
        SupportKind.Angle => string.Create(CultureInfo.InvariantCulture, $"Angle({Lower:R}, {Upper:R})"),
        _ => string.Create(CultureInfo.InvariantCulture, $"Interval({Lower:R}, {Upper:R})"),
    };
}
