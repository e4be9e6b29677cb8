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

    /// <summary>
    /// Decoupled weight decay λ (AdamW, Loshchilov &amp; Hutter 2019): θ ← θ − αλθ each step, for every parameter not
    /// marked <see cref="Autodiff.Parameter{T}.ExemptFromWeightDecay"/>. Default null: maximum-likelihood <c>Fit</c> uses
    /// λ = 1000 / (training rows), capped so that αλ ≤ 0.1; <c>Fit</c> by flow matching
    /// (<see cref="FitObjective.FlowMatching"/>), an <see cref="Adam{T}"/> built directly and variational fitting use 0.
    /// Range: ≥ 0, finite, or null.
    /// </summary>
    /// <remarks>
    /// The size-adapted default is issue 13's measurement (benchmarks/Flows.Quality, held-out log-likelihood over five
    /// seeds, the presets at their defaults): on five tables of 120 to 300 rows it raised the NSF on every one (Iris
    /// −2.359 → −2.248 nats per row, two moons at 300 rows −0.823 → −0.689) and the MAF on every one (two moons at 300
    /// rows −3.48 → −1.15), and it fades as the data grow (0.05 at 20,000 rows), where the data constrain the flow
    /// themselves. It shrinks the conditioners towards layers that are the identity; the data-initialized layers of a
    /// Gaussian start are exempt, so the flow is pulled towards the data's Gaussian, not the standard normal. Set 0 for
    /// a plain maximum-likelihood fit (recovering a known model's parameters, say). Flow matching regresses the field onto
    /// the velocity of its paths, and decay only pulls the field towards zero, blurring the contraction onto the data that
    /// the density needs: on two moons (20,000 rows, field [128, 128, 128], Swish, 20,000 steps, 2,000 test rows) the
    /// held-out log-likelihood went from −0.390 with the size-adapted λ to −0.357 with none.
    /// </remarks>
    public double? WeightDecay { get; init; }

    /// <summary>The size-adapted default λ = min(1000 / rows, 0.1 / α): the cap keeps each step's shrink αλ at most 0.1,
    /// where on a handful of rows 1000 / rows would zero or flip the weights every step.</summary>
    internal static double SizeAdaptedWeightDecay(int trainingRows, double learningRate)
        => Math.Min(1000.0 / trainingRows, 0.1 / learningRate);

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

        if (WeightDecay is double decay && !(decay >= 0 && double.IsFinite(decay)))
        {
            throw new ArgumentOutOfRangeException(nameof(WeightDecay), decay, "WeightDecay must be finite and ≥ 0, or null.");
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
