using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// A learnable map from a raw context (an observation: a time series, summary statistics) to the few features a
/// conditional bijector takes, trained jointly with the flow: <c>e = f(c)</c>, n × ContextDimension → n × EmbeddingDimension.
/// </summary>
/// <remarks>
/// <see cref="EmbeddedContext{T}"/> puts one in front of a conditional bijector; its <see cref="Parameters"/> become the
/// bijector's, so fitting the flow trains them. <see cref="MultilayerPerceptronEmbedding{T}"/> is the default. An
/// implementation of your own works in every call, but <c>FlowSerializer</c> saves only the embeddings of this
/// assembly.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public interface IContextEmbedding<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Raw context features per row, the input.</summary>
    int ContextDimension { get; }

    /// <summary>Embedded features per row, the output: the ContextDimension of the bijector it feeds.</summary>
    int EmbeddingDimension { get; }

    /// <summary>The trainable parameters.</summary>
    IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>Embeds a batch of contexts on a tape, differentiably in <see cref="Parameters"/> and in the context.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="context">n × ContextDimension.</param>
    /// <returns>n × EmbeddingDimension.</returns>
    Node<T> Apply(Tape<T> tape, Node<T> context);
}
