using System.Numerics;
using Flows.Autodiff;

namespace Flows.Distributions;

/// <summary>
/// A distribution over rows of <see cref="Dimension"/> features, optionally conditioned on rows of
/// <see cref="ContextDimension"/> features: log-density and sampling on arrays (MathNet's words) and on a tape.
/// </summary>
/// <remarks>
/// <para>The base distributions (<see cref="StandardNormal{T}"/>, <see cref="DiagonalNormal{T}"/>,
/// <see cref="StudentT{T}"/>, <see cref="UniformBox{T}"/>, <see cref="GaussianMixture{T}"/>), <see cref="Mixture{T}"/> and
/// <see cref="TransformedDistribution{T}"/> implement it, so any of them can be the base of a flow: a flow can serve as the
/// base of another flow, its parameters trained with the outer ones.</para>
/// <para>The array-level members check their inputs and evaluate with recording off. The tape-level members are what a
/// flow and the training loops build on: they check shapes only and are differentiable in <see cref="Parameters"/>
/// (sampling is reparameterized, except in a <see cref="StudentT{T}"/>'s degrees of freedom and in a mixture's weights,
/// whose pathwise gradient is zero; those classes say so).</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public interface IDistribution<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Features per sample.</summary>
    int Dimension { get; }

    /// <summary>Context features per sample; 0 for an unconditional distribution.</summary>
    int ContextDimension { get; }

    /// <summary>The trainable parameters (none for a standard normal).</summary>
    IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>log p(x) for each row of <paramref name="x"/>, written to <paramref name="destination"/>.</summary>
    /// <param name="x">n × Dimension values, row-major, all finite.</param>
    /// <param name="destination">n values.</param>
    /// <param name="context">n × ContextDimension values, row-major; empty when unconditional.</param>
    /// <exception cref="ArgumentException">A shape is wrong or <paramref name="x"/> holds a non-finite value.</exception>
    void DensityLn(ReadOnlySpan<T> x, Span<T> destination, ReadOnlySpan<T> context = default);

    /// <summary>Fills <paramref name="destination"/> with samples, row-major.</summary>
    /// <param name="destination">n × Dimension values.</param>
    /// <param name="random">The source of randomness.</param>
    /// <param name="context">n × ContextDimension values, row-major; empty when unconditional.</param>
    /// <exception cref="ArgumentException">A shape is wrong.</exception>
    void Sample(Span<T> destination, Random random, ReadOnlySpan<T> context = default);

    /// <summary>log p(x) per row on a tape: n × Dimension → n × 1.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="x">n × Dimension data.</param>
    /// <param name="context">n × ContextDimension, or null when unconditional.</param>
    Node<T> DensityLn(Tape<T> tape, Node<T> x, Node<T>? context = null);

    /// <summary>Draws samples and their log-densities on a tape, differentiable in the parameters.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="count">Samples. Range: ≥ 0; equal to the context's rows when conditional.</param>
    /// <param name="random">The source of randomness.</param>
    /// <param name="context">count × ContextDimension, or null when unconditional.</param>
    /// <returns>The count × Dimension samples and their count × 1 log-densities.</returns>
    (Node<T> X, Node<T> DensityLn) SampleWithDensityLn(Tape<T> tape, int count, Random random, Node<T>? context = null);
}
