using System.Runtime.Intrinsics;
using Flows.Numerics;

namespace Flows.Tests.Numerics;

/// <summary>The inlined exponential of the spline's softmax against <see cref="Math.Exp"/>.</summary>
public sealed class InlinedExpTests
{
    [Fact]
    public void Double_IsWithinTwoUlpOfMathExp_DownToMinus708()
    {
        var random = new Random(21);
        double[] points = [0, -0.0, -1e-300, -1e-17, -0.5 * Math.Log(2), -Math.Log(2), -1, -20, -700, -708,
            .. Enumerable.Range(0, 40_000).Select(i => -(i % 2 == 0 ? 1.0 : 708.0) * random.NextDouble())];
        foreach (double x in points)
        {
            double expected = Math.Exp(x);
            double actual = InlinedExp.NonPositive(Vector256.Create(x))[0];
            Assert.True(Math.Abs(actual - expected) <= 2 * (Math.BitIncrement(expected) - expected), $"exp({x:R}): {actual:R}, Math.Exp {expected:R}");
        }
    }

    [Fact]
    public void Double_HoldsAtExpMinus708BelowIt_AndKeepsNaN()
    {
        Vector256<double> result = InlinedExp.NonPositive(Vector256.Create(-709.0, -1e4, double.NegativeInfinity, double.NaN));
        double floor = InlinedExp.NonPositive(Vector256.Create(-708.0))[0];
        Assert.Equal(floor, result[0]);
        Assert.Equal(floor, result[1]);
        Assert.Equal(floor, result[2]);
        Assert.True(double.IsNaN(result[3]));
        Assert.InRange(floor, 3e-308, 4e-308);
    }

    [Fact]
    public void Float_IsWithinFourUlpOfMathExp()
    {
        var random = new Random(22);
        foreach (float x in Enumerable.Range(0, 10_000).Select(_ => (float)(-100 * random.NextDouble())))
        {
            double expected = Math.Exp(x);
            float actual = InlinedExp.NonPositive(Vector256.Create(x))[0];
            Assert.True(Math.Abs(actual - expected) <= (4.8e-7 * expected) + float.Epsilon, $"exp({x:R}): {actual:R}, Math.Exp {expected:R}");
        }
    }
}
