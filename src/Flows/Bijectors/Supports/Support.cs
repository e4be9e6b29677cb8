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
}

/// <summary>
/// Where one column of the data lives: <see cref="Real"/>, <see cref="Positive(double)"/> or
/// <see cref="Interval(double, double)"/>. A list of them, one per column, builds a <see cref="ColumnSupports{T}"/> and
/// is what the presets take as <c>supports</c>.
/// </summary>
/// <remarks>
/// Every support is <b>open</b>: densities are defined strictly inside it, a value on a bound (0 for
/// <c>Positive(0)</c>) or beyond is refused with an <see cref="ArgumentException"/> by a flow whose layer next to the
/// data is a <see cref="ColumnSupports{T}"/>, and samples lie strictly inside (see <see cref="ColumnSupports{T}"/>).
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

    /// <summary>The lower bound; −∞ for <see cref="SupportKind.Real"/>.</summary>
    public double Lower { get; }

    /// <summary>The upper bound; +∞ for <see cref="SupportKind.Real"/> and <see cref="SupportKind.Positive"/>.</summary>
    public double Upper { get; }

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

    /// <summary>Whether <paramref name="value"/> lies strictly inside the support.</summary>
    /// <param name="value">Any value.</param>
    public bool Contains(double value) => Kind switch
    {
        SupportKind.Real => double.IsFinite(value),
        SupportKind.Positive => value > Lower && value < double.PositiveInfinity,
        _ => value > Lower && value < Upper,
    };

    /// <summary><c>Real</c>, <c>Positive(0)</c> or <c>Interval(0, 1)</c>, as created.</summary>
    public override string ToString() => Kind switch
    {
        SupportKind.Real => "Real",
        SupportKind.Positive => string.Create(CultureInfo.InvariantCulture, $"Positive({Lower:R})"),
        _ => string.Create(CultureInfo.InvariantCulture, $"Interval({Lower:R}, {Upper:R})"),
    };
}
