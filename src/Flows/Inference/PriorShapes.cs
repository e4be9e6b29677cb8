using System.Numerics;
using Flows.Numerics;

namespace Flows.Inference;

// The shape check that every prior's DensityLn starts with.
internal static class PriorShapes
{
    public static int Check<T>(ReadOnlySpan<T> theta, Span<T> destination, int dimension) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = Batch.RowCount(theta.Length, dimension, nameof(theta));
        if (destination.Length != rows)
        {
            throw new ArgumentException($"destination has {destination.Length} elements but theta has {rows} rows.", nameof(destination));
        }

        return rows;
    }
}
