using System.Numerics;
using System.Runtime.InteropServices;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Numerics;
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
        // At both vector widths (VectorWidth; 512 bits runs in software where the hardware lacks AVX-512).
        foreach (int bits in new[] { 256, 512 })
        {
            using VectorWidth.Scope width = VectorWidth.Force(bits);
            ColumnsMatchRows<double>(features, inverse: false);
            ColumnsMatchRows<double>(features, inverse: true);
            ColumnsMatchRows<float>(features, inverse: false);
            ColumnsMatchRows<float>(features, inverse: true);
        }
    }

    // Issue 16 part 4: the op at 512 bits against the formula, x = z·e^s + μ (or (x − μ)·e^−s) with s = b·tanh(r/b), and
    // its gradients against those of the 256-bit path, at every width of row from 1 to 40 (whole 512-bit vectors, a
    // 256-bit one after them, gathered remainders); where both widths run natively, every bit agrees.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void At512Bits_MatchesTheFormula_AndThe256BitPath(bool inverse)
    {
        for (int d = 1; d <= 40; d++)
        {
            WidthsAgree<double>(d, inverse, 1e-14);
            WidthsAgree<float>(d, inverse, 2e-6);
        }
    }

    private static void WidthsAgree<T>(int d, bool inverse, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int rows = 7;
        var random = new Random(Seeds.Of(typeof(T), d, inverse, 512));
        T[] input = [.. Enumerable.Range(0, rows * d).Select(_ => T.CreateTruncating(4 * (random.NextDouble() - 0.5)))];
        T[] parameters = [.. Enumerable.Range(0, rows * 2 * d).Select(_ => T.CreateTruncating(6 * (random.NextDouble() - 0.5)))];
        T[] outputGradient = [.. Enumerable.Range(0, rows * d).Select(_ => T.CreateTruncating(random.NextDouble() - 0.5))];
        T bound = T.CreateTruncating(3.0);
        T[][] results = new T[2][];
        for (int w = 0; w < 2; w++)
        {
            using VectorWidth.Scope width = VectorWidth.Force(w == 0 ? 256 : 512);
            var tape = new Tape<T>();
            Node<T> x = tape.Variable(input, rows, d);
            Node<T> p = tape.Variable(parameters, rows, 2 * d);
            var (output, logDet) = tape.ConditionalAffine(x, p, bound, inverse);
            Node<T> loss = tape.Add(tape.Sum(tape.Multiply(output, tape.Constant(outputGradient, rows, d))), tape.Sum(logDet));
            tape.Backward(loss);
            results[w] = [.. output.Values, .. logDet.Values, .. x.Gradients, .. p.Gradients];
            if (w == 1)
            {
                for (int i = 0; i < rows; i++)
                {
                    double sum = 0;
                    for (int j = 0; j < d; j++)
                    {
                        double s = 3.0 * Math.Tanh(double.CreateTruncating(parameters[(2 * i * d) + d + j]) / 3.0);
                        double mu = double.CreateTruncating(parameters[(2 * i * d) + j]);
                        double z = double.CreateTruncating(input[(i * d) + j]);
                        double expected = inverse ? (z - mu) * Math.Exp(-s) : (z * Math.Exp(s)) + mu;
                        Assert.Equal(expected, double.CreateTruncating(output.Values[(i * d) + j]), tolerance * (1 + Math.Abs(expected)));
                        sum += inverse ? -s : s;
                    }

                    Assert.Equal(sum, double.CreateTruncating(logDet.Values[i]), tolerance * (1 + Math.Abs(sum)) * d);
                }
            }
        }

        for (int k = 0; k < results[0].Length; k++)
        {
            double a = double.CreateTruncating(results[0][k]);
            double b = double.CreateTruncating(results[1][k]);
            Assert.True(Vector512IsNative ? results[0][k].Equals(results[1][k]) : Math.Abs(a - b) <= tolerance * (1 + Math.Abs(a)),
                $"d = {d}, inverse = {inverse}, {typeof(T).Name}: value {k} is {a:R} at 256 bits and {b:R} at 512.");
        }
    }

    private static bool Vector512IsNative => VectorWidth.Hardware == 512;

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
