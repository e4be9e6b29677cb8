using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// A learned rotation of the angle columns, <c>x_j = wrap(z_j + φ_j)</c> onto [−π, π), the other columns unchanged: the
/// circular shift of Rezende et al. (2020).
/// </summary>
/// <remarks>
/// <para>log|det J| = 0. The inverse is <c>wrap(x_j − φ_j)</c>; both directions accept any finite angle and return it
/// wrapped onto [−π, π), so next to the data it also brings angles given in another period (such as [0, 2π)) onto the
/// circle the splines act on. φ is unconstrained. All-zero parameters give the identity on [−π, π).</para>
/// <para>Reference: Rezende, Papamakarios, Racanière, Albergo, Kanwar, Shanahan &amp; Cranmer, "Normalizing Flows on
/// Tori and Spheres", ICML 2020, arXiv:2002.02428.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class CircularShift<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly bool[] _angles;
    private readonly int[] _angleColumns;
    private readonly Parameter<T> _shift;

    /// <summary>Creates the identity rotation.</summary>
    /// <param name="angles">Per column, whether it is an angle (rotated) or real (left as it is); at least one angle.</param>
    /// <exception cref="ArgumentNullException"><paramref name="angles"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="angles"/> marks no angle.</exception>
    public CircularShift(IReadOnlyList<bool> angles) : base(Count(angles))
    {
        (_angleColumns, _) = CircularOps.Columns(angles, nameof(angles));
        _angles = [.. angles];
        _shift = new Parameter<T>("shift", 1, _angleColumns.Length);
        Parameters = [_shift];
    }

    /// <summary>Per column, whether it is an angle.</summary>
    public IReadOnlyList<bool> Angles => _angles;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "CircularShift",
        typeof(CircularShift<T>),
        (b, w) => w.Int32Array("angles", CircularOps.ToFlags(((CircularShift<T>)b).Angles)),
        r => new CircularShift<T>(r.BooleanArray("angles")));

    /// <inheritdoc/>
    public override string ToString() => $"CircularShift(angles: [{CircularOps.Describe(_angles)}])";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => (tape.Rotate(z, tape.Use(_shift), _angleColumns, inverse: false), ZeroLogDet(tape, z.Rows));

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => (tape.Rotate(x, tape.Use(_shift), _angleColumns, inverse: true), ZeroLogDet(tape, x.Rows));

    private static Node<T> ZeroLogDet(Tape<T> tape, int rows)
    {
        Node<T> logDet = tape.Allocate(rows, 1);
        logDet.Values.Clear();
        return logDet;
    }

    // Checked before the base class sees the count, so that a mask without angles is named as such.
    private static int Count(IReadOnlyList<bool> angles)
    {
        _ = CircularOps.Columns(angles, nameof(angles));
        return angles.Count;
    }
}
