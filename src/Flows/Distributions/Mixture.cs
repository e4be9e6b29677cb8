using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;

namespace Flows.Distributions;

/// <summary>
/// A finite mixture of distributions with learned weights: <c>p(x) = Σₖ wₖ pₖ(x)</c>, <c>w = softmax(logits)</c>, over
/// any <see cref="IDistribution{T}"/> components (flows, normals, other mixtures).
/// </summary>
/// <remarks>
/// <para><b>Density.</b> log p(x) = log Σₖ exp(log wₖ + log pₖ(x)), computed stably on the tape
/// (<see cref="TapeOps.WeightedLogSumExp{T}"/>), exact, and differentiable in the logits and in every component's
/// parameters. All-zero logits give equal weights. The logits are exempt from weight decay; the components'
/// parameters are decayed or not as each component says (a fit's size-adapted decay pulls a component flow's affine
/// shift toward 0, which can hold separated components together: set <c>AdamOptions.WeightDecay</c> to 0 then).</para>
/// <para><b>Sampling.</b> Each row picks a component with probability wₖ (one uniform draw per row, in row order), then
/// the rows of each component are drawn by that component's own sampler (component 0 first) and put back in row order.
/// Sampling is reparameterized in each component's parameters, as far as the component's own sampling is, but
/// <b>not in the weights</b>: the choice of component is discrete, so a gradient through the samples never reaches the
/// logits. The log-densities that <see cref="SampleWithDensityLn"/> returns are those of the drawn values, so the logits
/// get the gradient of log q(x) at fixed x; a variational objective that needs the full pathwise gradient in the
/// weights (a score-function term) does not get it from this sampler.</para>
/// <para><b>Fitting.</b> <c>MaximumLikelihood.Fit</c> fits a mixture as it fits a flow (the same loop, on a flow with
/// this mixture as its base and the identity permutation as its bijector); the data-initialized layers of component
/// flows (a Gaussian start, ActNorm) are initialized from the training data, as in a single flow. Distinct components
/// that start identical stay identical under maximum likelihood (their gradients are equal): start them differently
/// (different seeds).</para>
/// <para><b>Threads.</b> The array-level members hold the evaluation locks of every component flow, as a flow's do.</para>
/// <para><b>Defensive shares.</b> A component flow's automatic <see cref="DefensiveShare"/> stays 0 (the mixture's fit
/// fits the mixture, not each component's Gaussian), and a fixed one is refused.</para>
/// <para><b>Persistence.</b> A mixture is saved as the base of a flow (<c>FlowSerializer</c> writes each component
/// nested); to save a mixture alone, save <c>new TransformedDistribution&lt;T&gt;(mixture, identity permutation)</c>.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Mixture<T> : IDistribution<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IDistribution<T>[] _components;
    private readonly Parameter<T> _logits;
    private TransformedDistribution<T>? _asFlow;

    /// <summary>Creates the mixture of <paramref name="components"/> with equal weights (all-zero logits).</summary>
    /// <param name="components">At least one distribution; all of one Dimension and one ContextDimension.</param>
    /// <exception cref="ArgumentException">There are no components, one is null, or their dimensions differ.</exception>
    public Mixture(params IReadOnlyList<IDistribution<T>> components)
    {
        ArgumentNullException.ThrowIfNull(components);
        if (components.Count == 0)
        {
            throw new ArgumentException("components is empty; a mixture needs at least one component.", nameof(components));
        }

        for (int k = 0; k < components.Count; k++)
        {
            if (components[k] is null)
            {
                throw new ArgumentException($"components[{k}] is null.", nameof(components));
            }

            if (components[k] is TransformedDistribution<T> { DefensiveShare: { IsAutomatic: false, Weight: > 0 } })
            {
                throw new ArgumentException(
                    $"components[{k}] is a flow with a fixed defensive share; a mixture's fit does not fit the components' defensive Gaussians. " +
                    "Build the component with DefensiveShare.None.", nameof(components));
            }

            if (components[k].Dimension != components[0].Dimension || components[k].ContextDimension != components[0].ContextDimension)
            {
                throw new ArgumentException(
                    $"components[{k}] has Dimension {components[k].Dimension} and ContextDimension {components[k].ContextDimension}, " +
                    $"but components[0] has {components[0].Dimension} and {components[0].ContextDimension}; every component must match.",
                    nameof(components));
            }
        }

        _components = [.. components];
        Dimension = _components[0].Dimension;
        ContextDimension = _components[0].ContextDimension;
        // The weights are a distribution's, not a network's: weight decay would pull them toward equal weights.
        _logits = new Parameter<T>("logits", 1, _components.Length) { ExemptFromWeightDecay = true };
        Parameters = [.. new[] { _logits }.Concat(_components.SelectMany(c => c.Parameters)).Distinct()];
    }

    /// <inheritdoc/>
    public int Dimension { get; }

    /// <inheritdoc/>
    public int ContextDimension { get; }

    /// <summary>The components, in the order of <see cref="Logits"/>.</summary>
    public IReadOnlyList<IDistribution<T>> Components => _components;

    /// <summary>The unnormalized log-weights, 1 × component count: <c>w = softmax(logits)</c>.</summary>
    public Parameter<T> Logits => _logits;

    /// <summary>The logits first, then every component's parameters (each once).</summary>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>The mixture weights <c>softmax(logits)</c>, summing to 1.</summary>
    public T[] Weights
    {
        get
        {
            var weights = new T[_components.Length];
            TapeOps.LogSoftmax<T>(_logits.Values, weights);
            for (int k = 0; k < weights.Length; k++)
            {
                weights[k] = T.Exp(weights[k]);
            }

            return weights;
        }
    }

    // The array-level door: a flow with this mixture as its base and the identity as its bijector, which checks inputs,
    // takes the locks of the component flows, evaluates in chunks, and is what Fit trains. Built on first use, as the
    // flow's constructor walks this mixture.
    internal TransformedDistribution<T> AsFlow
    {
        get
        {
            if (_asFlow is null)
            {
                var flow = new TransformedDistribution<T>(this, new Permutation<T>([.. Enumerable.Range(0, Dimension)]));
                Interlocked.CompareExchange(ref _asFlow, flow, null);
            }

            return _asFlow;
        }
    }

    /// <inheritdoc/>
    public Node<T> DensityLn(Tape<T> tape, Node<T> x, Node<T>? context = null)
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        if (x.Columns != Dimension)
        {
            throw new ArgumentException($"x has {x.Columns} columns but the mixture has Dimension {Dimension}.", nameof(x));
        }

        Node<T> logDensities = _components[0].DensityLn(tape, x, context);
        for (int k = 1; k < _components.Length; k++)
        {
            logDensities = tape.ConcatenateColumns(logDensities, _components[k].DensityLn(tape, x, context));
        }

        return tape.WeightedLogSumExp(logDensities, tape.Use(_logits));
    }

    /// <inheritdoc/>
    /// <remarks>Reparameterized in the components' parameters but not in the weights; see the class remarks.</remarks>
    public (Node<T> X, Node<T> DensityLn) SampleWithDensityLn(Tape<T> tape, int count, Random random, Node<T>? context = null)
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (context is not null && context.Rows != count)
        {
            throw new ArgumentException($"context has {context.Rows} rows but {count} samples were asked for.", nameof(context));
        }

        // Component of each row by inversion of the cumulative weights.
        T[] weights = Weights;
        var component = new int[count];
        var counts = new int[_components.Length];
        for (int i = 0; i < count; i++)
        {
            T u = T.CreateTruncating(random.NextDouble());
            int k = 0;
            T cumulative = weights[0];
            while (k < weights.Length - 1 && u >= cumulative)
            {
                k++;
                cumulative += weights[k];
            }

            component[i] = k;
            counts[k]++;
        }

        // Each component draws its rows; stacked component by component, then gathered back into row order.
        var position = new int[count];
        Node<T>? stacked = null;
        int offset = 0;
        for (int k = 0; k < _components.Length; k++)
        {
            if (counts[k] == 0)
            {
                continue;
            }

            var rows = new int[counts[k]];
            for (int i = 0, r = 0; i < count; i++)
            {
                if (component[i] == k)
                {
                    rows[r] = i;
                    position[i] = offset + r;
                    r++;
                }
            }

            Node<T>? componentContext = context is null ? null : tape.GatherRows(context, rows);
            Node<T> drawn = _components[k].SampleWithDensityLn(tape, counts[k], random, componentContext).X;
            stacked = stacked is null ? drawn : tape.ConcatenateRows(stacked, drawn);
            offset += counts[k];
        }

        Node<T> x = stacked is null ? tape.Allocate(0, Dimension) : tape.GatherRows(stacked, position);
        return (x, DensityLn(tape, x, context));
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">A parameter holds NaN or ±∞, or a component flow's data-initialized
    /// layer would initialize from too few rows (as for a flow).</exception>
    public void DensityLn(ReadOnlySpan<T> x, Span<T> destination, ReadOnlySpan<T> context = default)
        => AsFlow.DensityLn(x, destination, context);

    /// <summary>log p(x) for each row of <paramref name="x"/>.</summary>
    /// <param name="x">n × Dimension, all finite.</param>
    /// <param name="context">n × ContextDimension, or null when unconditional.</param>
    /// <exception cref="ArgumentException">A shape is wrong or <paramref name="x"/> holds a non-finite value.</exception>
    /// <exception cref="InvalidOperationException">A parameter holds NaN or ±∞.</exception>
    public T[] DensityLn(T[,] x, T[,]? context = null) => AsFlow.DensityLn(x, context);

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">A parameter holds NaN or ±∞.</exception>
    public void Sample(Span<T> destination, Random random, ReadOnlySpan<T> context = default)
        => AsFlow.Sample(destination, random, context);

    /// <summary>Draws <paramref name="count"/> samples.</summary>
    /// <param name="count">Samples. Range: ≥ 0.</param>
    /// <param name="random">The source of randomness.</param>
    /// <param name="context">count × ContextDimension, or null when unconditional.</param>
    /// <returns>count × Dimension samples.</returns>
    /// <exception cref="ArgumentException">A shape is wrong.</exception>
    /// <exception cref="InvalidOperationException">A parameter holds NaN or ±∞.</exception>
    public T[,] Sample(int count, Random random, T[,]? context = null) => AsFlow.Sample(count, random, context);

    /// <inheritdoc/>
    public override string ToString() => $"Mixture({string.Join(", ", _components.Select(c => c.ToString()))})";
}
