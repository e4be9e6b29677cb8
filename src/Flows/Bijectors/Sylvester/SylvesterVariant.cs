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

/// <summary>The saved settings a Sylvester layer and its amortized twin share.</summary>
internal static class SylvesterSavedSettings
{
    /// <summary>Reads "variant" and "reversed", refusing a name that is not a variant and a flag that is not 0 or 1.</summary>
    public static (SylvesterVariant Variant, bool Reversed) Read<T>(ISavedFormReader<T> r) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        string variantName = r.String("variant");
        if (!Enum.TryParse(variantName, ignoreCase: false, out SylvesterVariant variant) || !Enum.IsDefined(variant) || int.TryParse(variantName, out int _))
        {
            throw r.Error("variant", $"expected Orthogonal, Householder or Triangular, found \"{variantName}\"");
        }

        int reversed = r.Int32("reversed", minimum: 0);
        if (reversed > 1)
        {
            throw r.Error("reversed", $"expected 0 or 1, found {reversed}");
        }

        return (variant, reversed == 1);
    }
}
