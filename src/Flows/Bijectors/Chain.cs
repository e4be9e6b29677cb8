using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// The composition of bijectors, applied in the order given: <c>Chain(b₁, …, b_K).Forward(z) = b_K(… b₁(z))</c>, so
/// b₁ sits next to the base distribution and b_K next to the data (the order of zuko and Pyro; TFP's Chain lists
/// them the other way round).
/// </summary>
/// <remarks>
/// log-determinants add up; <see cref="Bijector{T}.Inverse"/> runs the parts in reverse order. A chain may mix
/// conditional parts with unconditional ones (permutations, normalizations, elementwise layers): its
/// <see cref="Bijector{T}.ContextDimension"/> is that of its conditional parts, which must agree, and the context is
/// passed only to the parts that take one.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class Chain<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IBijector<T>[] _parts;

    /// <summary>Composes <paramref name="parts"/>, the first next to the base distribution.</summary>
    /// <param name="parts">At least one bijector, all of one dimension; the conditional ones of one context dimension.</param>
    /// <exception cref="ArgumentException">No parts, parts whose dimensions differ, or conditional parts whose context dimensions differ.</exception>
    public Chain(params IReadOnlyList<IBijector<T>> parts) : base(FirstDimension(parts), CommonContextDimension(parts))
    {
        for (int i = 0; i < parts.Count; i++)
        {
            if (parts[i].Dimension != Dimension)
            {
                throw new ArgumentException(
                    $"parts[{i}] ({parts[i]}) has Dimension {parts[i].Dimension}; parts[0] has {Dimension}.",
                    nameof(parts));
            }
        }

        _parts = [.. parts];
        Parameters = [.. _parts.SelectMany(p => p.Parameters)];
    }

    /// <summary>The parts, the first next to the base distribution.</summary>
    public IReadOnlyList<IBijector<T>> Parts => _parts;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "Chain",
        typeof(Chain<T>),
        (b, w) => w.Parts("parts", ((Chain<T>)b).Parts),
        r => new Chain<T>(r.Parts("parts")),
        IsComposite: true);

    /// <inheritdoc/>
    public override string ToString() => $"Chain({string.Join(", ", _parts.Select(p => p.ToString()))})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
    {
        (Node<T> output, Node<T> logDet) = _parts[0].Forward(tape, z, ContextOf(_parts[0], context));
        for (int i = 1; i < _parts.Length; i++)
        {
            (output, Node<T> partLogDet) = _parts[i].Forward(tape, output, ContextOf(_parts[i], context));
            logDet = tape.Add(logDet, partLogDet);
        }

        return (output, logDet);
    }

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
    {
        (Node<T> output, Node<T> logDet) = _parts[^1].Inverse(tape, x, ContextOf(_parts[^1], context));
        for (int i = _parts.Length - 2; i >= 0; i--)
        {
            (output, Node<T> partLogDet) = _parts[i].Inverse(tape, output, ContextOf(_parts[i], context));
            logDet = tape.Add(logDet, partLogDet);
        }

        return (output, logDet);
    }

    private static Node<T>? ContextOf(IBijector<T> part, Node<T>? context) => part.ContextDimension == 0 ? null : context;

    // The context dimension shared by the conditional parts, or 0 when every part is unconditional.
    private static int CommonContextDimension(IReadOnlyList<IBijector<T>> parts)
    {
        int common = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(parts[i], $"{nameof(parts)}[{i}]");
            int contextDimension = parts[i].ContextDimension;
            if (contextDimension != 0 && common != 0 && contextDimension != common)
            {
                throw new ArgumentException(
                    $"parts[{i}] ({parts[i]}) has ContextDimension {contextDimension}, but an earlier conditional part has {common}.",
                    nameof(parts));
            }

            common = Math.Max(common, contextDimension);
        }

        return common;
    }

    private static int FirstDimension(IReadOnlyList<IBijector<T>> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0)
        {
            throw new ArgumentException("A chain needs at least one bijector.", nameof(parts));
        }

        ArgumentNullException.ThrowIfNull(parts[0], "parts[0]");
        return parts[0].Dimension;
    }
}
