using System.Numerics;
using Flows.Autodiff;
using Flows.Persistence;

namespace Flows.Bijectors;

/// <summary>
/// The context as it is, e = c: no parameters. In an <see cref="EmbeddedContext{T}"/> it leaves only the context's
/// standardization, which is how the presets' Gaussian starts z-score a conditional flow's context (as sbi z-scores
/// observations by default).
/// </summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class IdentityEmbedding<T> : IContextEmbedding<T>, IHasSavedForm<T, IContextEmbedding<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the identity on <paramref name="contextDimension"/> features.</summary>
    /// <param name="contextDimension">Context features. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="contextDimension"/> is not positive.</exception>
    public IdentityEmbedding(int contextDimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(contextDimension);
        ContextDimension = contextDimension;
    }

    /// <inheritdoc/>
    public int ContextDimension { get; }

    /// <summary>The same as <see cref="ContextDimension"/>.</summary>
    public int EmbeddingDimension => ContextDimension;

    /// <summary>None.</summary>
    public IReadOnlyList<Parameter<T>> Parameters => [];

    static SavedForm<T, IContextEmbedding<T>> IHasSavedForm<T, IContextEmbedding<T>>.SavedForm => new(
        "Identity",
        typeof(IdentityEmbedding<T>),
        (e, w) => w.Int32("contextDimension", e.ContextDimension),
        r => new IdentityEmbedding<T>(r.Int32("contextDimension", minimum: 1)));

    /// <inheritdoc/>
    public Node<T> Apply(Tape<T> tape, Node<T> context)
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(context);
        if (context.Columns != ContextDimension)
        {
            throw new ArgumentException($"context has {context.Columns} columns but the embedding has ContextDimension {ContextDimension}.", nameof(context));
        }

        return context;
    }

    /// <inheritdoc/>
    public override string ToString() => $"IdentityEmbedding(contextDimension: {ContextDimension})";
}
