using System.Globalization;
using System.Numerics;

namespace Flows.Training;

/// <summary>Settings of <see cref="Adam{T}"/>, with the defaults of Kingma &amp; Ba (2015).</summary>
public sealed record AdamOptions
{
    /// <summary>Step size α. Default 1e-3. Range: &gt; 0.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Decay of the first-moment estimate β₁. Default 0.9. Range: [0, 1).</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Decay of the second-moment estimate β₂. Default 0.999. Range: [0, 1).</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>ε added to √v̂. Default 1e-8. Range: &gt; 0, and not rounding to 0 in the element type (for
    /// <see cref="float"/>, at least about 1.4e-45); <see cref="Adam{T}"/>, and so every fit, refuses it otherwise.</summary>
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>Decoupled weight decay λ (AdamW, Loshchilov &amp; Hutter 2019): θ ← θ − αλθ each step. Default 0.</summary>
    public double WeightDecay { get; init; }

    internal void Validate()
    {
        CheckPositive(LearningRate, nameof(LearningRate));
        CheckPositive(Epsilon, nameof(Epsilon));
        if (!(Beta1 >= 0 && Beta1 < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(Beta1), Beta1, "Beta1 must lie in [0, 1).");
        }

        if (!(Beta2 >= 0 && Beta2 < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(Beta2), Beta2, "Beta2 must lie in [0, 1).");
        }

        if (!(WeightDecay >= 0 && double.IsFinite(WeightDecay)))
        {
            throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "WeightDecay must be finite and ≥ 0.");
        }
    }

    // As Validate, and ε must not round to 0 in T: checked in double only, a zero gradient would step by 0/0 = NaN.
    internal void Validate<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate();
        if (T.CreateTruncating(Epsilon) == T.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Epsilon), Epsilon,
                $"Epsilon = {Epsilon.ToString(CultureInfo.InvariantCulture)} rounds to 0 in {typeof(T).Name}; it must be at least {T.Epsilon.ToString(null, CultureInfo.InvariantCulture)}, the smallest positive {typeof(T).Name}.");
        }
    }

    private static void CheckPositive(double value, string name)
    {
        if (!(value > 0 && double.IsFinite(value)))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and > 0.");
        }
    }
}
