using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Flows.Distributions;
using Flows.Persistence;

namespace Flows.Tests.Testing;

/// <summary>Saved flow files for the loader's tests: the golden files and edits of saved files.</summary>
internal static class SavedFiles
{
    /// <summary>The golden file <c>Persistence/Golden/{name}.json</c>, loaded into <paramref name="flow"/>, and the rows of
    /// numbers (header skipped) of <c>{name}-expected.csv</c> beside it: the values it was saved with.</summary>
    public static IReadOnlyList<double[]> GoldenRows(string name, out TransformedDistribution<double> flow)
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Persistence", "Golden");
        flow = FlowSerializer.Load<double>(Path.Combine(folder, $"{name}.json"));
        string[] lines = File.ReadAllLines(Path.Combine(folder, $"{name}-expected.csv"));
        Assert.True(lines.Length > 1, $"{name}-expected.csv holds no rows.");
        return [.. lines.Skip(1).Select(line => line.Split(',').Select(f => double.Parse(f, CultureInfo.InvariantCulture)).ToArray())];
    }

    /// <summary>The file <paramref name="root"/> with its checksum recomputed, so that an edit reaches the loader's checks
    /// behind the checksum.</summary>
    public static byte[] Resigned(JsonNode root)
    {
        string flow = root["flow"]!.ToJsonString();
        root["sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(flow)));
        root["flow"] = JsonNode.Parse(flow);
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }
}
