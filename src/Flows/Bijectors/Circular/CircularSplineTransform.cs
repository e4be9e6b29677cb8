using System.Globalization;
using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// The circular rational-quadratic spline of Rezende et al. (2020), per column: on an angle column, a monotone map of
/// [−π, π] onto itself with K learned bins, f(−π) = −π, f(π) = π and equal learned derivatives at the two ends, so it is
/// a C¹ diffeomorphism of the circle; on a real column, the ordinary spline on [−B, B] with identity tails
/// (<see cref="RationalQuadraticTransform{T}"/>). 3K parameters per feature.
/// </summary>
/// <remarks>
/// <para>Per angle feature: K width logits, K height logits, K derivative pre-activations, the first K − 1 interior and
/// the last the boundary derivative δ₀ = δ_K = m_δ + softplus(u + c), with c chosen so that u = 0 gives 1. A real
/// feature reads the first 3K − 1 (its boundary derivatives are 1) and ignores the last, whose gradient is then 0.
/// All-zero parameters give the identity. log|det J| is the sum of the log-derivatives of the angle and real features.</para>
/// <para>The spline fixes the point −π ≡ π; compose it with a <see cref="CircularShift{T}"/> (or condition it) so that
/// no angle stays fixed across a flow. Angles are expected in [−π, π]; one outside is passed through unchanged (as the
/// tails of a real spline), which is why <see cref="Flows.Distributions.Presets.CircularSplineFlow"/> puts a
/// <see cref="CircularShift{T}"/>, which wraps, next to the data.</para>
/// <para>Values, inverse and log-determinant run on the kernel of <see cref="RationalQuadraticTransform{T}"/> (one fused
/// tape operation per kind of column, with the hand-derived backward pass extended to the boundary derivative).</para>
/// <para>Reference: Rezende, Papamakarios, Racanière, Albergo, Kanwar, Shanahan &amp; Cranmer, "Normalizing Flows on
/// Tori and Spheres", ICML 2020, arXiv:2002.02428; Durkan et al., "Neural Spline Flows", NeurIPS 2019, arXiv:1906.04032.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class CircularSplineTransform<T> : IConditionalTransform<T>, IHasSavedForm<T, IConditionalTransform<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly bool[] _angles;
    private readonly int[] _angleColumns;
    private readonly int[] _realColumns;
    private readonly int[] _angleParameters;
    private readonly int[] _realParameters;
    private readonly int[] _order;
    private readonly RationalQuadraticTransform<T> _settings;

    /// <summary>Creates the transform.</summary>
    /// <param name="angles">Per column, whether it is an angle in [−π, π) (true) or real (false); at least one angle.</param>
    /// <param name="binCount">K. Default 8. Range: &gt; 0.</param>
    /// <param name="tailBound">B, the interval [−B, B] of the real columns' splines. Default 5. Range as for
    /// <see cref="RationalQuadraticTransform{T}"/>.</param>
    /// <param name="minimumBinWidth">m_w, as a share of the interval. Default 1e-3. Range: [0, 1/K).</param>
    /// <param name="minimumBinHeight">m_h, as a share of the interval. Default 1e-3. Range: [0, 1/K).</param>
    /// <param name="minimumDerivative">m_δ. Default 1e-3. Range: (0, 1).</param>
    /// <exception cref="ArgumentNullException"><paramref name="angles"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="angles"/> marks no angle.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public CircularSplineTransform(IReadOnlyList<bool> angles, int binCount = 8, double tailBound = 5.0, double minimumBinWidth = 1e-3,
        double minimumBinHeight = 1e-3, double minimumDerivative = 1e-3)
    {
        (_angleColumns, _realColumns) = CircularOps.Columns(angles, nameof(angles));
        _settings = new RationalQuadraticTransform<T>(binCount, tailBound, minimumBinWidth, minimumBinHeight, minimumDerivative);
        _angles = [.. angles];
        int d = _angles.Length;
        int perFeature = 3 * binCount;
        _angleParameters = [.. Enumerable.Range(0, perFeature).SelectMany(p => _angleColumns.Select(j => (p * d) + j))];
        _realParameters = [.. Enumerable.Range(0, perFeature - 1).SelectMany(p => _realColumns.Select(j => (p * d) + j))];

        // Output column j is column order[j] of [angle outputs, real outputs].
        _order = new int[d];
        for (int a = 0; a < _angleColumns.Length; a++)
        {
            _order[_angleColumns[a]] = a;
        }

        for (int r = 0; r < _realColumns.Length; r++)
        {
            _order[_realColumns[r]] = _angleColumns.Length + r;
        }
    }

    /// <summary>Per column, whether it is an angle.</summary>
    public IReadOnlyList<bool> Angles => _angles;

    /// <summary>K, the number of bins.</summary>
    public int BinCount => _settings.BinCount;

    /// <summary>B, the interval [−B, B] of the real columns.</summary>
    public double TailBound => _settings.TailBound;

    /// <summary>m_w, the smallest bin width as a share of the interval.</summary>
    public double MinimumBinWidth => _settings.MinimumBinWidth;

    /// <summary>m_h, the smallest bin height as a share of the interval.</summary>
    public double MinimumBinHeight => _settings.MinimumBinHeight;

    /// <summary>m_δ, the smallest derivative.</summary>
    public double MinimumDerivative => _settings.MinimumDerivative;

    /// <summary>3K: K widths, K heights and K derivatives (K − 1 interior, one at the ends).</summary>
    public int ParametersPerFeature => 3 * BinCount;

    /// <inheritdoc/>
    /// <exception cref="ArgumentException"><paramref name="z"/> does not have one column per entry of <see cref="Angles"/>.</exception>
    public (Node<T> Output, Node<T> LogDet) Forward(Tape<T> tape, Node<T> z, Node<T> parameters) => Apply(tape, z, parameters, inverse: false);

    /// <inheritdoc/>
    /// <exception cref="ArgumentException"><paramref name="x"/> does not have one column per entry of <see cref="Angles"/>.</exception>
    public (Node<T> Output, Node<T> LogDet) Inverse(Tape<T> tape, Node<T> x, Node<T> parameters) => Apply(tape, x, parameters, inverse: true);

    /// <summary>
    /// <see cref="Forward"/> on column <paramref name="column"/> alone: the circular spline on an angle, the ordinary spline
    /// (the first 3K − 1 of its parameters) on a real column, each element as <see cref="Forward"/> computes it.
    /// </summary>
    /// <param name="tape">The tape to record on.</param>
    /// <param name="column">The column's index in <see cref="Angles"/>.</param>
    /// <param name="z">n × 1, the column's values.</param>
    /// <param name="parameters">n × 3K, the column's parameters.</param>
    /// <returns>The n × 1 output and the n × 1 log-derivative.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="column"/> is not a column of <see cref="Angles"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="z"/> has more than one column, or <paramref name="parameters"/>
    /// is not n × 3K.</exception>
    public (Node<T> Output, Node<T> LogDet) ForwardColumn(Tape<T> tape, int column, Node<T> z, Node<T> parameters)
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(z);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfNegative(column);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(column, _angles.Length);
        if (z.Columns != 1)
        {
            throw new ArgumentException($"z has {z.Columns} columns; one column is transformed at a time.", nameof(z));
        }

        if (parameters.Columns != ParametersPerFeature || parameters.Rows != z.Rows)
        {
            throw new ArgumentException($"parameters is {parameters.Rows} × {parameters.Columns}, expected {z.Rows} × {ParametersPerFeature} (3K for one feature).", nameof(parameters));
        }

        return _angles[column]
            ? Circular(tape, z, parameters, inverse: false)
            : _settings.Forward(tape, z, tape.SliceColumns(parameters, 0, ParametersPerFeature - 1));
    }

    /// <summary>
    /// Sums each row's log-derivatives as <see cref="Forward"/> sums a whole row: the angle columns' and the real columns'
    /// each as the spline sums a row of them (see <see cref="RationalQuadraticTransform{T}.SumLogDerivatives"/>), then the
    /// two sums added.
    /// </summary>
    /// <param name="logDerivatives">n × d, row-major.</param>
    /// <param name="features">d, the length of <see cref="Angles"/>.</param>
    /// <param name="logDet">n: each row's sum.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="features"/> is not the length of <see cref="Angles"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="logDerivatives"/> does not hold <paramref name="logDet"/>'s
    /// length × <paramref name="features"/> values.</exception>
    public void SumLogDerivatives(ReadOnlySpan<T> logDerivatives, int features, Span<T> logDet)
    {
        ConditionalTransformChecks.CheckRowSums(logDerivatives, features, logDet);
        if (features != _angles.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(features), features, $"The transform was built for {_angles.Length} features (angles [{CircularOps.Describe(_angles)}]).");
        }

        if (_realColumns.Length == 0)
        {
            Numerics.RationalQuadraticSpline.SumLogDerivatives(logDerivatives, features, logDet);
            return;
        }

        // As Apply: each row's angle columns and real columns gathered and summed apart, then angle sum + real sum.
        Span<T> gathered = features <= 256 ? stackalloc T[features] : new T[features];
        Span<T> sums = stackalloc T[2];
        int angles = _angleColumns.Length;
        for (int i = 0; i < logDet.Length; i++)
        {
            ReadOnlySpan<T> row = logDerivatives.Slice(i * features, features);
            for (int a = 0; a < angles; a++)
            {
                gathered[a] = row[_angleColumns[a]];
            }

            for (int r = 0; r < _realColumns.Length; r++)
            {
                gathered[angles + r] = row[_realColumns[r]];
            }

            Numerics.RationalQuadraticSpline.SumLogDerivatives<T>(gathered[..angles], angles, sums[..1]);
            Numerics.RationalQuadraticSpline.SumLogDerivatives<T>(gathered[angles..], _realColumns.Length, sums[1..]);
            logDet[i] = sums[0] + sums[1];
        }
    }

    static SavedForm<T, IConditionalTransform<T>> IHasSavedForm<T, IConditionalTransform<T>>.SavedForm => new(
        "CircularRationalQuadratic",
        typeof(CircularSplineTransform<T>),
        (t, w) =>
        {
            var spline = (CircularSplineTransform<T>)t;
            w.Int32Array("angles", CircularOps.ToFlags(spline.Angles));
            w.Int32("binCount", spline.BinCount);
            w.Double("tailBound", spline.TailBound);
            w.Double("minimumBinWidth", spline.MinimumBinWidth);
            w.Double("minimumBinHeight", spline.MinimumBinHeight);
            w.Double("minimumDerivative", spline.MinimumDerivative);
        },
        r => new CircularSplineTransform<T>(
            r.BooleanArray("angles"),
            r.Int32("binCount", minimum: 1),
            r.Double("tailBound"),
            r.Double("minimumBinWidth"),
            r.Double("minimumBinHeight"),
            r.Double("minimumDerivative")));

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"CircularSplineTransform(angles: [{CircularOps.Describe(_angles)}], binCount: {BinCount}, tailBound: {TailBound}, minimumBinWidth: {MinimumBinWidth}, minimumBinHeight: {MinimumBinHeight}, minimumDerivative: {MinimumDerivative})");

    private (Node<T> Output, Node<T> LogDet) Apply(Tape<T> tape, Node<T> input, Node<T> parameters, bool inverse)
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(parameters);
        if (input.Columns != _angles.Length)
        {
            throw new ArgumentException($"The input has {input.Columns} columns but the transform was built for {_angles.Length} (angles [{CircularOps.Describe(_angles)}]).", nameof(input));
        }

        if (_realColumns.Length == 0)
        {
            return Circular(tape, input, parameters, inverse);
        }

        // Mixed columns: each kind through its own kernel call on its own columns and parameters, then back in place.
        (Node<T> angleOutput, Node<T> angleLogDet) = Circular(tape, tape.GatherColumns(input, _angleColumns), tape.GatherColumns(parameters, _angleParameters), inverse);
        Node<T> realInput = tape.GatherColumns(input, _realColumns);
        Node<T> realParameters = tape.GatherColumns(parameters, _realParameters);
        (Node<T> realOutput, Node<T> realLogDet) = inverse ? _settings.Inverse(tape, realInput, realParameters) : _settings.Forward(tape, realInput, realParameters);
        return (tape.PermuteColumns(tape.ConcatenateColumns(angleOutput, realOutput), _order), tape.Add(angleLogDet, realLogDet));
    }

    private (Node<T> Output, Node<T> LogDet) Circular(Tape<T> tape, Node<T> input, Node<T> parameters, bool inverse)
        => tape.RationalQuadraticSpline(input, parameters, BinCount, Math.PI, MinimumBinWidth, MinimumBinHeight, MinimumDerivative, inverse, circular: true);
}
