using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Tests.Autodiff;

/// <summary>
/// Backward zeroes gradient buffers lazily: a linear op's backward pass assigns into a gradient that is still zero and
/// adds into one another op has written, whichever runs first, and stale buffers from an earlier pass never leak.
/// </summary>
public sealed class LazyGradientZeroingTests
{
    // loss = Σ (x Wᵀ)² + Σ x³ with x a variable feeding both terms: ∂loss/∂x = 2 (x Wᵀ) W + 3 x². The linear op is
    // recorded first or last, so its backward pass runs last (adding) or first (assigning).
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AVariableFeedingALinearAndAnotherOp_GetsTheSumOfBoth_OnEveryBackwardPass(bool linearFirst)
    {
        const int n = 5, inputs = 3, outputs = 4;
        var random = new Random(7);
        double[] xs = [.. Enumerable.Range(0, n * inputs).Select(_ => random.NextDouble() - 0.5)];
        var w = new Parameter<double>("w", outputs, inputs);
        for (int i = 0; i < w.Values.Length; i++)
        {
            w.Values[i] = random.NextDouble() - 0.5;
        }

        var tape = new Tape<double>();
        for (int pass = 0; pass < 3; pass++)
        {
            tape.Reset();
            Node<double> x = tape.Variable<double>(xs, n, inputs);
            Node<double> linear, cube;
            if (linearFirst)
            {
                linear = SumOfSquares(tape, tape.Linear(x, tape.Use(w)));
                cube = tape.Sum(tape.Multiply(tape.Multiply(x, x), x));
            }
            else
            {
                cube = tape.Sum(tape.Multiply(tape.Multiply(x, x), x));
                linear = SumOfSquares(tape, tape.Linear(x, tape.Use(w)));
            }

            tape.Backward(tape.Add(linear, cube));

            for (int r = 0; r < n; r++)
            {
                for (int i = 0; i < inputs; i++)
                {
                    double expected = 3 * xs[(r * inputs) + i] * xs[(r * inputs) + i];
                    for (int o = 0; o < outputs; o++)
                    {
                        double y = 0;
                        for (int j = 0; j < inputs; j++)
                        {
                            y += xs[(r * inputs) + j] * w.Values[(o * inputs) + j];
                        }

                        expected += 2 * y * w.Values[(o * inputs) + i];
                    }

                    Assert.Equal(expected, x.Gradients[(r * inputs) + i], 1e-14);
                }
            }
        }
    }

    private static Node<double> SumOfSquares(Tape<double> tape, Node<double> y) => tape.Sum(tape.Multiply(y, y));

    // A backward pass that assigns skips the tiles of a masked weight's gradient wholly outside the mask, so what lies
    // there may be stale; zeroing outside a scattered mask must set it to 0, not multiply it by 0 (NaN · 0 is NaN).
    [Fact]
    public void ZeroOutside_OfAScatteredMask_SetsStaleNaNAndInfinityToZero()
    {
        double[] maskValues = [1, 0, 1, 0, 0, 1];
        var mask = new WeightMask<double>(maskValues, 2, 3);
        double[] matrix = [1.5, double.NaN, -2, double.PositiveInfinity, double.NaN, 3];

        mask.ZeroOutside(matrix);

        Assert.Equal([1.5, 0, -2, 0, 0, 3], matrix);
    }

    // A data-parallel block's own gradient of a masked weight is left stale outside the mask, and the reduction adds only
    // inside it. Over passes whose full-tile products write outside the mask, the gradient still reads as gᵀx ⊙ M, and
    // what the reduction is handed equals it inside the mask.
    [Fact]
    public void AMaskedWeightsOwnGradient_LeftStaleOutsideTheMask_ReadsAsTheMaskedGradient()
    {
        const int n = 7, inputs = 40, outputs = 36;
        var random = new Random(11);
        // A staircase mask: row o sees inputs [0, 1 + o) (its rows are bands), so tiles straddle its edge.
        double[] maskValues = new double[outputs * inputs];
        for (int o = 0; o < outputs; o++)
        {
            maskValues.AsSpan(o * inputs, 1 + o).Fill(1);
        }

        var mask = new WeightMask<double>(maskValues, outputs, inputs);
        Assert.True(mask.RowsAreBands);
        var w = new Parameter<double>("w", outputs, inputs);
        for (int i = 0; i < w.Values.Length; i++)
        {
            w.Values[i] = random.NextDouble() - 0.5;
        }

        var tape = new Tape<double>();
        tape.KeepOwnParameterGradients();
        for (int pass = 0; pass < 3; pass++)
        {
            double[] xs = [.. Enumerable.Range(0, n * inputs).Select(_ => random.NextDouble() - 0.5)];
            double[] rs = [.. Enumerable.Range(0, n * outputs).Select(_ => random.NextDouble() - 0.5)];
            tape.Reset();
            tape.ZeroOwnGradients();
            Node<double> weight = tape.Use(w);
            Node<double> y = tape.Linear(tape.Constant(xs, n, inputs), weight, bias: null, mask, relu: false);
            tape.Backward(tape.Sum(tape.Multiply(y, tape.Constant(rs, n, outputs))));

            // ∂loss/∂W[o, i] = Σ_r rs[r, o] · xs[r, i] inside the mask, 0 outside.
            var expected = new double[outputs * inputs];
            for (int o = 0; o < outputs; o++)
            {
                for (int i = 0; i <= o && i < inputs; i++)
                {
                    for (int r = 0; r < n; r++)
                    {
                        expected[(o * inputs) + i] += rs[(r * outputs) + o] * xs[(r * inputs) + i];
                    }
                }
            }

            ReadOnlySpan<double> raw = tape.OwnGradients(w, out WeightMask<double>? staleOutside);
            Assert.Same(mask, staleOutside);
            var reduced = new double[outputs * inputs];
            mask.AddInside(0, raw, reduced);
            AssertClose(expected, reduced);
            AssertClose(expected, weight.Gradients.ToArray());
            ReadOnlySpan<double> afterRead = tape.OwnGradients(w, out staleOutside);
            Assert.Null(staleOutside);
            AssertClose(expected, afterRead.ToArray());
        }

        static void AssertClose(double[] expected, double[] actual)
        {
            for (int k = 0; k < expected.Length; k++)
            {
                Assert.Equal(expected[k], actual[k], 1e-13);
            }
        }
    }

    // AddInside over any window of the flat matrix adds exactly the entries inside the mask.
    [Fact]
    public void AddInside_OverAnyWindow_AddsExactlyTheEntriesInsideTheMask()
    {
        const int outputs = 9, inputs = 11;
        var random = new Random(5);
        double[] maskValues = new double[outputs * inputs];
        for (int o = 0; o < outputs; o++)
        {
            int start = random.Next(inputs), end = start + random.Next(inputs - start + 1);
            maskValues.AsSpan((o * inputs) + start, end - start).Fill(1);
        }

        var mask = new WeightMask<double>(maskValues, outputs, inputs);
        double[] source = [.. Enumerable.Range(0, outputs * inputs).Select(_ => random.NextDouble() + 1)];
        for (int start = 0; start < outputs * inputs; start += 3)
        {
            for (int length = 0; start + length <= outputs * inputs; length += 7)
            {
                double[] destination = [.. Enumerable.Range(0, length).Select(k => (double)k)];
                mask.AddInside(start, source.AsSpan(start, length), destination);
                for (int k = 0; k < length; k++)
                {
                    Assert.Equal(k + (maskValues[start + k] * source[start + k]), destination[k]);
                }
            }
        }
    }
}
