using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// A conditional bijector whose context is first standardized and then embedded: it runs
/// <c>inner(·; f((c − m) ⊘ s))</c>, with f an <see cref="IContextEmbedding{T}"/> trained jointly with the inner
/// bijector, and m, s per-feature means and standard deviations of the raw context taken from the training data.
/// </summary>
/// <remarks>
/// <para>Its <see cref="Bijector{T}.ContextDimension"/> is the embedding's raw ContextDimension; the inner bijector's
/// ContextDimension must equal the embedding's EmbeddingDimension. <see cref="Parameters"/> are the inner bijector's,
/// then the embedding's, so fitting the flow trains both. Output and log|det J| are those of the inner bijector at the
/// embedded context; the map from z to x is as invertible as the inner one.</para>
/// <para><b>Standardization</b> (on by default): until it is initialized, m = 0 and s = 1. The first non-empty context
/// batch passed to <see cref="Bijector{T}.Inverse"/> on a tape that does not record or that trains (the pass with which
/// <c>MaximumLikelihood.Fit</c> starts: up to 4,096 training rows, again if only a probe of the untrained flow had
/// initialized it; the array-level <c>DensityLn</c>, from at least 10 rows), or
/// <see cref="InitializeStandardization"/> with the whole training context, sets m to each feature's mean and s to its
/// population standard deviation (computed in double), once. A feature whose standard deviation is at most 64 ulps of max |c| is only centred
/// (s = 1). A recording tape outside training (variational fitting) never initializes from its contexts: there the
/// current m, s are adopted, as <see cref="ActNorm{T}"/> does. m, s and whether they are settled are saved with the
/// flow, so a loaded flow never re-standardizes.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class EmbeddedContext<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>>, IInitializesFromData where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly FeatureStandardization<T> _standardization;

    /// <summary>Puts <paramref name="embedding"/> in front of the conditional bijector <paramref name="inner"/>.</summary>
    /// <param name="inner">A conditional bijector whose ContextDimension is the embedding's EmbeddingDimension.</param>
    /// <param name="embedding">The context embedding, trained with the bijector.</param>
    /// <param name="standardize">Standardize the raw context from the first data (see the remarks). Default true; false
    /// fixes m = 0, s = 1.</param>
    /// <exception cref="ArgumentException"><paramref name="inner"/> takes no context, or a context of another width than
    /// the embedding gives.</exception>
    public EmbeddedContext(IBijector<T> inner, IContextEmbedding<T> embedding, bool standardize = true)
        : base(CheckedDimension(inner, embedding), embedding.ContextDimension)
    {
        Inner = inner;
        Embedding = embedding;
        _standardization = new FeatureStandardization<T>(embedding.ContextDimension, isInitialized: !standardize);
        Parameters = [.. inner.Parameters, .. embedding.Parameters];
    }

    /// <summary>The conditional bijector that receives the embedded context.</summary>
    public IBijector<T> Inner { get; }

    /// <summary>The context embedding.</summary>
    public IContextEmbedding<T> Embedding { get; }

    /// <summary>m, the raw context's per-feature mean subtracted before embedding (0 until initialized).</summary>
    public ReadOnlySpan<T> ContextMean => _standardization.Mean;

    /// <summary>s, the raw context's per-feature scale divided out before embedding (1 until initialized).</summary>
    public ReadOnlySpan<T> ContextScale => _standardization.Scale;

    /// <summary>Whether m and s are settled: set from data, adopted, or fixed by <c>standardize: false</c>. It becomes
    /// true once; saved with the flow.</summary>
    public bool IsStandardizationInitialized => _standardization.Initialization.IsInitialized;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    DataInitialization IInitializesFromData.Initialization => _standardization.Initialization;

    /// <summary>Sets m and s from <paramref name="context"/> now, as the first inverse call would from its batch: the whole
    /// training context gives the most accurate standardization.</summary>
    /// <param name="context">n × ContextDimension raw contexts, n &gt; 0, all finite.</param>
    /// <exception cref="ArgumentException"><paramref name="context"/> has the wrong width, no rows or a non-finite value.</exception>
    /// <exception cref="InvalidOperationException">The standardization is already initialized.</exception>
    public void InitializeStandardization(T[,] context)
    {
        ReadOnlySpan<T> rows = Batch.InitializationRows(context, ContextDimension, nameof(context));
        if (IsStandardizationInitialized)
        {
            throw new InvalidOperationException($"The context standardization of {this} is already initialized; it is set once.");
        }

        _standardization.InitializeFrom(rows);
    }

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "EmbeddedContext",
        typeof(EmbeddedContext<T>),
        (b, w) =>
        {
            var embedded = (EmbeddedContext<T>)b;
            w.Part("inner", embedded.Inner);
            w.Embedding("embedding", embedded.Embedding);
            embedded._standardization.Write(w, "standardizationInitialized", "contextMean", "contextScale");
        },
        r =>
        {
            var embedded = new EmbeddedContext<T>(r.Part("inner"), r.Embedding("embedding"));
            embedded._standardization.Read(r, "standardizationInitialized", "contextMean", "contextScale");
            return embedded;
        },
        // The inner bijector saves its own parameters in its part; this object stores the embedding's.
        StoredParameters: (b, _) => ((EmbeddedContext<T>)b).Embedding.Parameters);

    /// <inheritdoc/>
    public override string ToString() => $"EmbeddedContext(inner: {Inner}, embedding: {Embedding})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
    {
        _standardization.Initialization.OnForward(tape);
        return Inner.Forward(tape, z, Embed(tape, context!));
    }

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
    {
        if (_standardization.Initialization.OnInverse(tape, context!.Rows))
        {
            _standardization.InitializeFrom(context.Values);
        }

        return Inner.Inverse(tape, x, Embed(tape, context!));
    }

    private Node<T> Embed(Tape<T> tape, Node<T> context)
    {
        return Embedding.Apply(tape, _standardization.Standardize(tape, context));
    }

    private static int CheckedDimension(IBijector<T> inner, IContextEmbedding<T> embedding)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(embedding);
        if (inner.ContextDimension == 0)
        {
            throw new ArgumentException($"inner ({inner}) takes no context; an embedded context needs a conditional bijector.", nameof(inner));
        }

        if (inner.ContextDimension != embedding.EmbeddingDimension)
        {
            throw new ArgumentException(
                $"inner ({inner}) has ContextDimension {inner.ContextDimension} but the embedding gives {embedding.EmbeddingDimension} features; they must agree.",
                nameof(embedding));
        }

        return inner.Dimension;
    }
}
