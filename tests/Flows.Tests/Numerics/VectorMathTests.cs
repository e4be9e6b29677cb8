using System.Runtime.Intrinsics;
using Flows.Numerics;

namespace Flows.Tests.Numerics;

/// <summary>Our vector exp against Math.Exp: accuracy over the whole range, the special values, and lane independence.</summary>
public sealed class VectorMathTests
{
    [Fact]
    public void Exp_Double_IsWithinOneUlpOfMathExp_FromUnderflowToOverflow()
    {
        var random = new Random(1);
        double[] x = [.. Enumerable.Range(0, 400_000).Select(i => (i % 4) switch
        {
            0 => -760 + (1480 * random.NextDouble()),       // the whole range, past both ends
            1 => 4 * (random.NextDouble() - 0.5),          // around 0
            2 => Math.Round(1000 * (random.NextDouble() - 0.5)) * Math.Log(2) * 0.5, // near multiples of ln 2 / 2
            _ => -745.2 + (3 * random.NextDouble()),        // the subnormal results
        })];
        double worst = 0;
        for (int i = 0; i < x.Length; i += 4)
        {
            Vector256<double> y = VectorMath.Exp(Vector256.Create(x[i], x[i + 1], x[i + 2], x[i + 3]));
            for (int lane = 0; lane < 4; lane++)
            {
                double expected = Math.Exp(x[i + lane]);
                double ulp = expected == 0 ? double.Epsilon : Math.BitIncrement(expected) - expected;
                double error = double.IsInfinity(expected) ? (y[lane] == expected ? 0 : double.PositiveInfinity) : Math.Abs(y[lane] - expected) / ulp;
                worst = Math.Max(worst, error);
            }
        }

        Assert.True(worst <= 1, $"worst error {worst} ulp");
    }

    [Fact]
    public void Exp_Single_IsWithinOneUlpOfTheRoundedExactValue()
    {
        var random = new Random(2);
        float[] x = [.. Enumerable.Range(0, 400_000).Select(i => (float)((i % 2) == 0 ? -110 + (205 * random.NextDouble()) : 4 * (random.NextDouble() - 0.5)))];
        double worst = 0;
        for (int i = 0; i < x.Length; i += 8)
        {
            Vector256<float> y = VectorMath.Exp(Vector256.Create(x.AsSpan(i, 8)));
            for (int lane = 0; lane < 8; lane++)
            {
                float expected = (float)Math.Exp(x[i + lane]);
                float ulp = expected == 0 ? float.Epsilon : MathF.BitIncrement(expected) - expected;
                double error = float.IsInfinity(expected) ? (y[lane] == expected ? 0 : double.PositiveInfinity) : Math.Abs(y[lane] - expected) / ulp;
                worst = Math.Max(worst, error);
            }
        }

        Assert.True(worst <= 1, $"worst error {worst} ulp");
    }

    [Fact]
    public void Exp_SpecialValues()
    {
        Vector256<double> y = VectorMath.Exp(Vector256.Create(double.NegativeInfinity, double.PositiveInfinity, double.NaN, 0.0));
        Assert.Equal([0.0, double.PositiveInfinity, double.NaN, 1.0], [y[0], y[1], y[2], y[3]]);
        y = VectorMath.Exp(Vector256.Create(-1e300, 1e300, 709.78, -744.4));
        Assert.Equal([0.0, double.PositiveInfinity, Math.Exp(709.78), double.Epsilon], [y[0], y[1], y[2], y[3]]);
        Vector256<float> f = VectorMath.Exp(Vector256.Create(float.NegativeInfinity, float.PositiveInfinity, float.NaN, 0f, -1e30f, 1e30f, 88.7f, -87f));
        Assert.Equal([0f, float.PositiveInfinity, float.NaN, 1f, 0f, float.PositiveInfinity, (float)Math.Exp(88.7f), (float)Math.Exp(-87f)],
            [f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]]);
    }

    [Fact]
    public void Exp_LaneResultsDoNotDependOnTheOtherLanes()
    {
        double[] values = [-3.7, 0.25, -700.1, -745.0, 12.5, 709.5];
        double[] neighbours = [double.NaN, double.NegativeInfinity, double.PositiveInfinity, -1e300, 1e300, 0];
        foreach (double value in values)
        {
            long alone = BitConverter.DoubleToInt64Bits(VectorMath.Exp(Vector256.Create(value))[0]);
            foreach (double neighbour in neighbours)
            {
                for (int lane = 0; lane < 4; lane++)
                {
                    double[] lanes = [neighbour, neighbour, neighbour, neighbour];
                    lanes[lane] = value;
                    Assert.Equal(alone, BitConverter.DoubleToInt64Bits(VectorMath.Exp(Vector256.Create(lanes))[lane]));
                }
            }
        }

        float[] singles = [-3.7f, 0.25f, -90.1f, -103.5f, 12.5f, 88.5f];
        float[] singleNeighbours = [float.NaN, float.NegativeInfinity, float.PositiveInfinity, -1e30f, 1e30f, 0];
        foreach (float value in singles)
        {
            int alone = BitConverter.SingleToInt32Bits(VectorMath.Exp(Vector256.Create(value))[0]);
            foreach (float neighbour in singleNeighbours)
            {
                for (int lane = 0; lane < 8; lane++)
                {
                    float[] lanes = [.. Enumerable.Repeat(neighbour, 8)];
                    lanes[lane] = value;
                    Assert.Equal(alone, BitConverter.SingleToInt32Bits(VectorMath.Exp(Vector256.Create(lanes))[lane]));
                }
            }
        }
    }
}
