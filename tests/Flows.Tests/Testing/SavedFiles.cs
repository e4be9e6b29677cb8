using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Flows.Tests.Testing;

/// <summary>Edits of saved flow files for the loader's tests.</summary>
internal static class SavedFiles
{
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
