using System.Diagnostics;
using System.Numerics;

namespace Flows.Numerics;

internal static partial class Kernels
{
    /// <summary>
    /// The sum of each row of an n × d batch in column order from zero:
    /// <c>destination[i] = ((0 + x[i, 0]) + x[i, 1]) + … + x[i, d − 1]</c>.
    /// </summary>
    /// <remarks>
    /// The one place of the order in which the affine and monotone transforms sum a row's log-derivatives, and the default
    /// of <c>IConditionalTransform.SumLogDerivatives</c>, so that a row transformed a feature at a time (a sequential
    /// autoregressive pass) and the whole row get the same bits. Starting from zero turns a lone −0 into +0, as a sum does.
    /// </remarks>
    /// <param name="x">n × d, row-major.</param>
    /// <param name="columns">d. Range: ≥ 0.</param>
    /// <param name="destination">n.</param>
    public static void RowSumsInColumnOrder<T>(ReadOnlySpan<T> x, int columns, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(columns >= 0 && x.Length == destination.Length * columns);
        for (int i = 0; i < destination.Length; i++)
        {
            ReadOnlySpan<T> row = x.Slice(i * columns, columns);
            T sum = T.Zero;
            for (int j = 0; j < row.Length; j++)
            {
                sum += row[j];
            }

            destination[i] = sum;
        }
    }
}
