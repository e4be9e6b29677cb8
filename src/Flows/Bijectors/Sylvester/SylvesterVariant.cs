namespace Flows.Bijectors;

/// <summary>How a <see cref="Sylvester{T}"/> layer builds its matrix Q with orthonormal columns (van den Berg et al. 2018).</summary>
public enum SylvesterVariant
{
    /// <summary>
    /// Q is the orthonormal polar factor of a learned unconstrained Dimension × M matrix, by the iteration
    /// Q ← Q(I + ½(I − QᵀQ)) to ‖QᵀQ − I‖_max ≤ 1e-12 (O-SNF); non-convergence throws.
    /// </summary>
    Orthogonal,

    /// <summary>Q is the first M columns of a product of K learned Householder reflections (H-SNF).</summary>
    Householder,

    /// <summary>Q is a fixed permutation: the identity or the reversal of the features (T-SNF).</summary>
    Triangular,
}
