using System.Globalization;
using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// Per-column supports (TFP's <c>Blockwise</c>, FlowJAX's <c>Stack</c> of elementwise maps): column j of a row goes
/// through its own map from ℝ onto its <see cref="Support"/>, <c>xⱼ = zⱼ</c> (<see cref="Support.Real"/>),
/// <c>xⱼ = a + exp(zⱼ)</c> (<see cref="Support.Positive"/>) or <c>xⱼ = a + (b − a) σ(zⱼ)</c> (<see cref="Support.Interval"/>);
/// an angle column (<see cref="Support.Angle"/>) goes from the circle [−π, π) onto its turn [a, b),
/// <c>xⱼ = a + (b − a)(wrap(θⱼ) + π)/2π</c>. Placed next to the data, it makes every sample lie in the supports and puts
/// its Jacobian into every density.
/// </summary>
/// <remarks>
/// <para>log|det J| = Σ over constrained columns of log f′(zⱼ): zⱼ for Positive, log(b − a) + log σ(zⱼ) + log σ(−zⱼ) for
/// Interval, 0 for Real; the inverse returns its negative, computed from x as −log(x − a) and
/// log(b − a) − log(x − a) − log(b − x), exact near the bounds; log((b − a)/2π) for an angle, and its negative inverse.
/// Not trainable.</para>
/// <para><b>Angle columns</b> are circles, not parts of the line: the inverse takes any finite value and wraps it,
/// <c>θ = wrap(−π + 2π (x − a)/(b − a))</c> onto [−π, π), and the forward map takes the circle, not ℝ, so the layer is a
/// bijection only between a circular flow's angles and the data's (as in
/// <see cref="Flows.Distributions.Presets.CircularSplineFlow"/>, which places it only when a column needs more than the
/// wrap). An angle on [−π, π) itself (<c>Support.Angle()</c>) is wrapped and otherwise left as it is, bit for bit.
/// Forward outputs of an angle lie in [a, b): one that rounds onto b is given as a, the same point.</para>
/// <para><b>Open supports, and samples.</b> Every support but an angle is open. The inverse of a value outside its column's support or
/// on its bound gives a row log-determinant of −∞; a flow whose layer next to the data is this one refuses such data
/// in <c>DensityLn</c> and <c>Fit</c> with an <see cref="ArgumentException"/> naming the row, the column and the
/// support, because a density of 0 at a training row cannot be fitted. Forward outputs are clamped to the values of T
/// strictly inside (the next value above a, the next below b, T's largest for Positive): a sigmoid that rounds to 1, or
/// an exp that overflows or underflows, would otherwise put a sample on a bound. Samples thus always lie strictly inside
/// and can be scored; the log-determinant of a clamped output is that of the unclamped map.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class ColumnSupports<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly SupportLayout<T> _layout;

    /// <summary>Creates the map with one support per column.</summary>
    /// <param name="supports">One <see cref="Support"/> per column; the count is the dimension. Range: non-empty; bounds
    /// representable in T, an interval or an angle's turn at least one value of T wide.</param>
    /// <exception cref="ArgumentNullException"><paramref name="supports"/> or an element is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="supports"/> is empty, or a bound overflows T or an interval
    /// holds no value of T strictly inside.</exception>
    public ColumnSupports(IReadOnlyList<Support> supports) : base(CheckSupports(supports))
    {
        // The bounds as T holds them, so that Supports says what the map does and a saved and loaded map shows the same.
        Supports = [.. supports.Select(s => s.Kind switch
        {
            SupportKind.Real => s,
            SupportKind.Positive => Support.Positive(InT(s.Lower)),
            SupportKind.Angle => IsRadians(s.Lower, s.Upper) ? Support.Angle() : Support.Angle(InT(s.Lower), InT(s.Upper)),
            _ => Support.Interval(InT(s.Lower), InT(s.Upper)),
        })];
        _layout = new SupportLayout<T>(Supports);
    }

    /// <summary>The support of each column, its bounds rounded to T.</summary>
    public IReadOnlyList<Support> Supports { get; }

    /// <summary>None: the map is fixed.</summary>
    public override IReadOnlyList<Parameter<T>> Parameters => [];

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "ColumnSupports",
        typeof(ColumnSupports<T>),
        (b, w) =>
        {
            // Bounds are saved in T: the map runs on them, so a loaded map is the saved one bit for bit. Unused bounds are 0.
            var layout = ((ColumnSupports<T>)b)._layout;
            w.Int32Array("kinds", layout.Kinds.Select(k => (int)k));
            w.Values("lower", layout.Lower);
            w.Values("upper", layout.Upper);
        },
        r =>
        {
            int[] kinds = r.Int32Array("kinds");
            if (kinds.Length == 0)
            {
                throw r.Error("kinds", "a ColumnSupports needs at least one column.");
            }

            T[] lower = r.Values("lower", kinds.Length);
            T[] upper = r.Values("upper", kinds.Length);
            var supports = new Support[kinds.Length];
            for (int j = 0; j < kinds.Length; j++)
            {
                try
                {
                    supports[j] = (SupportKind)kinds[j] switch
                    {
                        SupportKind.Real => Support.Real,
                        SupportKind.Positive => Support.Positive(double.CreateTruncating(lower[j])),
                        SupportKind.Interval => Support.Interval(double.CreateTruncating(lower[j]), double.CreateTruncating(upper[j])),
                        SupportKind.Angle => IsRadians(double.CreateTruncating(lower[j]), double.CreateTruncating(upper[j]))
                            ? Support.Angle()
                            : Support.Angle(double.CreateTruncating(lower[j]), double.CreateTruncating(upper[j])),
                        _ => throw r.Error("kinds", string.Create(CultureInfo.InvariantCulture, $"kind {kinds[j]} of column {j} is not 0 (Real), 1 (Positive), 2 (Interval) or 3 (Angle).")),
                    };
                }
                catch (ArgumentException e)
                {
                    throw r.Error("lower", $"column {j}: {e.Message}");
                }
            }

            return new ColumnSupports<T>(supports);
        });

    /// <inheritdoc/>
    public override string ToString() => $"ColumnSupports({string.Join(", ", Supports)})";

    /// <summary>
    /// Throws when a value of <paramref name="x"/> lies outside its column's support or on its bound, naming the row, the
    /// column and the support.
    /// </summary>
    /// <param name="x">n × Dimension values, row-major, all finite.</param>
    /// <param name="name">The parameter name for the exception.</param>
    /// <param name="purpose">What needs values inside, for the message ("densities", "fitting").</param>
    internal void CheckInside(ReadOnlySpan<T> x, string name, string purpose)
    {
        int d = Dimension;
        for (int k = 0; k < x.Length; k++)
        {
            int j = k % d;
            if (!_layout.Contains(j, x[k]))
            {
                Support s = Supports[j];
                bool onBound = x[k] == _layout.Lower[j] || (s.Kind == SupportKind.Interval && x[k] == _layout.Upper[j]);
                string where = onBound
                    ? "lies on a bound of its column's support"
                    : "lies outside its column's support";
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture,
                        $"{name}[{k / d}, {j}] = {x[k]} {where} {s}. Supports are open, so {purpose} need every value strictly inside: " +
                        $"{(onBound ? "move values on the bound inside (or widen the support)" : "check the data, or widen column " + j + "'s support")}."),
                    name);
            }
        }
    }

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => tape.ColumnSupportMap(z, _layout, inverse: false);

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => tape.ColumnSupportMap(x, _layout, inverse: true);

    private static double InT(double bound) => double.CreateTruncating(T.CreateTruncating(bound));

    // An angle whose turn is [−π, π) in T: Support.Angle() (radians), whatever T's rounding of π did to the bounds.
    private static bool IsRadians(double lower, double upper) => T.CreateTruncating(lower) == -T.Pi && T.CreateTruncating(upper) == T.Pi;

    private static int CheckSupports(IReadOnlyList<Support> supports)
    {
        ArgumentNullException.ThrowIfNull(supports);
        if (supports.Count == 0)
        {
            throw new ArgumentException("supports is empty; give one support per column.", nameof(supports));
        }

        for (int j = 0; j < supports.Count; j++)
        {
            Support s = supports[j] ?? throw new ArgumentNullException(nameof(supports), $"supports[{j}] is null.");
            if (s.Kind == SupportKind.Real)
            {
                continue;
            }

            T lower = T.CreateTruncating(s.Lower);
            T upper = T.CreateTruncating(s.Upper);
            bool fits = T.IsFinite(lower) && (s.Kind == SupportKind.Positive
                || (T.IsFinite(upper) && T.IsFinite(upper - lower) && T.BitIncrement(lower) < upper));
            if (!fits)
            {
                throw new ArgumentException(
                    $"supports[{j}] is {s}, whose bounds overflow {typeof(T).Name} or hold no {typeof(T).Name} value strictly between them.",
                    nameof(supports));
            }
        }

        return supports.Count;
    }
}
