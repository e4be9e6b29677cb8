using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Tests.Testing;
using Flows.Variational;

namespace Flows.Tests.Variational;

public sealed class AmortizedPlanarTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("AmortizedPlanar(d=1, context=2)", s => BijectorCases.Randomized(new FixedContext(new AmortizedPlanar<double>(1, 2), [0.7, -1.3]), s), OutputRange.Real, 1e3),
        new("AmortizedPlanar(d=3, context=2)", s => BijectorCases.Randomized(new FixedContext(new AmortizedPlanar<double>(3, 2), [0.7, -1.3]), s), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("AmortizedPlanar", () => new AmortizedPlanar<T>(3, 2, seed: 2)),
    ];

    [Fact]
    public void Constructor_ThrowsForNonPositiveContextDimension() =>
        Assert.Throws<ArgumentOutOfRangeException>("contextDimension", () => new AmortizedPlanar<double>(2, 0));

    [Fact]
    public void ToString_IsConstructorLike() => Assert.Equal("AmortizedPlanar(dimension: 3, contextDimension: 2)", new AmortizedPlanar<double>(3, 2).ToString());

    [Fact]
    public void ZeroContext_GivesTheIdentity()
    {
        var layer = new AmortizedPlanar<double>(3, 2, seed: 1);
        double[,] z = TestData.StandardNormal(rows: 8, columns: 3, seed: 2);

        (double[,] x, double[] logDet) = layer.Forward(z, new double[8, 2]);

        AssertClose.Bitwise(z, x);
        Assert.All(logDet, v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void EachRow_IsThePlanarMapOfItsOwnParameters()
    {
        const int d = 3;
        var layer = BijectorCases.Randomized(new AmortizedPlanar<double>(d, 2, seed: 1), seed: 3);
        double[,] context = TestData.StandardNormal(rows: 6, columns: 2, seed: 4);
        double[,] z = TestData.StandardNormal(rows: 6, columns: d, seed: 5);

        (double[,] x, double[] logDet) = layer.Forward(z, context);
        (double[,] zAgain, double[] inverseLogDet) = layer.Inverse(x, context);

        for (int i = 0; i < 6; i++)
        {
            // Row i's raw parameters A hᵢ + c, written into an unconditional planar layer: an independent path to row i.
            var planar = new Planar<double>(d);
            double[] raw = new double[(2 * d) + 1];
            for (int p = 0; p < raw.Length; p++)
            {
                raw[p] = layer.HeadBias.Values[p] + (layer.HeadWeight.Values[p * 2] * context[i, 0]) + (layer.HeadWeight.Values[(p * 2) + 1] * context[i, 1]);
            }

            raw.AsSpan(0, d).CopyTo(planar.U.Values);
            raw.AsSpan(d, d).CopyTo(planar.W.Values);
            planar.Bias.Values[0] = raw[2 * d];
            (double[,] expected, double[] expectedLogDet) = planar.Forward(TestData.AsRow(TestData.Row(z, i)));
            AssertClose.All(TestData.Row(expected, 0), TestData.Row(x, i), 1e-13, $"row {i}");
            Assert.Equal(expectedLogDet[0], logDet[i], 1e-13);
        }

        AssertClose.All(z, zAgain, 1e-10, "inverse");
        AssertClose.All(logDet, [.. inverseLogDet.Select(v => -v)], 1e-10, "log-dets");
    }
}
