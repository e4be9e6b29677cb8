using Flows.Autodiff;
using Flows.Neural;

namespace Flows.Tests.Autodiff;

/// <summary>A masked linear layer: its 0/1 mask is checked, and its weight gradient accumulates across passes.</summary>
public sealed class MaskedLinearTests
{
    [Fact]
    public void Constructor_RefusesAMaskEntryOtherThanZeroOrOne()
    {
        var e = Assert.Throws<ArgumentException>(() => new Linear<double>("l", 3, 2, seed: 1, mask: [1, 0, 1, 0.5, 1, 1]));
        Assert.Equal("mask", e.ParamName);
        Assert.Contains("mask[3]", e.Message, StringComparison.Ordinal);
    }

    // The backward pass sets the gradient outside the mask to zero rather than multiplying by the mask: two passes without
    // zeroing in between must still give exactly twice one pass, for a staircase and a scattered mask.
    [Theory]
    [InlineData(new double[] { 1, 0, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1 })]
    [InlineData(new double[] { 1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 1 })]
    public void WeightGradient_AccumulatesAcrossPasses_AndIsZeroOutsideTheMask(double[] mask)
    {
        var layer = new Linear<double>("l", 3, 4, seed: 2, mask: mask);
        var random = new Random(3);
        for (int i = 0; i < layer.Weight.Values.Length; i++)
        {
            layer.Weight.Values[i] = random.NextDouble() - 0.5; // nonzero outside the mask too
        }

        double[] x = [.. Enumerable.Range(0, 15).Select(_ => random.NextDouble() - 0.5)];
        double[] once = Pass(layer, x);
        double[] twice = Pass(layer, x);

        for (int i = 0; i < mask.Length; i++)
        {
            Assert.Equal(mask[i] == 0 ? 0 : 2 * once[i], twice[i]);
            if (mask[i] == 0)
            {
                Assert.Equal(0, once[i]);
            }
        }
    }

    // One forward and backward pass of Σ y² on a fresh tape; the weight gradient accumulates, it is not zeroed here.
    private static double[] Pass(Linear<double> layer, double[] x)
    {
        var tape = new Tape<double>();
        Node<double> y = layer.Apply(tape, tape.Constant(x, 5, 3));
        tape.Backward(tape.Sum(tape.Multiply(y, y)));
        return [.. layer.Weight.Gradients];
    }
}
