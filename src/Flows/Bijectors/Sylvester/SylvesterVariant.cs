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

/// <summary>The settings a Sylvester layer and its amortized twin share: their checks and their saved form.</summary>
internal static class SylvesterSettings
{
    /// <summary>Checks the constructor arguments and returns M, the columns of Q (<paramref name="columnCount"/>, or
    /// <paramref name="dimension"/> for 0).</summary>
    public static int Validate(int dimension, SylvesterVariant variant, int columnCount, int reflectionCount, bool reversed)
    {
        if (!Enum.IsDefined(variant))
        {
            throw new ArgumentOutOfRangeException(nameof(variant), variant, "Expected Orthogonal, Householder or Triangular.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(columnCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(columnCount, dimension);
        ArgumentOutOfRangeException.ThrowIfNegative(reflectionCount);
        if (reflectionCount != 0 && variant != SylvesterVariant.Householder)
        {
            throw new ArgumentException($"reflectionCount ({reflectionCount}) applies to the Householder variant only, not {variant}.", nameof(reflectionCount));
        }

        if (reversed && variant != SylvesterVariant.Triangular)
        {
            throw new ArgumentException($"reversed applies to the Triangular variant only, not {variant}.", nameof(reversed));
        }

        return columnCount == 0 ? dimension : columnCount;
    }

    /// <summary>Writes "variant", "columnCount", "reflectionCount" and "reversed".</summary>
    public static void Write<T>(ISavedFormWriter<T> w, SylvesterVariant variant, int columnCount, int reflectionCount, bool reversed)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        w.String("variant", variant.ToString());
        w.Int32("columnCount", columnCount);
        w.Int32("reflectionCount", reflectionCount);
        w.Int32("reversed", reversed ? 1 : 0);
    }

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
