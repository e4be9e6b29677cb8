using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Tests.Testing;
using Flows.Variational;

namespace Flows.Tests.Variational;

public sealed class AmortizedRadialTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("AmortizedRadial(d=1, context=2)", s => BijectorCases.Randomized(new FixedContext(new AmortizedRadial<double>(1, 2), [0.7, -1.3]), s), OutputRange.Real, 1e3),
        new("AmortizedRadial(d=3, context=2)", s => BijectorCases.Randomized(new FixedContext(new AmortizedRadial<double>(3, 2), [0.7, -1.3]), s), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("AmortizedRadial", () => new AmortizedRadial<T>(3, 2, seed: 2)),
    ];

    [Fact]
    public void Constructor_ThrowsForNonPositiveContextDimension() =>
        Assert.Throws<ArgumentOutOfRangeException>("contextDimension", () => new AmortizedRadial<double>(2, 0));

    [Fact]
    public void ToString_IsConstructorLike() => Assert.Equal("AmortizedRadial(dimension: 3, contextDimension: 2)", new AmortizedRadial<double>(3, 2).ToString());

    [Fact]
    public void ZeroContext_GivesTheIdentity()
    {
        var layer = new AmortizedRadial<double>(3, 2, seed: 1);
        double[,] z = TestData.StandardNormal(rows: 8, columns: 3, seed: 2);

        (double[,] x, double[] logDet) = layer.Forward(z, new double[8, 2]);

        AssertClose.Bitwise(z, x);
        Assert.All(logDet, v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void EachRow_IsTheRadialMapOfItsOwnParameters()
    {
        const int d = 3;
        var layer = BijectorCases.Randomized(new AmortizedRadial<double>(d, 2, seed: 1), seed: 3);
        double[,] context = TestData.StandardNormal(rows: 6, columns: 2, seed: 4);
        double[,] z = TestData.StandardNormal(rows: 6, columns: d, seed: 5);

        (double[,] x, double[] logDet) = layer.Forward(z, context);
        (double[,] zAgain, double[] inverseLogDet) = layer.Inverse(x, context);

        for (int i = 0; i < 6; i++)
        {
            // Row i's raw parameters A hᵢ + c, written into an unconditional radial layer: an independent path to row i.
            var radial = new Radial<double>(d);
            double[] raw = new double[d + 2];
            for (int p = 0; p < raw.Length; p++)
            {
                raw[p] = layer.HeadBias.Values[p] + (layer.HeadWeight.Values[p * 2] * context[i, 0]) + (layer.HeadWeight.Values[(p * 2) + 1] * context[i, 1]);
            }

            raw.AsSpan(0, d).CopyTo(radial.Center.Values);
            radial.Alpha.Values[0] = raw[d];
            radial.Beta.Values[0] = raw[d + 1];
            (double[,] expected, double[] expectedLogDet) = radial.Forward(TestData.AsRow(TestData.Row(z, i)));
            AssertClose.All(TestData.Row(expected, 0), TestData.Row(x, i), 1e-13, $"row {i}");
            Assert.Equal(expectedLogDet[0], logDet[i], 1e-13);
        }

        AssertClose.All(z, zAgain, 1e-10, "inverse");
        AssertClose.All(logDet, [.. inverseLogDet.Select(v => -v)], 1e-10, "log-dets");
    }
}
