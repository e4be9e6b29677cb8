using System.Globalization;
using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// The shell the monotone transforms share: a strictly increasing f(x; θ) on [−B, B] with linear tails, whose
/// data → base direction is f itself (<see cref="Inverse"/>) and whose base → data direction is its bracketed numerical
/// inverse (<see cref="Forward"/>), with per-row parameters from a conditioner. Derived by
/// <see cref="SumOfSquaresPolynomialTransform{T}"/>, <see cref="BernsteinTransform{T}"/>,
/// <see cref="UnconstrainedMonotonicTransform{T}"/> and <see cref="DeepSigmoidalTransform{T}"/>, which differ only in f.
/// </summary>
/// <remarks>
/// <para><b>Directions.</b> log|det J| = Σ log F′(x) per row for data → base. Base → data solves F(x) = z by Newton's
/// method safeguarded by bisection inside [−B, B] (closed-form on the tails), to a step of 4 ulp·(1 + |x|), well inside
/// 1e-12 in double; its gradients come from the implicit function theorem, so no iteration is differentiated. A solve
/// that fails throws <see cref="InvalidOperationException"/> naming the row, the residual and the tolerance.</para>
/// <para><b>Tails.</b> Beyond ±B the map is its tangent at ±B, so F is C¹, grows linearly and has F′ ≥ m everywhere.</para>
/// <para><b>Speed.</b> The sum-of-squares and Bernstein transforms evaluate data → base (what log-density and training
/// need) and its gradients a vector of elements at a time, with the same results as element by element; the integral
/// and deep sigmoidal transforms, and every numerical inverse, go element by element.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public abstract class MonotoneTransform<T> : IConditionalTransform<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly string _name;
    private readonly MonotoneOperation<T> _operation;
    private readonly string _forwardName;
    private readonly string _inverseName;

    // The derived constructors check every setting (their own first, as their parameters are ordered) before they build f.
    private protected MonotoneTransform(string name, MonotoneOperation<T> operation, double tailBound, double minimumSlope)
    {
        _name = name;
        _operation = operation;
        _forwardName = $"{name} forward";
        _inverseName = $"{name} inverse";
        TailBound = tailBound;
        MinimumSlope = minimumSlope;
    }

    /// <summary>B: the map acts on [−B, B], its tangents outside.</summary>
    public double TailBound { get; }

    /// <summary>m, the smallest derivative.</summary>
    public double MinimumSlope { get; }

    /// <inheritdoc/>
    public int ParametersPerFeature => _operation.ParameterCount;

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    /// <exception cref="InvalidOperationException">The numerical inverse did not converge (see the remarks).</exception>
    public (Node<T> Output, Node<T> LogDet) Forward(Tape<T> tape, Node<T> z, Node<T> parameters)
        => _operation.Apply(tape, z, parameters, solve: true, _forwardName);

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public (Node<T> Output, Node<T> LogDet) Inverse(Tape<T> tape, Node<T> x, Node<T> parameters)
        => _operation.Apply(tape, x, parameters, solve: false, _inverseName);

    /// <summary>Constructor-like text: the name, the family's settings, then B and m.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{_name}({FamilySettings}, tailBound: {TailBound}, minimumSlope: {MinimumSlope})");

    /// <summary>The family's own settings as constructor arguments ("degree: 16").</summary>
    private protected abstract string FamilySettings { get; }

    /// <summary>A saved form that writes the family's settings, then B and m, and reads them back.</summary>
    private protected static SavedForm<T, IConditionalTransform<T>> SavedFormOf<TTransform>(string name,
        Action<TTransform, ISavedFormWriter<T>> writeSettings, Func<ISavedFormReader<T>, double, double, TTransform> read)
        where TTransform : MonotoneTransform<T>
        => new(
            name,
            typeof(TTransform),
            (t, w) =>
            {
                var transform = (TTransform)t;
                writeSettings(transform, w);
                w.Double("tailBound", transform.TailBound);
                w.Double("minimumSlope", transform.MinimumSlope);
            },
            r => read(r, r.Double("tailBound"), r.Double("minimumSlope")));
}
