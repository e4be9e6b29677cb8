using System.Numerics;
using System.Reflection;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.Json;
using System.Text;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Persistence;
using Flows.Tests.Testing;

namespace Flows.Tests.Persistence;

public sealed class FlowSerializerTests
{
    public static TheoryData<string> Names => PersistenceCases.Names;

    [Theory]
    [MemberData(nameof(Names))]
    public void SaveLoad_GivesBitIdenticalDensitiesDirectionsAndSamples_Double(string name)
        => AssertRoundTripIsExact<double>(name);

    [Theory]
    [MemberData(nameof(Names))]
    public void SaveLoad_GivesBitIdenticalDensitiesDirectionsAndSamples_Float(string name)
        => AssertRoundTripIsExact<float>(name);

    [Fact]
    public void EveryBijectorType_HasASavedForm()
    {
        Type[] bijectorTypes = [.. typeof(IBijector<>).Assembly.GetTypes()
            .Where(t => t is { IsAbstract: false, IsInterface: false } && t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IBijector<>)))
            .Select(t => t.IsGenericType ? t.GetGenericTypeDefinition() : t)];

        Assert.NotEmpty(bijectorTypes);
        string[] missing = [.. bijectorTypes.Where(t => !SavedForms<double, IBijector<double>>.IsRegistered(t)).Select(t => t.Name)];
        Assert.True(missing.Length == 0, $"Bijector types without a saved form: {string.Join(", ", missing)}");
    }

    [Fact]
    public void EveryConditionalTransformType_HasASavedForm()
    {
        Type[] transformTypes = [.. typeof(IConditionalTransform<>).Assembly.GetTypes()
            .Where(t => t is { IsAbstract: false, IsInterface: false } && t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IConditionalTransform<>)))
            .Select(t => t.IsGenericType ? t.GetGenericTypeDefinition() : t)];

        Assert.NotEmpty(transformTypes);
        string[] missing = [.. transformTypes.Where(t => !SavedForms<double, IConditionalTransform<double>>.IsRegistered(t)).Select(t => t.Name)];
        Assert.True(missing.Length == 0, $"Conditional transform types without a saved form: {string.Join(", ", missing)}");
    }

    [Fact]
    public void EveryContextEmbeddingType_HasASavedForm()
    {
        Type[] embeddingTypes = [.. typeof(IContextEmbedding<>).Assembly.GetTypes()
            .Where(t => t is { IsAbstract: false, IsInterface: false } && t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IContextEmbedding<>)))
            .Select(t => t.IsGenericType ? t.GetGenericTypeDefinition() : t)];

        Assert.NotEmpty(embeddingTypes);
        string[] missing = [.. embeddingTypes.Where(t => !SavedForms<double, IContextEmbedding<double>>.IsRegistered(t)).Select(t => t.Name)];
        Assert.True(missing.Length == 0, $"Context embedding types without a saved form: {string.Join(", ", missing)}");
    }

    [Fact]
    public void EveryBijectorAndTransformType_HasAPersistenceCase()
    {
        HashSet<Type> covered = [.. FamilyCases.SavedCases<double>().SelectMany(c => FamilyCases.Components(c.Create())).Select(c => c.GetType())];
        string[] missing = [.. SavedForms<double, IBijector<double>>.Types.Concat(SavedForms<double, IConditionalTransform<double>>.Types)
            .Concat(SavedForms<double, IContextEmbedding<double>>.Types)
            .Where(t => !covered.Contains(t)).Select(t => t.Name)];
        Assert.True(missing.Length == 0, $"Types with no persistence case (add them to their family's IFamilyCases): {string.Join(", ", missing)}");
    }

    [Fact]
    public void GoldenFileOfVersion1_LoadsAndGivesStoredDensities()
    {
        foreach (double[] fields in SavedFiles.GoldenRows("flow-v1", out TransformedDistribution<double> flow))
        {
            double[] logDensity = flow.DensityLn(new double[,] { { fields[0], fields[1], fields[2] } });
            Assert.Equal(fields[3], logDensity[0], 1e-12);
        }
    }

    // Written by format version 1, whose MADE numbered hidden units cyclically by degree: later layouts must still read it.
    [Fact]
    public void GoldenMadeFileOfVersion1_LoadsAndGivesStoredConditionalDensities()
    {
        foreach (double[] fields in SavedFiles.GoldenRows("made-v1", out TransformedDistribution<double> flow))
        {
            double[] logDensity = flow.DensityLn(new double[,] { { fields[0], fields[1], fields[2] } }, new double[,] { { fields[3] } });
            Assert.Equal(fields[4], logDensity[0], 1e-12);
        }
    }

    // Written by format version 2, whose MADE fed the context to the first hidden layer only: later layouts must read it
    // and give the stored log-densities bit for bit (three MADE layers, affine and spline, two context features).
    [Fact]
    public void GoldenMadeFileOfVersion2_LoadsAndGivesStoredConditionalDensitiesBitForBit()
    {
        foreach (double[] fields in SavedFiles.GoldenRows("made-v2", out TransformedDistribution<double> flow))
        {
            double[] logDensity = flow.DensityLn(new double[,] { { fields[0], fields[1], fields[2] } }, new double[,] { { fields[3], fields[4] } });
            AssertClose.StoredDensity(fields[5], logDensity[0]);
        }
    }

    // Written by format version 3, whose MADE laid its output units out by parameter block (unit p·d + j); version 4
    // groups them by feature. Three conditional MADE layers (affine, spline, spline) with non-natural orders, every
    // parameter non-zero, the direct context weights included.
    [Fact]
    public void GoldenMadeFileOfVersion3_LoadsAndGivesStoredConditionalDensitiesBitForBit()
        => AssertGoldenConditionalDensities("made-v3");

    // Written by format version 4 (made-v3's architecture, output units grouped by feature).
    [Fact]
    public void GoldenMadeFileOfVersion4_LoadsAndGivesStoredConditionalDensitiesBitForBit()
        => AssertGoldenConditionalDensities("made-v4");

    // The version-3 file, saved again (as version 4) and loaded, scores as the file did: the reorder on reading and the
    // layout written agree.
    [Fact]
    public void GoldenMadeFileOfVersion3_SavedAgain_GivesTheSameDensitiesBitForBit()
    {
        double[][] rows = [.. SavedFiles.GoldenRows("made-v3", out TransformedDistribution<double> flow)];
        var stream = new MemoryStream();
        flow.Save(stream);
        using JsonDocument saved = JsonDocument.Parse(stream.ToArray());
        Assert.Equal(FlowSerializer.CurrentVersion, saved.RootElement.GetProperty("version").GetInt32());
        TransformedDistribution<double> reloaded = Load(stream.ToArray());
        foreach (double[] fields in rows)
        {
            double[,] x = { { fields[0], fields[1], fields[2] } };
            double[,] context = { { fields[3], fields[4] } };
            Assert.Equal(BitConverter.DoubleToInt64Bits(flow.DensityLn(x, context)[0]), BitConverter.DoubleToInt64Bits(reloaded.DensityLn(x, context)[0]));
        }
    }

    private static void AssertGoldenConditionalDensities(string name)
    {
        foreach (double[] fields in SavedFiles.GoldenRows(name, out TransformedDistribution<double> flow))
        {
            double[] logDensity = flow.DensityLn(new double[,] { { fields[0], fields[1], fields[2] } }, new double[,] { { fields[3], fields[4] } });
            AssertClose.StoredDensity(fields[5], logDensity[0]);
        }
    }

    [Fact]
    public void GoldenMadeFileOfVersion2_LoadsWithTheDirectContextWeightsAtZero()
    {
        SavedFiles.GoldenRows("made-v2", out TransformedDistribution<double> flow);
        Parameter<double>[] direct = [.. flow.Parameters.Where(p => p.Name.EndsWith(".contextToOutput.weight", StringComparison.Ordinal))];

        Assert.Equal(3, direct.Length);
        Assert.All(direct, p => Assert.All(p.Values, v => Assert.Equal(0L, BitConverter.DoubleToInt64Bits(v))));
    }

    // Conditional MADE layers (affine and spline) with every parameter non-zero, the direct context weights included.
    [Fact]
    public void SaveLoad_OfAConditionalFlow_GivesBitIdenticalDensitiesAndSamples()
    {
        TransformedDistribution<double> original = ConditionalFlow();
        var stream = new MemoryStream();
        original.Save(stream);
        stream.Position = 0;
        TransformedDistribution<double> loaded = FlowSerializer.Load<double>(stream);

        double[,] context = TestData.StandardNormal(40, 2, seed: 3);
        double[,] samples = original.Sample(40, new Random(9), context);
        Assert.Equal(samples, loaded.Sample(40, new Random(9), context));
        Assert.Equal(original.DensityLn(samples, context), loaded.DensityLn(samples, context));
        Assert.Contains(original.Parameters, p => p.Name.EndsWith(".contextToOutput.weight", StringComparison.Ordinal));
        Assert.Equal(original.Parameters.Select(p => p.Values), loaded.Parameters.Select(p => p.Values));
    }

    [Fact]
    public void Load_RejectsAFileOfTheCurrentVersionWithoutTheDirectContextWeights()
    {
        byte[] saved = SavedConditional();
        FlowFormatException e = Assert.Throws<FlowFormatException>(() => Load(Edit(saved, root => Parameters(root, 0).Remove("made.contextToOutput.weight"))));
        Assert.Contains("'made.contextToOutput.weight' is missing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RejectsAVersion2FileWithDirectContextWeights_WhichThatVersionDidNotHave()
    {
        byte[] saved = SavedConditional();
        FlowFormatException e = Assert.Throws<FlowFormatException>(() => Load(Edit(saved, root => root["version"] = 2)));
        Assert.Contains("unexpected property 'made.contextToOutput.weight'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RejectsANewerVersion()
    {
        int newer = FlowSerializer.CurrentVersion + 1;
        FlowFormatException e = Assert.Throws<FlowFormatException>(() => Load(Edit(Saved(), root => root["version"] = newer)));
        Assert.Contains($"version {newer}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RejectsTheWrongElementType()
    {
        FlowFormatException e = Assert.Throws<FlowFormatException>(() => FlowSerializer.Load<float>(Saved()));
        Assert.Contains("Load<double>", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RejectsAnEditWithoutMatchingChecksum()
    {
        string text = Encoding.UTF8.GetString(Saved());
        byte[] edited = Encoding.UTF8.GetBytes(text.Replace("\"dimension\": 3", "\"dimension\": 4", StringComparison.Ordinal));
        FlowFormatException e = Assert.Throws<FlowFormatException>(() => Load(edited));
        Assert.Contains("checksum", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RejectsAnUnknownBijectorType()
    {
        FlowFormatException e = Assert.Throws<FlowFormatException>(() => Load(Edit(Saved(), root => Parts(root)[1]!["type"] = "Mystery")));
        Assert.Contains("unknown bijector type \"Mystery\"", e.Message, StringComparison.Ordinal);
        Assert.Contains("$.flow.bijector.parts[1]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RejectsAMissingParameter()
    {
        FlowFormatException e = Assert.Throws<FlowFormatException>(() => Load(Edit(Saved(), root => Parameters(root, 0).Remove("shift"))));
        Assert.Contains("'shift' is missing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RejectsAnExtraParameter()
    {
        FlowFormatException e = Assert.Throws<FlowFormatException>(() =>
            Load(Edit(Saved(), root => Parameters(root, 0)["extra"] = JsonNode.Parse("""{"rows":1,"columns":1,"values":[0]}"""))));
        Assert.Contains("unexpected property 'extra'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RejectsAShapeMismatch()
    {
        FlowFormatException e = Assert.Throws<FlowFormatException>(() => Load(Edit(Saved(), root => Parameters(root, 0)["shift"]!["columns"] = 2)));
        Assert.Contains("does not match the expected 1 × 3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RejectsAWrongNumberOfValues()
    {
        FlowFormatException e = Assert.Throws<FlowFormatException>(() => Load(Edit(Saved(), root => Parameters(root, 0)["shift"]!["values"]!.AsArray().RemoveAt(0))));
        Assert.Contains("holds 2 numbers, expected 3", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1e999")]
    [InlineData("\"NaN\"")]
    [InlineData("null")]
    public void Load_RejectsANonFiniteOrNonNumericValue(string value)
    {
        byte[] edited = Edit(Saved(), root => Parameters(root, 0)["shift"]!["values"]![1] = JsonNode.Parse(value));
        FlowFormatException e = Assert.Throws<FlowFormatException>(() => Load(edited));
        Assert.Contains("shift.values[1]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RejectsAnInvalidHyperparameterWithItsPath()
    {
        FlowFormatException e = Assert.Throws<FlowFormatException>(() => Load(Edit(Saved(), root => Parts(root)[2]!["order"] = JsonNode.Parse("[0, 0, 1]"))));
        Assert.Contains("$.flow.bijector.parts[2]", e.Message, StringComparison.Ordinal);
        Assert.Contains("not a permutation", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Save_RefusesNonFiniteParameters()
    {
        TransformedDistribution<double> flow = PersistenceCases.Factories<double>()["Affine"]();
        flow.Parameters[0].Values[1] = double.NaN;
        Assert.Throws<InvalidOperationException>(() => flow.Save(new MemoryStream()));
    }

    [Fact]
    public void Load_TruncatedAtEveryFewBytes_ThrowsOnlyFlowFormatException()
    {
        byte[] saved = Saved();
        for (int length = 0; length < saved.Length; length += 7)
        {
            Assert.Throws<FlowFormatException>(() => Load(saved.AsSpan(0, length).ToArray()));
        }
    }

    [Fact]
    public void Load_OfThousandsOfRandomlyCorruptedFiles_ThrowsFlowFormatExceptionOrLoadsTheSameFlow()
    {
        byte[] saved = Saved();
        double[,] x = { { 1.8, 1.9, 2.0 }, { 1.9, 1.8, 1.95 } };
        double[] expected = Load(saved).DensityLn(x);
        var random = new Random(2026);
        int rejected = 0;
        for (int trial = 0; trial < 3000; trial++)
        {
            byte[] corrupted = (byte[])saved.Clone();
            int flips = 1 + random.Next(3);
            for (int f = 0; f < flips; f++)
            {
                corrupted[random.Next(corrupted.Length)] ^= (byte)(1 << random.Next(8));
            }

            try
            {
                // A flip that lands in insignificant whitespace may leave a valid file: it must then be the same flow.
                Assert.Equal(expected, Load(corrupted).DensityLn(x));
            }
            catch (FlowFormatException)
            {
                rejected++;
            }
        }

        Assert.True(rejected > 2900, $"Only {rejected} of 3000 corrupted files were rejected.");
    }

    private static void AssertRoundTripIsExact<T>(string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TransformedDistribution<T> original = PersistenceCases.Factories<T>()[name]();
        var stream = new MemoryStream();
        original.Save(stream);
        stream.Position = 0;
        TransformedDistribution<T> loaded = FlowSerializer.Load<T>(stream);

        Assert.Equal(original.ToString(), loaded.ToString());
        // A conditional case (a bijector that embeds its context) is run with one context row per sample.
        T[,]? context = original.ContextDimension == 0 ? null : Contexts<T>(64, original.ContextDimension);
        T[,] samples = original.Sample(64, new Random(9), context);
        Assert.Equal(samples, loaded.Sample(64, new Random(9), context));
        Assert.Equal(original.DensityLn(samples, context), loaded.DensityLn(samples, context));
        var (x, forwardLogDet) = original.Bijector.Forward(samples, context);
        var (xLoaded, forwardLogDetLoaded) = loaded.Bijector.Forward(samples, context);
        Assert.Equal(x, xLoaded);
        Assert.Equal(forwardLogDet, forwardLogDetLoaded);
        var (z, inverseLogDet) = original.Bijector.Inverse(samples, context);
        var (zLoaded, inverseLogDetLoaded) = loaded.Bijector.Inverse(samples, context);
        Assert.Equal(z, zLoaded);
        Assert.Equal(inverseLogDet, inverseLogDetLoaded);
        for (int p = 0; p < original.Parameters.Count; p++)
        {
            Assert.Equal(original.Parameters[p].Values, loaded.Parameters[p].Values);
        }
    }

    // Raw contexts around 3 ± 2, so that a standardization that initializes from them has work to do.
    private static T[,] Contexts<T>(int rows, int columns) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double[,] values = TestData.StandardNormal(rows, columns, seed: 21, scale: 2);
        var result = new T[rows, columns];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                result[i, j] = T.CreateTruncating(3 + values[i, j]);
            }
        }

        return result;
    }

    private static byte[] Saved()
    {
        TransformedDistribution<double> flow = PersistenceCases.Randomize(
            new TransformedDistribution<double>(new StandardNormal<double>(3), PersistenceCases.Composite<double>(new Random(4))), seed: 3);
        var stream = new MemoryStream();
        flow.Save(stream);
        return stream.ToArray();
    }

    private static TransformedDistribution<double> ConditionalFlow()
        => PersistenceCases.Randomize(
            new TransformedDistribution<double>(
                new StandardNormal<double>(3),
                new Chain<double>(
                    new MaskedAutoregressive<double>(3, [6, 5], [2, 0, 1], contextDimension: 2, seed: 1),
                    new MaskedAutoregressive<double>(3, [5], contextDimension: 2, transform: new RationalQuadraticTransform<double>(binCount: 4), seed: 2))),
            seed: 5);

    private static byte[] SavedConditional()
    {
        var stream = new MemoryStream();
        ConditionalFlow().Save(stream);
        return stream.ToArray();
    }

    private static TransformedDistribution<double> Load(byte[] content) => FlowSerializer.Load<double>(content);

    private static JsonArray Parts(JsonNode root) => root["flow"]!["bijector"]!["parts"]!.AsArray();

    private static JsonObject Parameters(JsonNode root, int part) => Parts(root)[part]!["parameters"]!.AsObject();

    // Applies an edit and re-signs the file, so that the loader's checks behind the checksum are reached.
    private static byte[] Edit(byte[] saved, Action<JsonNode> edit)
    {
        JsonNode root = JsonNode.Parse(saved)!;
        edit(root);
        string flow = root["flow"]!.ToJsonString();
        root["sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(flow)));
        root["flow"] = JsonNode.Parse(flow);
        byte[] result = Encoding.UTF8.GetBytes(root.ToJsonString());
        // The checksum covers the flow text as stored; re-check that the edit kept it consistent.
        using JsonDocument check = JsonDocument.Parse(result);
        Assert.Equal(flow, check.RootElement.GetProperty("flow").GetRawText());
        return result;
    }
}
