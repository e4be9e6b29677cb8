using System.Numerics;

namespace Flows.Inference;

/// <summary>
/// A prior p(θ) over rows of <see cref="Dimension"/> parameters, for simulation-based inference: it draws θ for the
/// simulator and scores θ, and may state a bounded box outside which it has no mass.
/// </summary>
/// <remarks>
/// Built-ins: <see cref="UniformPrior{T}"/> (a box) and <see cref="NormalPrior{T}"/> (independent normals, unbounded).
/// Implement it for any other prior; <see cref="Support"/> is what <see cref="NeuralPosterior{T}"/> uses to reject
/// posterior draws the prior rules out.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public interface IPrior<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Parameters per row: the dimension of θ.</summary>
    int Dimension { get; }

    /// <summary>The box outside which the prior has no mass, or null when it has mass everywhere (or on a set that is
    /// not a box, which the posterior then does not enforce).</summary>
    BoxSupport<T>? Support { get; }

    /// <summary>Fills <paramref name="destination"/> with independent draws θ ~ p(θ), row-major.</summary>
    /// <param name="destination">n × Dimension values.</param>
    /// <param name="random">The source of randomness.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is not a whole number of rows.</exception>
    void Sample(Span<T> destination, Random random);

    /// <summary>log p(θ) for each row of <paramref name="theta"/> (−∞ outside the support).</summary>
    /// <param name="theta">n × Dimension values, row-major.</param>
    /// <param name="destination">n values.</param>
    /// <exception cref="ArgumentException">A shape is wrong.</exception>
    void DensityLn(ReadOnlySpan<T> theta, Span<T> destination);
}
