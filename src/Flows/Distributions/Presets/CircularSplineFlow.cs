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
/// <para>Defaults: 4 coupling layers, each followed by a rotation; 8 bins; conditioner hidden widths [64, 64]; real
/// columns' splines on [−5, 5] with identity tails. The coupling masks alternate between the even and the odd columns
/// (with one column, every layer transforms it, with parameters learned once for all rows). The conditioners see each
/// angle as (cos θ, sin θ), so the density is continuous where an angle wraps. A rotation is the layer next to the data,
/// so any finite angle is accepted and read modulo 2π (data in [0, 2π) need no shifting); samples lie in [−π, π).</para>
/// <para>Real columns are not standardized (unlike <see cref="NeuralSplineFlow"/>, there is no Gaussian start): bring
/// them to about unit scale first, as the splines act on [−B, B].</para>
/// <para>Reference: Rezende, Papamakarios, Racanière, Albergo, Kanwar, Shanahan &amp; Cranmer, "Normalizing Flows on Tori
/// and Spheres", ICML 2020, arXiv:2002.02428.</para>
/// </remarks>
public static class CircularSplineFlow
{
    /// <summary>Creates a circular neural spline flow.</summary>
    /// <param name="angles">Per column, whether it is an angle (true) or real (false); at least one angle. The count is
    /// the dimension.</param>
    /// <param name="transforms">Coupling layers (each followed by a rotation). Default 4. Range: &gt; 0.</param>
    /// <param name="binCount">K, bins per spline. Default 8. Range: &gt; 0.</param>
    /// <param name="hiddenFeatures">Conditioner hidden widths. Default [64, 64].</param>
    /// <param name="tailBound">B: the real columns' splines act on [−B, B]. Default 5.</param>
    /// <param name="contextDimension">Context features for a conditional flow. Default 0.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <exception cref="ArgumentNullException"><paramref name="angles"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="angles"/> marks no angle.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size or setting is out of range.</exception>
    public static TransformedDistribution<T> Create<T>(IReadOnlyList<bool> angles, int transforms = 4, int binCount = 8,
        IReadOnlyList<int>? hiddenFeatures = null, double tailBound = 5.0, int contextDimension = 0, int seed = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var transform = new CircularSplineTransform<T>(angles, binCount, tailBound);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(transforms);
        int d = angles.Count;
        var random = new Random(seed);
        var layers = new List<IBijector<T>>(2 * transforms);
        for (int i = 0; i < transforms; i++)
        {
            bool[] mask = d == 1 ? [true] : Coupling<T>.AlternatingMask(d, i % 2);
            layers.Add(new CircularCoupling<T>(mask, transform, hiddenFeatures, contextDimension, random.Next()));
            layers.Add(new CircularShift<T>(angles));
        }

        return new TransformedDistribution<T>(new UniformAngles<T>(angles), new Chain<T>([.. layers]));
    }
}
