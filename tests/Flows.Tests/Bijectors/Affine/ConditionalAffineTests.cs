using System.Numerics;
using System.Runtime.InteropServices;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Tests.Testing;

namespace Flows.Tests.Autodiff;

/// <summary>The fused affine op's layouts: a column computed alone (as a sequential MADE pass does) gets the bits it
/// gets inside a whole row, whether that row fills vectors, leaves a padded remainder, or is narrower than a vector.</summary>
public sealed class ConditionalAffineTests
{
    // A column alone is narrower than a vector, so it takes the across-rows path; the whole rows take the per-row path
    // when d fills a vector (5, 6, 8, 19 in double; 8 and 19 in float), with a padded remainder for 5, 6 and 19.
    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(8)]
    [InlineData(19)]
    public void EachColumnAlone_GivesTheBitsOfTheWholeRow(int features)
    {
        ColumnsMatchRows<double>(features, inverse: false);
        ColumnsMatchRows<double>(features, inverse: true);
        ColumnsMatchRows<float>(features, inverse: false);
        ColumnsMatchRows<float>(features, inverse: true);
    }

    private static void ColumnsMatchRows<T>(int d, bool inverse) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int rows = 13;
        var random = new Random(Seeds.Of(typeof(T), d, inverse));
        T[] input = [.. Enumerable.Range(0, rows * d).Select(_ => T.CreateTruncating(4 * (random.NextDouble() - 0.5)))];
        T[] parameters = [.. Enumerable.Range(0, rows * 2 * d).Select(i => T.CreateTruncating(i % 11 == 0 ? 40 * (random.NextDouble() - 0.5) : 3 * (random.NextDouble() - 0.5)))];
        T bound = T.CreateTruncating(3.0);
        var tape = new Tape<T>(isRecording: false);
        var (whole, wholeLogDet) = tape.ConditionalAffine(tape.Constant(input, rows, d), tape.Constant(parameters, rows, 2 * d), bound, inverse);
        T[] expected = whole.Values.ToArray();
        T[] expectedLogDet = wholeLogDet.Values.ToArray();

        T[] columns = new T[rows * d];
        T[] logDetSums = new T[rows];
        for (int j = 0; j < d; j++)
        {
            T[] column = [.. Enumerable.Range(0, rows).Select(i => input[(i * d) + j])];
            T[] columnParameters = [.. Enumerable.Range(0, rows).SelectMany(i => new[] { parameters[(2 * i * d) + j], parameters[(2 * i * d) + d + j] })];
            var (single, singleLogDet) = tape.ConditionalAffine(tape.Constant(column, rows, 1), tape.Constant(columnParameters, rows, 2), bound, inverse);
            for (int i = 0; i < rows; i++)
            {
                columns[(i * d) + j] = single.Values[i];
                logDetSums[i] += singleLogDet.Values[i];
            }
        }

        Assert.Equal(MemoryMarshal.AsBytes<T>(expected).ToArray(), MemoryMarshal.AsBytes<T>(columns).ToArray());
        Assert.Equal(MemoryMarshal.AsBytes<T>(expectedLogDet).ToArray(), MemoryMarshal.AsBytes<T>(logDetSums).ToArray());
    }
}
