using System.Text;
using System.Text.Json.Nodes;
using Flows.Bijectors;
using Flows.Persistence;
using Flows.Tests.Testing;
using Flows.Variational;

namespace Flows.Tests.Variational;

public sealed class AmortizedSylvesterTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("AmortizedSylvester(d=3, context=2, Triangular)",
            s => BijectorCases.Randomized(new FixedContext(new AmortizedSylvester<double>(3, 2), [0.7, -1.3]), s), OutputRange.Real, 1e3),
        new("AmortizedSylvester(d=3, context=2, Triangular, reversed)",
            s => BijectorCases.Randomized(new FixedContext(new AmortizedSylvester<double>(3, 2, reversed: true), [0.7, -1.3]), s), OutputRange.Real, 1e3),
        new("AmortizedSylvester(d=4, context=2, Orthogonal, M=2)",
            s => BijectorCases.Randomized(new FixedContext(new AmortizedSylvester<double>(4, 2, SylvesterVariant.Orthogonal, columnCount: 2), [0.7, -1.3]), s), OutputRange.Real, 1e3),
        new("AmortizedSylvester(d=3, context=2, Householder)",
            s => BijectorCases.Randomized(new FixedContext(new AmortizedSylvester<double>(3, 2, SylvesterVariant.Householder), [0.7, -1.3]), s), OutputRange.Real, 1e3),
        new("AmortizedSylvester(d=4, context=2, Orthogonal, M=2, amortized Q)",
            s => BijectorCases.Randomized(new FixedContext(new AmortizedSylvester<double>(4, 2, SylvesterVariant.Orthogonal, columnCount: 2, amortizeQ: true), [0.7, -1.3]), s), OutputRange.Real, 1e3),
        new("AmortizedSylvester(d=3, context=2, Householder K=2, amortized Q)",
            s => BijectorCases.Randomized(new FixedContext(new AmortizedSylvester<double>(3, 2, SylvesterVariant.Householder, reflectionCount: 2, amortizeQ: true), [0.7, -1.3]), s), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("AmortizedSylvester(Triangular)", () => new AmortizedSylvester<T>(3, 2, reversed: true, seed: 2)),
        new("AmortizedSylvester(Householder)", () => new AmortizedSylvester<T>(3, 2, SylvesterVariant.Householder, reflectionCount: 2, seed: 2)),
        new("AmortizedSylvester(Orthogonal, amortized Q)", () => new AmortizedSylvester<T>(4, 2, SylvesterVariant.Orthogonal, columnCount: 3, seed: 2, amortizeQ: true)),
        new("AmortizedSylvester(Householder, amortized Q)", () => new AmortizedSylvester<T>(3, 2, SylvesterVariant.Householder, reflectionCount: 2, seed: 2, amortizeQ: true)),
    ];

    [Fact]
    public void Constructor_ThrowsForATriangularVariantWithFewerColumns() =>
        Assert.Throws<ArgumentException>("columnCount", () => new AmortizedSylvester<double>(3, 2, columnCount: 2));

    [Fact]
    public void Constructor_ThrowsForAnAmortizedQInTheTriangularVariant() =>
        Assert.Throws<ArgumentException>("amortizeQ", () => new AmortizedSylvester<double>(3, 2, amortizeQ: true));

    [Fact]
    public void Constructor_ThrowsForNonPositiveContextDimension() =>
        Assert.Throws<ArgumentOutOfRangeException>("contextDimension", () => new AmortizedSylvester<double>(3, 0));

    [Theory]
    [InlineData(SylvesterVariant.Triangular, false)]
    [InlineData(SylvesterVariant.Orthogonal, true)]
    [InlineData(SylvesterVariant.Householder, true)]
    public void ZeroContext_GivesTheIdentity(SylvesterVariant variant, bool amortizeQ)
    {
        var layer = new AmortizedSylvester<double>(3, 2, variant, seed: 1, amortizeQ: amortizeQ);
        double[,] z = TestData.StandardNormal(rows: 8, columns: 3, seed: 2);

        (double[,] x, double[] logDet) = layer.Forward(z, new double[8, 2]);

        AssertClose.Bitwise(z, x);
        Assert.All(logDet, v => Assert.Equal(0.0, v));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EachRow_IsTheSylvesterMapOfItsOwnParameters(bool reversed)
    {
        const int d = 3;
        const int packed = d * (d + 1) / 2;
        var layer = BijectorCases.Randomized(new AmortizedSylvester<double>(d, 2, reversed: reversed, seed: 1), seed: 3);
        double[,] context = TestData.StandardNormal(rows: 6, columns: 2, seed: 4);
        double[,] z = TestData.StandardNormal(rows: 6, columns: d, seed: 5);

        (double[,] x, double[] logDet) = layer.Forward(z, context);
        (double[,] zAgain, double[] inverseLogDet) = layer.Inverse(x, context);

        for (int i = 0; i < 6; i++)
        {
            // Row i's raw parameters A hᵢ + c, written into an unconditional Sylvester layer: an independent path to row i.
            var sylvester = new Sylvester<double>(d, SylvesterVariant.Triangular, reversed: reversed);
            double[] raw = new double[(2 * packed) + d];
            for (int p = 0; p < raw.Length; p++)
            {
                raw[p] = layer.HeadBias.Values[p] + (layer.HeadWeight.Values[p * 2] * context[i, 0]) + (layer.HeadWeight.Values[(p * 2) + 1] * context[i, 1]);
            }

            raw.AsSpan(0, packed).CopyTo(sylvester.Parameters[0].Values);
            raw.AsSpan(packed, packed).CopyTo(sylvester.Parameters[1].Values);
            raw.AsSpan(2 * packed, d).CopyTo(sylvester.Parameters[2].Values);
            (double[,] expected, double[] expectedLogDet) = sylvester.Forward(TestData.AsRow(TestData.Row(z, i)));
            AssertClose.All(TestData.Row(expected, 0), TestData.Row(x, i), 1e-13, $"row {i}");
            Assert.Equal(expectedLogDet[0], logDet[i], 1e-13);
        }

        AssertClose.All(z, zAgain, 1e-10, "inverse");
        AssertClose.All(logDet, [.. inverseLogDet.Select(v => -v)], 1e-10, "log-dets");
    }

    // O-SNF and H-SNF: row i's Q comes from its own context. Each row must equal an unconditional Sylvester layer whose
    // Q source (the D × M matrix, or the K Householder vectors), R, R̃ and b are row i's head outputs A hᵢ + c: an
    // independent path through the shared-Q code, which a mix-up between rows' Q blocks would fail.
    [Theory]
    [InlineData(SylvesterVariant.Orthogonal, 4, 3, 0)]
    [InlineData(SylvesterVariant.Householder, 3, 0, 2)]
    public void EachRow_IsTheSylvesterMapOfItsOwnQ(SylvesterVariant variant, int d, int columnCount, int reflectionCount)
    {
        const int c = 2;
        var layer = BijectorCases.Randomized(
            new AmortizedSylvester<double>(d, c, variant, columnCount, reflectionCount, seed: 1, amortizeQ: true), seed: 3);
        int m = layer.ColumnCount;
        int packed = m * (m + 1) / 2;
        int outputs = layer.HeadBias.Values.Length;
        double[,] context = TestData.StandardNormal(rows: 6, columns: c, seed: 4);
        double[,] z = TestData.StandardNormal(rows: 6, columns: d, seed: 5);

        (double[,] x, double[] logDet) = layer.Forward(z, context);
        (double[,] zAgain, double[] inverseLogDet) = layer.Inverse(x, context);

        for (int i = 0; i < 6; i++)
        {
            var raw = new double[outputs];
            for (int p = 0; p < outputs; p++)
            {
                raw[p] = layer.HeadBias.Values[p] + (layer.HeadWeight.Values[p * c] * context[i, 0]) + (layer.HeadWeight.Values[(p * c) + 1] * context[i, 1]);
            }

            var sylvester = new Sylvester<double>(d, variant, columnCount, reflectionCount);
            // Parameters: Q's source, then r, rTilde, bias; the head's outputs: r, rTilde, b, then Q's source.
            raw.AsSpan(0, packed).CopyTo(sylvester.Parameters[1].Values);
            raw.AsSpan(packed, packed).CopyTo(sylvester.Parameters[2].Values);
            raw.AsSpan(2 * packed, m).CopyTo(sylvester.Parameters[3].Values);
            raw.AsSpan((2 * packed) + m).CopyTo(sylvester.Parameters[0].Values);
            Assert.Equal(outputs - (2 * packed) - m, sylvester.Parameters[0].Values.Length);
            (double[,] expected, double[] expectedLogDet) = sylvester.Forward(TestData.AsRow(TestData.Row(z, i)));
            AssertClose.All(TestData.Row(expected, 0), TestData.Row(x, i), 1e-13, $"row {i}");
            Assert.Equal(expectedLogDet[0], logDet[i], 1e-13);
        }

        AssertClose.All(z, zAgain, 1e-10, "inverse");
        AssertClose.All(logDet, [.. inverseLogDet.Select(v => -v)], 1e-10, "log-dets");
    }

    // A file written before Q could be amortized has no "amortizeQ" field: it loads as a shared Q, parameters intact.
    [Fact]
    public void Load_OfAFileWithoutTheAmortizeQField_GivesASharedQ()
    {
        var flow = new AmortizedSylvester<double>(2, 2, SylvesterVariant.Householder, reflectionCount: 2, seed: 3);
        var vae = new VariationalAutoencoder<double>(new AmortizedPosterior<double>(3, 2, [4], flow, seed: 1),
            LatentVariableModel<double>.WithStandardNormalPrior(new BernoulliDecoder<double>(2, 3, [4], seed: 2)));
        BijectorCases.Randomized(flow, seed: 4);
        using var stream = new MemoryStream();
        vae.Save(stream);
        JsonNode root = JsonNode.Parse(stream.ToArray())!;
        JsonObject layer = Find(root["model"]!, "amortizeQ") ?? throw new InvalidOperationException("no amortizeQ field was saved");
        layer.Remove("amortizeQ");
        Rehash(root);

        VariationalAutoencoder<double> loaded = VariationalAutoencoderSerializer.Load<double>(Encoding.UTF8.GetBytes(root.ToJsonString()));

        var loadedFlow = Assert.IsType<AmortizedSylvester<double>>(loaded.Posterior.Flow);
        Assert.False(loadedFlow.AmortizesQ);
        for (int i = 0; i < flow.Parameters.Count; i++)
        {
            AssertClose.Bitwise(flow.Parameters[i].Values, loadedFlow.Parameters[i].Values, flow.Parameters[i].Name);
        }
    }

    // The file nests checksummed payloads (the posterior's flow inside the model): recompute them, innermost first.
    private static void Rehash(JsonNode node)
    {
        IEnumerable<JsonNode?> children = node switch
        {
            JsonObject o => o.Select(p => p.Value),
            JsonArray a => a,
            _ => [],
        };
        foreach (JsonNode child in children.OfType<JsonNode>())
        {
            Rehash(child);
        }

        if (node is JsonObject obj && obj.ContainsKey("sha256"))
        {
            JsonNode payload = obj["flow"] ?? obj["model"]!;
            obj["sha256"] = FlowSerializer.Checksum(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        }
    }

    private static JsonObject? Find(JsonNode node, string property) => node switch
    {
        JsonObject o when o.ContainsKey(property) => o,
        JsonObject o => o.Select(p => p.Value is null ? null : Find(p.Value, property)).FirstOrDefault(f => f is not null),
        JsonArray a => a.Select(v => v is null ? null : Find(v, property)).FirstOrDefault(f => f is not null),
        _ => null,
    };
}
