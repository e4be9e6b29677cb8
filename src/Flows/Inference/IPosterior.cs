using System.Numerics;

namespace Flows.Inference;

/// <summary>
/// An amortized posterior q(θ | x): for any observation x it draws θ and scores θ. What the calibration diagnostics
/// (<see cref="PosteriorDiagnostics"/>) take, so they check a <see cref="NeuralPosterior{T}"/> and an exact or
/// hand-written posterior alike.
/// </summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public interface IPosterior<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Parameters per row: the dimension of θ.</summary>
    int Dimension { get; }

    /// <summary>Features of one observation x.</summary>
    int ObservationDimension { get; }

    /// <summary>Fills <paramref name="destination"/> with independent draws θ ~ q(θ | x), row-major.</summary>
    /// <param name="observation">x: ObservationDimension finite values.</param>
    /// <param name="destination">n × Dimension values.</param>
    /// <param name="random">The source of randomness.</param>
    /// <exception cref="ArgumentException">A shape is wrong or <paramref name="observation"/> holds a non-finite value.</exception>
    void Sample(ReadOnlySpan<T> observation, Span<T> destination, Random random);

    /// <summary>log q(θ | x) for each row of <paramref name="theta"/>, all for the one observation x.</summary>
    /// <param name="observation">x: ObservationDimension finite values.</param>
    /// <param name="theta">n × Dimension finite values, row-major.</param>
    /// <param name="destination">n values.</param>
    /// <exception cref="ArgumentException">A shape is wrong or an input holds a non-finite value.</exception>
    void DensityLn(ReadOnlySpan<T> observation, ReadOnlySpan<T> theta, Span<T> destination);
}
