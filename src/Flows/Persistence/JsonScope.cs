using System.Globalization;
using System.Text.Json;

namespace Flows.Persistence;

/// <summary>
/// A strict view of one JSON object while loading: every read names its path in errors, and
/// <see cref="EnsureAllRead"/> rejects properties nobody asked for.
/// </summary>
internal sealed class JsonScope
{
    private readonly JsonElement _element;
    private readonly HashSet<string> _read = [];

    public JsonScope(JsonElement element, string path, int version)
    {
        Path = path;
        Version = version;
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw Error(path, $"expected a JSON object, found {element.ValueKind}");
        }

        _element = element;
    }

    public string Path { get; }

    /// <summary>The format version of the file being read, for readers whose layout changed between versions.</summary>
    public int Version { get; }

    /// <summary>A scope for a nested object, in the same file.</summary>
    public JsonScope Nested(JsonElement element, string path) => new(element, path, Version);

    public static FlowFormatException Error(string path, string problem) => new($"Invalid flow file at '{path}': {problem}.");

    /// <summary>Whether the object has the property (reading it is still required for it to count as read).</summary>
    public bool Has(string name) => _element.TryGetProperty(name, out _);

    public JsonElement Property(string name)
    {
        if (!_element.TryGetProperty(name, out JsonElement value))
        {
            throw Error(Path, $"the required property '{name}' is missing");
        }

        _read.Add(name);
        return value;
    }

    public int Int32(string name, int minimum = int.MinValue)
    {
        JsonElement value = Property(name);
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int result))
        {
            throw Error($"{Path}.{name}", $"expected an integer, found {Describe(value)}");
        }

        if (result < minimum)
        {
            throw Error($"{Path}.{name}", $"expected an integer ≥ {minimum}, found {result}");
        }

        return result;
    }

    public double Double(string name)
    {
        JsonElement value = Property(name);
        return value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double result) && double.IsFinite(result)
            ? result
            : throw Error($"{Path}.{name}", $"expected a finite number, found {Describe(value)}");
    }

    public bool[] BooleanArray(string name)
    {
        int[] values = Int32Array(name);
        if (values.Any(v => v is not (0 or 1)))
        {
            throw Error($"{Path}.{name}", "expected an array of 0 and 1");
        }

        return [.. values.Select(v => v == 1)];
    }

    public string String(string name)
    {
        JsonElement value = Property(name);
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw Error($"{Path}.{name}", $"expected a string, found {Describe(value)}");
    }

    public JsonScope Object(string name) => Nested(Property(name), $"{Path}.{name}");

    public JsonElement Array(string name)
    {
        JsonElement value = Property(name);
        return value.ValueKind == JsonValueKind.Array
            ? value
            : throw Error($"{Path}.{name}", $"expected an array, found {Describe(value)}");
    }

    public int[] Int32Array(string name)
    {
        JsonElement array = Array(name);
        var result = new int[array.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out result[i]))
            {
                throw Error($"{Path}.{name}[{i}]", $"expected an integer, found {Describe(item)}");
            }

            i++;
        }

        return result;
    }

    /// <summary>The names of this object's properties, in file order.</summary>
    public IEnumerable<string> PropertyNames()
    {
        foreach (JsonProperty property in _element.EnumerateObject())
        {
            yield return property.Name;
        }
    }

    public void EnsureAllRead()
    {
        foreach (JsonProperty property in _element.EnumerateObject())
        {
            if (!_read.Contains(property.Name))
            {
                throw Error(Path, $"unexpected property '{property.Name}'");
            }
        }
    }

    public static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number or JsonValueKind.String => $"{value.ValueKind.ToString().ToLowerInvariant()} {Truncate(value.GetRawText())}",
        _ => value.ValueKind.ToString().ToLowerInvariant(),
    };

    private static string Truncate(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 40), "…");

    public override string ToString() => Path.ToString(CultureInfo.InvariantCulture);
}
