using System.Numerics;
using Flows.Bijectors;

namespace Flows.Distributions.Presets;

/// <summary>
/// The circular neural spline flow preset: a density on angles (a circle, a torus) and, beside them, real columns.
/// Coupling layers of circular rational-quadratic splines (<see cref="CircularCoupling{T}"/>) alternate with learned
/// rotations (<see cref="CircularShift{T}"/>) on a base that is uniform on each angle and standard normal on each real
/// column (<see cref="UniformAngles{T}"/>).
/// </summary>
/// <remarks>
/// <para>Each column's support says what it is, in one place: <see cref="Support.Angle"/> columns are angles, the others
/// real (<see cref="Support.Real"/>, or <see cref="Support.Positive"/> and <see cref="Support.Interval"/> mapped onto ℝ as
/// the real-line presets map them). The angle mask of every layer and of the base is taken from the supports.</para>
/// <para>Defaults: 4 coupling layers, each followed by a rotation; 8 bins; conditioner hidden widths [64, 64]; real
/// columns' splines on [−5, 5] with identity tails. The coupling masks alternate between the even and the odd columns
/// (with one column, every layer transforms it, with parameters learned once for all rows). The conditioners see each
/// angle as (cos θ, sin θ), so the density is continuous where an angle wraps. Any finite angle is accepted and read
/// modulo its period (data in [0, 2π) need no shifting).</para>
/// <para>The layer next to the data: with only <c>Support.Angle()</c> (radians on [−π, π)) and <see cref="Support.Real"/>
/// columns, a rotation, which wraps, and samples of an angle lie in [−π, π); with any other support (an angle in degrees
/// such as <c>Support.Angle(0, 360)</c>, a positive or an interval column), a <see cref="ColumnSupports{T}"/> after the
/// last rotation maps each column onto its support, so that samples of an angle lie in its turn [lower, upper) and
/// densities are per unit of the data. A flow on radians and reals is thus built exactly as before supports existed,
/// and files saved then load unchanged.</para>
/// <para>Real columns are not standardized (unlike <see cref="NeuralSplineFlow"/>, there is no Gaussian start): bring
/// them to about unit scale first, as the splines act on [−B, B].</para>
/// <para>Reference: Rezende, Papamakarios, Racanière, Albergo, Kanwar, Shanahan &amp; Cranmer, "Normalizing Flows on Tori
/// and Spheres", ICML 2020, arXiv:2002.02428.</para>
/// </remarks>
public static class CircularSplineFlow
{
    /// <summary>Creates a circular neural spline flow.</summary>
    /// <param name="supports">One <see cref="Support"/> per column, at least one of them an angle
    /// (<see cref="Support.Angle"/>); the count is the dimension.</param>
    /// <param name="transforms">Coupling layers (each followed by a rotation). Default 4. Range: &gt; 0.</param>
    /// <param name="binCount">K, bins per spline. Default 8. Range: &gt; 0.</param>
    /// <param name="hiddenFeatures">Conditioner hidden widths. Default [64, 64].</param>
    /// <param name="tailBound">B: the real columns' splines act on [−B, B]. Default 5.</param>
    /// <param name="contextDimension">Context features for a conditional flow. Default 0.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <exception cref="ArgumentNullException"><paramref name="supports"/> or an element is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="supports"/> has no angle, or a support does not fit T (see
    /// <see cref="ColumnSupports{T}"/>).</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size or setting is out of range.</exception>
    public static TransformedDistribution<T> Create<T>(IReadOnlyList<Support> supports, int transforms = 4, int binCount = 8,
        IReadOnlyList<int>? hiddenFeatures = null, double tailBound = 5.0, int contextDimension = 0, int seed = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool[] angles = Angles(supports);
        var transform = new CircularSplineTransform<T>(angles, binCount, tailBound);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(transforms);
        int d = angles.Length;
        var random = new Random(seed);
        var layers = new List<IBijector<T>>((2 * transforms) + 1);
        for (int i = 0; i < transforms; i++)
        {
            bool[] mask = d == 1 ? [true] : Coupling<T>.AlternatingMask(d, i % 2);
            layers.Add(new CircularCoupling<T>(mask, transform, hiddenFeatures, contextDimension, random.Next()));
            layers.Add(new CircularShift<T>(angles));
        }

        // Radians and reals need nothing beyond the last rotation's wrap: no layer, so that such a flow is the one built
        // from an angle mask before supports existed, bit for bit.
        if (!supports.All(s => s.Kind == SupportKind.Real || s.IsRadians))
        {
            layers.Add(new ColumnSupports<T>(supports));
        }

        return new TransformedDistribution<T>(new UniformAngles<T>(angles), new Chain<T>([.. layers]));
    }

    // The angle mask the layers and the base take, from the supports.
    private static bool[] Angles(IReadOnlyList<Support> supports)
    {
        ArgumentNullException.ThrowIfNull(supports);
        var angles = new bool[supports.Count];
        for (int j = 0; j < angles.Length; j++)
        {
            Support s = supports[j] ?? throw new ArgumentNullException(nameof(supports), $"supports[{j}] is null.");
            angles[j] = s.Kind == SupportKind.Angle;
        }

        if (!angles.Contains(true))
        {
            throw new ArgumentException(
                $"supports ({string.Join(", ", supports)}) has no angle column; mark the angles with Support.Angle() (radians on [−π, π)) " +
                "or Support.Angle(lower, upper), or use a real-line preset such as NeuralSplineFlow.", nameof(supports));
        }

        return angles;
    }
}
