using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>Array-level convenience for scripts and tests: run a bijector on a <c>T[,]</c> batch without a tape.</summary>
public static class BijectorExtensions
{
    /// <summary>Base → data on a batch: the outputs and log|det J| per row.</summary>
    /// <param name="bijector">The bijector.</param>
    /// <param name="z">n × Dimension.</param>
    /// <param name="context">n × ContextDimension, or null when unconditional.</param>
    /// <exception cref="ArgumentException">A shape does not match the bijector.</exception>
    public static (T[,] Output, T[] LogDet) Forward<T>(this IBijector<T> bijector, T[,] z, T[,]? context = null)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Run(bijector, z, context, inverse: false);

    /// <summary>Data → base on a batch: the outputs and log|det J| per row.</summary>
    /// <param name="bijector">The bijector.</param>
    /// <param name="x">n × Dimension.</param>
    /// <param name="context">n × ContextDimension, or null when unconditional.</param>
    /// <exception cref="ArgumentException">A shape does not match the bijector.</exception>
    public static (T[,] Output, T[] LogDet) Inverse<T>(this IBijector<T> bijector, T[,] x, T[,]? context = null)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Run(bijector, x, context, inverse: true);

    private static (T[,] Output, T[] LogDet) Run<T>(IBijector<T> bijector, T[,] input, T[,]? context, bool inverse)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(bijector);
        ArgumentNullException.ThrowIfNull(input);
        var tape = new Tape<T>(isRecording: false);
        Node<T> inputNode = tape.Constant(Batch.AsSpan(input), input.GetLength(0), input.GetLength(1));
        Node<T>? contextNode = context is null ? null : tape.Constant(Batch.AsSpan(context), context.GetLength(0), context.GetLength(1));
        (Node<T> output, Node<T> logDet) = inverse ? bijector.Inverse(tape, inputNode, contextNode) : bijector.Forward(tape, inputNode, contextNode);
        var result = new T[output.Rows, output.Columns];
        output.Values.CopyTo(Batch.AsSpan(result));
        return (result, logDet.Values.ToArray());
    }
}
