using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Numerics;

namespace Flows.Distributions;

/// <summary>
/// The base of a flow on angles and reals: uniform on the circle [−π, π) in each angle column, standard normal in each
/// other column, independent: <c>log p(x) = −a log 2π − ½ Σ_real (x_j² + log 2π)</c> with a angle columns.
/// </summary>
/// <remarks>
/// <para>No parameters. An angle outside [−π, π] has density 0 (log-density −∞); a flow whose layer next to the data
/// wraps angles (<see cref="CircularShift{T}"/>, as in <see cref="Presets.CircularSplineFlow"/>) never hands it one.
/// The log-density's gradient is −x_j in a real column and 0 in an angle column.</para>
/// <para>Sampling: θ = −π + 2π u with u uniform on [0, 1) (<see cref="Random.NextDouble"/>), kept below π; reals from
/// the standard normal.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class UniformAngles<T> : IDistribution<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly bool[] _angles;
    private readonly int[] _angleColumns;
    private readonly int[] _realColumns;
    private readonly T _angleLogDensity;

    /// <summary>Creates the base.</summary>
    /// <param name="angles">Per column, whether it is an angle (true) or real (false); at least one angle.</param>
    /// <exception cref="ArgumentNullException"><paramref name="angles"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="angles"/> marks no angle.</exception>
    public UniformAngles(IReadOnlyList<bool> angles)
    {
        (_angleColumns, _realColumns) = CircularOps.Columns(angles, nameof(angles));
        _angles = [.. angles];
        _angleLogDensity = T.CreateTruncating(-_angleColumns.Length * Math.Log(2 * Math.PI));
    }

    /// <inheritdoc/>
    public int Dimension => _angles.Length;

    /// <summary>0: the distribution takes no context.</summary>
    public int ContextDimension => 0;

    /// <summary>Per column, whether it is an angle.</summary>
    public IReadOnlyList<bool> Angles => _angles;

    /// <summary>None: the distribution is fixed.</summary>
    public IReadOnlyList<Parameter<T>> Parameters => [];

    /// <inheritdoc/>
    public Node<T> DensityLn(Tape<T> tape, Node<T> x, Node<T>? context = null)
    {
        BaseDistributions.CheckBatch(tape, x, Dimension, context);

        // The angles' part is a constant inside the circle and −∞ outside: a node no operation produced, so it gets no gradient.
        Node<T> angular = tape.Allocate(x.Rows, 1);
        int d = Dimension;
        for (int i = 0; i < x.Rows; i++)
        {
            bool inside = true;
            foreach (int j in _angleColumns)
            {
                T value = x.Values[(i * d) + j];
                inside &= value >= -T.Pi && value <= T.Pi;
            }

            angular.Values[i] = inside ? _angleLogDensity : T.NegativeInfinity;
        }

        return _realColumns.Length == 0 ? angular : tape.Add(tape.StandardNormalLogDensity(tape.GatherColumns(x, _realColumns)), angular);
    }

    /// <inheritdoc/>
    public (Node<T> X, Node<T> DensityLn) SampleWithDensityLn(Tape<T> tape, int count, Random random, Node<T>? context = null)
    {
        BaseDistributions.CheckSample(tape, count, random, context);
        Node<T> x = tape.Allocate(count, Dimension);
        Fill(x.Values, random);
        return (x, DensityLn(tape, x));
    }

    /// <inheritdoc/>
    public void DensityLn(ReadOnlySpan<T> x, Span<T> destination, ReadOnlySpan<T> context = default)
        => BaseDistributions.DensityLn(this, x, destination, context);

    /// <inheritdoc/>
    public void Sample(Span<T> destination, Random random, ReadOnlySpan<T> context = default)
    {
        BaseDistributions.SampleRows(Dimension, destination, random, context);
        Fill(destination, random);
    }

    /// <inheritdoc/>
    public override string ToString() => $"UniformAngles(angles: [{CircularOps.Describe(_angles)}])";

    private void Fill(Span<T> destination, Random random)
    {
        // Normals for every entry first, so that the real columns draw as StandardNormal does, then the angles.
        Gaussian.Fill(destination, random);
        int d = Dimension;
        for (int offset = 0; offset < destination.Length; offset += d)
        {
            foreach (int j in _angleColumns)
            {
                // Rounding in T can carry −π + 2πu up to π, which is −π on the circle.
                T angle = -T.Pi + (T.Tau * T.CreateTruncating(random.NextDouble()));
                destination[offset + j] = angle < T.Pi ? angle : -T.Pi;
            }
        }
    }
}
