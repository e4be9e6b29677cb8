using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Numerics;

namespace Flows.Distributions;

// Conditioning on one observation: the flow with its context fixed to one row, broadcast over every sample or every
// scored row, as neural posterior estimation uses it (many θ sampled or scored for one observed x).
public sealed partial class TransformedDistribution<T>
{
    /// <summary>
    /// This conditional flow with its context fixed to one row: the distribution p(x | c) for that c, which samples and
    /// scores any number of rows without a context row per row.
    /// </summary>
    /// <remarks>
    /// For a posterior q(θ | x) fitted on (θ, x) pairs, <c>flow.Given(xObserved).Sample(10_000, random)</c> draws from
    /// the posterior of one observation and <c>flow.Given(xObserved).DensityLn(thetas)</c> scores many θ for it. The
    /// result gives the same bits as the row-per-sample calls with <paramref name="context"/> repeated on every row. It
    /// copies <paramref name="context"/> and reads the flow's parameters when it is used, so it follows further fitting.
    /// </remarks>
    /// <param name="context">One context row: ContextDimension values, all finite.</param>
    /// <returns>An unconditional view of this flow (its <see cref="IDistribution{T}.ContextDimension"/> is 0).</returns>
    /// <exception cref="InvalidOperationException">The flow takes no context.</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> does not hold ContextDimension values, or holds a
    /// non-finite one.</exception>
    public ConditionedDistribution<T> Given(ReadOnlySpan<T> context)
    {
        if (ContextDimension == 0)
        {
            throw new InvalidOperationException(
                $"This flow takes no context (ContextDimension 0); Given fixes the context of a conditional flow.");
        }

        if (context.Length != ContextDimension)
        {
            throw new ArgumentException(
                $"context has {context.Length} values but the flow has ContextDimension {ContextDimension}; Given takes one context row.", nameof(context));
        }

        Batch.CheckContextValues(context, ContextDimension, nameof(context));
        return new ConditionedDistribution<T>(this, context);
    }

    /// <summary>
    /// A flow p(x | c) whose raw context c is standardized and embedded before it reaches this flow's bijector:
    /// the same base distribution, and an <see cref="EmbeddedContext{T}"/> around this flow's bijector.
    /// </summary>
    /// <remarks>
    /// The new flow's <see cref="ContextDimension"/> is the embedding's raw ContextDimension; this flow's bijector must
    /// take the embedding's EmbeddingDimension. The two flows share the bijector and its parameters, so fit and use the
    /// new one. Fitting it trains the embedding with the bijector, and its first pass over the training data sets the
    /// standardization (see <see cref="EmbeddedContext{T}"/>); both are saved with it.
    /// </remarks>
    /// <param name="embedding">The context embedding, for example a <see cref="MultilayerPerceptronEmbedding{T}"/>.</param>
    /// <param name="standardize">Standardize the raw context from the training data. Default true.</param>
    /// <returns>The conditional flow on raw contexts.</returns>
    /// <exception cref="InvalidOperationException">This flow's bijector takes no context, or its base distribution takes one.</exception>
    /// <exception cref="ArgumentException">The embedding's EmbeddingDimension differs from the bijector's ContextDimension.</exception>
    public TransformedDistribution<T> WithContextEmbedding(IContextEmbedding<T> embedding, bool standardize = true)
    {
        ArgumentNullException.ThrowIfNull(embedding);
        if (Bijector.ContextDimension == 0 || BaseDistribution.ContextDimension != 0)
        {
            throw new InvalidOperationException(
                $"An embedding feeds a conditional bijector on an unconditional base; this flow's bijector has ContextDimension {Bijector.ContextDimension} and its base {BaseDistribution.ContextDimension}.");
        }

        return new TransformedDistribution<T>(BaseDistribution, new EmbeddedContext<T>(Bijector, embedding, standardize), DefensiveShare);
    }

    // DensityLn(x, destination, context) with context the given row on every row: the same chunks, so the same bits.
    internal void DensityLnGiven(ReadOnlySpan<T> x, Span<T> destination, ReadOnlySpan<T> contextRow)
    {
        int rows = Batch.RowCount(x.Length, Dimension, nameof(x));
        Batch.CheckFinite(x, Dimension, nameof(x), "densities");
        _layers.DataSupport?.CheckInside(x, nameof(x), "densities");
        if (destination.Length != rows)
        {
            throw new ArgumentException($"destination has {destination.Length} elements but x has {rows} rows.", nameof(destination));
        }

        lock (_evaluationLock)
        {
            for (int start = 0; start < rows; start += EvaluationChunkRows)
            {
                int count = Math.Min(EvaluationChunkRows, rows - start);
                _evaluationTape.Reset();
                Node<T> xNode = _evaluationTape.Constant(x.Slice(start * Dimension, count * Dimension), count, Dimension);
                Node<T> contextNode = RepeatedRow(_evaluationTape, contextRow, count);
                DensityLn(_evaluationTape, xNode, contextNode).Values.CopyTo(destination.Slice(start, count));
            }

            _evaluationTape.Reset();
        }
    }

    // Sample(destination, random, context) with context the given row on every row: the same chunks, so the same bits.
    internal void SampleGiven(Span<T> destination, Random random, ReadOnlySpan<T> contextRow)
    {
        ArgumentNullException.ThrowIfNull(random);
        int rows = Batch.RowCount(destination.Length, Dimension, nameof(destination));
        lock (_evaluationLock)
        {
            for (int start = 0; start < rows; start += EvaluationChunkRows)
            {
                int count = Math.Min(EvaluationChunkRows, rows - start);
                _evaluationTape.Reset();
                Node<T> contextNode = RepeatedRow(_evaluationTape, contextRow, count);
                Sample(_evaluationTape, count, random, contextNode).Values.CopyTo(destination.Slice(start * Dimension, count * Dimension));
            }

            _evaluationTape.Reset();
        }
    }

    // rows × row.Length, every row a copy of row: a constant, so no gradient flows into it.
    internal static Node<T> RepeatedRow(Tape<T> tape, ReadOnlySpan<T> row, int rows)
    {
        Node<T> node = tape.Allocate(rows, row.Length);
        for (int i = 0; i < rows; i++)
        {
            row.CopyTo(node.Values.Slice(i * row.Length, row.Length));
        }

        return node;
    }
}
