using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Distributions;

/// <summary>
/// Independent Student-t features with learned location μ, scale σ = exp(log σ) and degrees of freedom
/// <c>ν = softplus(r) + <see cref="MinimumDegreesOfFreedom"/></c> per feature: a heavy-tailed base for a flow (as FlowJAX's
/// <c>StudentT</c>). <c>x = μ + σ ⊙ t</c>, tⱼ ~ t(νⱼ).
/// </summary>
/// <remarks>
/// <para>log p(x) = Σⱼ [lgamma((νⱼ+1)/2) − lgamma(νⱼ/2) − ½ log(νⱼπ) − log σⱼ − (νⱼ+1)/2 · log(1 + uⱼ²/νⱼ)],
/// uⱼ = (xⱼ − μⱼ)/σⱼ: exact, differentiable in x, μ, log σ and r (lgamma and digamma from MathNet.Numerics, in double).</para>
/// <para><b>Sampling.</b> tⱼ = εⱼ / √(gⱼ/νⱼ) with ε ~ N(0, 1) and g ~ χ²(νⱼ) (MathNet's gamma sampler), then x = μ + σ ⊙ t.
/// This is reparameterized in μ and σ but <b>not in ν</b>: t is drawn as a constant of the tape, so a gradient through
/// the samples gives ν nothing (its pathwise gradient is taken to be zero). The log-densities that
/// <see cref="SampleWithDensityLn"/> returns are those of the drawn values and do depend on ν, so variational fitting
/// learns ν only through log q at fixed samples; fix ν (set <see cref="RawDegreesOfFreedom"/> and leave it out of the
/// optimizer) if that bias matters.</para>
/// <para>The floor on ν keeps the tails from growing so heavy that samples overflow: below 0.5, draws beyond 10¹⁰
/// become routine, past what float layers downstream can carry.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class StudentT<T> : IDistribution<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The floor added to softplus(r): ν ≥ 0.5.</summary>
    public const double MinimumDegreesOfFreedom = 0.5;

    private readonly Parameter<T> _location;
    private readonly Parameter<T> _logScale;
    private readonly Parameter<T> _rawDegreesOfFreedom;

    /// <summary>Creates the standard t (μ = 0, σ = 1) with <paramref name="degreesOfFreedom"/> on every feature.</summary>
    /// <param name="dimension">Features per sample. Range: &gt; 0.</param>
    /// <param name="degreesOfFreedom">The starting ν of every feature. Default 5. Range: &gt; <see cref="MinimumDegreesOfFreedom"/>, finite.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public StudentT(int dimension, double degreesOfFreedom = 5)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        if (!(degreesOfFreedom > MinimumDegreesOfFreedom) || !double.IsFinite(degreesOfFreedom))
        {
            throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom), degreesOfFreedom,
                $"degreesOfFreedom must be finite and above the floor {MinimumDegreesOfFreedom}.");
        }

        Dimension = dimension;
        _location = new Parameter<T>("location", 1, dimension);
        _logScale = new Parameter<T>("logScale", 1, dimension);
        // Their start is chosen, not zero: weight decay would pull ν to softplus(0) + floor ≈ 1.19.
        _rawDegreesOfFreedom = new Parameter<T>("rawDegreesOfFreedom", 1, dimension) { ExemptFromWeightDecay = true };
        // r = softplus⁻¹(ν − floor) = log(expm1(ν − floor)).
        double excess = degreesOfFreedom - MinimumDegreesOfFreedom;
        Array.Fill(_rawDegreesOfFreedom.Values, T.CreateTruncating(excess > 30 ? excess : Math.Log(Math.Exp(excess) - 1)));
        Parameters = [_location, _logScale, _rawDegreesOfFreedom];
    }

    /// <inheritdoc/>
    public int Dimension { get; }

    /// <summary>0: the distribution takes no context.</summary>
    public int ContextDimension => 0;

    /// <summary>μ, 1 × Dimension.</summary>
    public Parameter<T> Location => _location;

    /// <summary>log σ, 1 × Dimension.</summary>
    public Parameter<T> LogScale => _logScale;

    /// <summary>r, 1 × Dimension, unconstrained: ν = softplus(r) + <see cref="MinimumDegreesOfFreedom"/>.</summary>
    public Parameter<T> RawDegreesOfFreedom => _rawDegreesOfFreedom;

    /// <summary>ν per feature, computed from <see cref="RawDegreesOfFreedom"/>.</summary>
    public double[] DegreesOfFreedom => [.. _rawDegreesOfFreedom.Values.Select(r => DegreesOfFreedomOf(double.CreateTruncating(r)))];

    /// <inheritdoc/>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <inheritdoc/>
    public Node<T> DensityLn(Tape<T> tape, Node<T> x, Node<T>? context = null)
    {
        BaseDistributions.CheckBatch(tape, x, Dimension, context);
        (Node<T> u, Node<T> logDet) = tape.AffineElementwise(x, tape.Use(_location), tape.Use(_logScale), inverse: true);
        return tape.Add(StudentTOps.StandardLogDensity(tape, u, tape.Use(_rawDegreesOfFreedom), MinimumDegreesOfFreedom), logDet);
    }

    /// <inheritdoc/>
    /// <remarks>Reparameterized in μ and σ, not in ν; see the class remarks.</remarks>
    public (Node<T> X, Node<T> DensityLn) SampleWithDensityLn(Tape<T> tape, int count, Random random, Node<T>? context = null)
    {
        BaseDistributions.CheckSample(tape, count, random, context);
        Node<T> t = tape.Allocate(count, Dimension);
        Fill(t.Values, random);
        Node<T> x = tape.AffineElementwise(t, tape.Use(_location), tape.Use(_logScale), inverse: false).Output;
        return (x, DensityLn(tape, x));
    }

    /// <inheritdoc/>
    public void DensityLn(ReadOnlySpan<T> x, Span<T> destination, ReadOnlySpan<T> context = default)
        => BaseDistributions.DensityLn(this, x, destination, context);

    /// <inheritdoc/>
    public void Sample(Span<T> destination, Random random, ReadOnlySpan<T> context = default)
        => BaseDistributions.Sample(this, destination, random, context);

    /// <inheritdoc/>
    public override string ToString() => $"StudentT(dimension: {Dimension})";

    private static double DegreesOfFreedomOf(double r) => StudentTOps.Softplus(r) + MinimumDegreesOfFreedom;

    // Standard t draws, row-major: all normals first, then one χ² draw per element.
    private void Fill(Span<T> destination, Random random)
    {
        Gaussian.Fill(destination, random);
        double[] nu = DegreesOfFreedom;
        for (int i = 0; i < destination.Length; i++)
        {
            double v = nu[i % Dimension];
            double chiSquare = MathNet.Numerics.Distributions.Gamma.Sample(random, v / 2, 0.5);
            destination[i] = T.CreateTruncating(double.CreateTruncating(destination[i]) / Math.Sqrt(chiSquare / v));
        }
    }
}
