using System.Globalization;
using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Distributions;

/// <summary>
/// A conditional flow with its context fixed to one row c: the distribution p(x | c), unconditional in its own right.
/// Made by <see cref="TransformedDistribution{T}.Given(ReadOnlySpan{T})"/>.
/// </summary>
/// <remarks>
/// <para>Every call runs the flow with c repeated on every row, in the flow's own chunks, so the results are those of the
/// flow's row-per-sample calls with that repeated context, bit for bit: <c>flow.Given(c).Sample(n, random)</c> equals
/// <c>flow.Sample(n, random, cRepeated)</c> for the same generator state. This is what a posterior q(θ | x) is used
/// for: many θ drawn or scored for one observation x.</para>
/// <para>It holds a copy of c and no parameters of its own: <see cref="Parameters"/> are the flow's, read when a call
/// runs, so it follows further fitting, and as the base of another flow it trains the flow's parameters. Array-level
/// calls take the flow's lock, so several threads may use it and the flow at once.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class ConditionedDistribution<T> : IDistribution<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _context;

    internal ConditionedDistribution(TransformedDistribution<T> flow, ReadOnlySpan<T> context)
    {
        Flow = flow;
        _context = context.ToArray();
    }

    /// <summary>The conditional flow.</summary>
    public TransformedDistribution<T> Flow { get; }

    /// <summary>The fixed context row c: <see cref="TransformedDistribution{T}.ContextDimension"/> values.</summary>
    public ReadOnlySpan<T> Context => _context;

    /// <inheritdoc/>
    public int Dimension => Flow.Dimension;

    /// <summary>0: the context is fixed.</summary>
    public int ContextDimension => 0;

    /// <summary>The flow's parameters.</summary>
    public IReadOnlyList<Parameter<T>> Parameters => Flow.Parameters;

    /// <summary>log p(x | c) for each row of <paramref name="x"/>, written to <paramref name="destination"/>.</summary>
    /// <param name="x">n × Dimension values, row-major, all finite.</param>
    /// <param name="destination">n values.</param>
    /// <param name="context">Must be empty: the context is fixed.</param>
    /// <exception cref="ArgumentException">A shape is wrong, <paramref name="x"/> holds a non-finite value, or a context
    /// was given.</exception>
    public void DensityLn(ReadOnlySpan<T> x, Span<T> destination, ReadOnlySpan<T> context = default)
    {
        CheckNoContext(context);
        Flow.DensityLnGiven(x, destination, _context);
    }

    /// <summary>log p(x | c) for each row of <paramref name="x"/>: many θ scored for one observation.</summary>
    /// <param name="x">n × Dimension, all finite.</param>
    /// <returns>n log-densities.</returns>
    /// <exception cref="ArgumentException"><paramref name="x"/> has the wrong number of columns or holds a non-finite value.</exception>
    public T[] DensityLn(T[,] x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.GetLength(1) != Dimension)
        {
            throw new ArgumentException($"x has {x.GetLength(1)} columns but the flow expects {Dimension}.", nameof(x));
        }

        var result = new T[x.GetLength(0)];
        Flow.DensityLnGiven(Batch.AsSpan(x), result, _context);
        return result;
    }

    /// <summary>p(x | c) for each row of <paramref name="x"/>: <c>exp</c> of <see cref="DensityLn(T[,])"/>.</summary>
    /// <param name="x">n × Dimension, all finite.</param>
    /// <returns>n densities.</returns>
    /// <exception cref="ArgumentException"><paramref name="x"/> has the wrong number of columns or holds a non-finite value.</exception>
    public T[] Density(T[,] x)
    {
        T[] result = DensityLn(x);
        Kernels.Map<T, Kernels.Exp<T>>(result, result); // lane-independent, as TransformedDistribution.Density
        return result;
    }

    /// <summary>Fills <paramref name="destination"/> with samples of p(x | c), row-major.</summary>
    /// <param name="destination">n × Dimension values.</param>
    /// <param name="random">The source of randomness.</param>
    /// <param name="context">Must be empty: the context is fixed.</param>
    /// <exception cref="ArgumentException">A shape is wrong, or a context was given.</exception>
    public void Sample(Span<T> destination, Random random, ReadOnlySpan<T> context = default)
    {
        CheckNoContext(context);
        Flow.SampleGiven(destination, random, _context);
    }

    /// <summary>Draws <paramref name="count"/> samples of p(x | c): many θ for one observation.</summary>
    /// <param name="count">Samples. Range: ≥ 0.</param>
    /// <param name="random">The source of randomness.</param>
    /// <returns>count × Dimension samples.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    public T[,] Sample(int count, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentNullException.ThrowIfNull(random);
        var result = new T[count, Dimension];
        Flow.SampleGiven(Batch.AsSpan(result), random, _context);
        return result;
    }

    /// <summary>log p(x | c) per row on a tape: n × Dimension → n × 1, differentiable in the flow's parameters.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="x">n × Dimension data.</param>
    /// <param name="context">Must be null: the context is fixed.</param>
    /// <exception cref="ArgumentException">A context was given.</exception>
    public Node<T> DensityLn(Tape<T> tape, Node<T> x, Node<T>? context = null)
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        CheckNoContext(context);
        return Flow.DensityLn(tape, x, TransformedDistribution<T>.RepeatedRow(tape, _context, x.Rows));
    }

    /// <summary>Draws samples of p(x | c) and their log-densities on a tape, differentiable in the flow's parameters.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="count">Samples. Range: ≥ 0.</param>
    /// <param name="random">The source of randomness.</param>
    /// <param name="context">Must be null: the context is fixed.</param>
    /// <returns>The count × Dimension samples and their count × 1 log-densities.</returns>
    /// <exception cref="ArgumentException">A context was given.</exception>
    public (Node<T> X, Node<T> DensityLn) SampleWithDensityLn(Tape<T> tape, int count, Random random, Node<T>? context = null)
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        CheckNoContext(context);
        return Flow.SampleWithDensityLn(tape, count, random, TransformedDistribution<T>.RepeatedRow(tape, _context, count));
    }

    /// <inheritdoc/>
    public override string ToString()
        => $"ConditionedDistribution({Flow}, context: [{string.Join(", ", _context.Select(v => v.ToString(null, CultureInfo.InvariantCulture)))}])";

    private static void CheckNoContext(ReadOnlySpan<T> context)
    {
        if (!context.IsEmpty)
        {
            throw new ArgumentException($"context has {context.Length} values but this distribution's context is fixed; pass none.", nameof(context));
        }
    }

    private static void CheckNoContext(Node<T>? context)
    {
        if (context is not null)
        {
            throw new ArgumentException(
                $"context is {context.Rows} × {context.Columns} but this distribution's context is fixed; pass null.", nameof(context));
        }
    }
}
