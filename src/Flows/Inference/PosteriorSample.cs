using System.Numerics;

namespace Flows.Inference;

/// <summary>Posterior draws for one observation, with what rejection at the prior's support cost.</summary>
/// <param name="Draws">count × Dimension draws θ ~ q(θ | x), every one inside the prior's support.</param>
/// <param name="Proposals">Draws of the flow it took; equal to the count when the prior is unbounded.</param>
/// <typeparam name="T">The element type.</typeparam>
public sealed record PosteriorSample<T>(T[,] Draws, long Proposals) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The share of the flow's draws that fell inside the prior's support: rows of <see cref="Draws"/> over
    /// <see cref="Proposals"/> (1 for an unbounded prior, or when no draw was asked for).</summary>
    public double AcceptanceRate => Proposals == 0 ? 1.0 : (double)Draws.GetLength(0) / Proposals;
}
