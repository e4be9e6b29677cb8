using System.Numerics;
using System.Numerics.Tensors;

namespace Flows.Autodiff;

public static partial class TapeOps
{
    /// <summary>The same values, row-major, read as rows × columns: <c>y.Values = x.Values</c>.</summary>
    /// <remarks>How k importance samples of each of n rows, drawn as (n·k) × 1 with the samples of a row adjacent, become
    /// the n × k table a per-row log-sum-exp takes.</remarks>
    /// <param name="tape">The tape.</param>
    /// <param name="x">Any shape.</param>
    /// <param name="rows">Rows of the result. Range: ≥ 0.</param>
    /// <param name="columns">Columns of the result. Range: ≥ 0, rows × columns = the elements of x.</param>
    /// <returns>rows × columns.</returns>
    /// <exception cref="ArgumentException">rows × columns differs from the element count of <paramref name="x"/>.</exception>
    public static Node<T> Reshape<T>(this Tape<T> tape, Node<T> x, int rows, int columns) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        if ((long)rows * columns != x.Length)
        {
            throw new ArgumentException($"x is {x.Rows} × {x.Columns} = {x.Length} values, which cannot be read as {rows} × {columns}.", nameof(rows));
        }

        Node<T> y = tape.Allocate(rows, columns);
        x.Values.CopyTo(y.Values);
        tape.Record(ReshapeBackward<T>.Instance, y, x);
        return y;
    }

    private static class ReshapeBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Element k of the output is element k of the input.
        private static void Run(in TapeEntry<T> e)
        {
            if (e.Input0.RequiresGradient)
            {
                TensorPrimitives.Add(e.Input0.Gradients, e.Output.Gradients, e.Input0.Gradients);
            }
        }
    }
}
