using System.Numerics;
using System.Text.Json;
using Flows.Bijectors;

namespace Flows.Persistence;

/// <summary>The JSON behind <see cref="ISavedFormWriter{T}"/>: fields of the current object, nested objects for parts.</summary>
/// <typeparam name="T">The element type.</typeparam>
internal sealed class JsonSavedFormWriter<T>(Utf8JsonWriter writer, Action<Utf8JsonWriter, IBijector<T>> writePart) : ISavedFormWriter<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public void Int32(string name, int value) => writer.WriteNumber(name, value);

    public void Double(string name, double value) => writer.WriteNumber(name, value);

    public void Boolean(string name, bool value) => writer.WriteBoolean(name, value);

    public void String(string name, string value) => writer.WriteString(name, value);

    public void Int32Array(string name, IEnumerable<int> values)
    {
        writer.WriteStartArray(name);
        foreach (int value in values)
        {
            writer.WriteNumberValue(value);
        }

        writer.WriteEndArray();
    }

    public void Values(string name, ReadOnlySpan<T> values)
    {
        writer.WriteStartArray(name);
        foreach (T value in values)
        {
            FlowSerializer.WriteNumber(writer, value);
        }

        writer.WriteEndArray();
    }

    public void Transform(string name, IConditionalTransform<T> transform) => Nested(name, transform);

    public void Embedding(string name, IContextEmbedding<T> embedding) => Nested(name, embedding);

    public void Part(string name, IBijector<T> part)
    {
        writer.WritePropertyName(name);
        writePart(writer, part);
    }

    public void Parts(string name, IEnumerable<IBijector<T>> parts)
    {
        writer.WriteStartArray(name);
        foreach (IBijector<T> part in parts)
        {
            writePart(writer, part);
        }

        writer.WriteEndArray();
    }

    // A transform or an embedding is a nested object: its type name, then its own fields.
    private void Nested<TObject>(string name, TObject value)
    {
        SavedForm<T, TObject> form = SavedForms<T, TObject>.Of(value);
        writer.WriteStartObject(name);
        writer.WriteString("type", form.Name);
        form.Write(value, this);
        writer.WriteEndObject();
    }
}

/// <summary>The JSON behind <see cref="ISavedFormReader{T}"/>, over a strict <see cref="JsonScope"/>.</summary>
/// <typeparam name="T">The element type.</typeparam>
internal sealed class JsonSavedFormReader<T>(JsonScope scope, Func<JsonScope, IBijector<T>> readPart) : ISavedFormReader<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public int Version => scope.Version;

    public bool Has(string name) => scope.Has(name);

    public int Int32(string name, int minimum = int.MinValue) => scope.Int32(name, minimum);

    public double Double(string name) => scope.Double(name);

    public bool Boolean(string name)
    {
        JsonElement value = scope.Property(name);
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(name, $"expected true or false, found {JsonScope.Describe(value)}"),
        };
    }

    public string String(string name) => scope.String(name);

    public int[] Int32Array(string name) => scope.Int32Array(name);

    public bool[] BooleanArray(string name) => scope.BooleanArray(name);

    public T[] Values(string name, int length)
    {
        JsonElement array = scope.Array(name);
        if (array.GetArrayLength() != length)
        {
            throw Error(name, $"holds {array.GetArrayLength()} numbers, expected {length}");
        }

        var result = new T[length];
        int i = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            result[i] = FlowSerializer.ReadFinite<T>(item, $"{scope.Path}.{name}[{i}]");
            i++;
        }

        return result;
    }

    public IConditionalTransform<T> Transform(string name) => Nested<IConditionalTransform<T>>(name, "transform");

    public IContextEmbedding<T> Embedding(string name) => Nested<IContextEmbedding<T>>(name, "context embedding");

    public IBijector<T> Part(string name) => readPart(scope.Object(name));

    public IReadOnlyList<IBijector<T>> Parts(string name)
    {
        var parts = new List<IBijector<T>>();
        int i = 0;
        foreach (JsonElement part in scope.Array(name).EnumerateArray())
        {
            parts.Add(readPart(scope.Nested(part, $"{scope.Path}.{name}[{i++}]")));
        }

        return parts;
    }

    public Exception Error(string name, string problem) => JsonScope.Error($"{scope.Path}.{name}", problem);

    private TObject Nested<TObject>(string name, string kind)
    {
        JsonScope nested = scope.Object(name);
        string type = nested.String("type");
        SavedForm<T, TObject> form = SavedForms<T, TObject>.Named(type)
            ?? throw JsonScope.Error($"{nested.Path}.type", $"unknown {kind} type \"{type}\"");
        TObject value;
        try
        {
            value = form.Read(new JsonSavedFormReader<T>(nested, readPart));
        }
        catch (ArgumentException e)
        {
            throw JsonScope.Error(nested.Path, e.Message);
        }

        nested.EnsureAllRead();
        return value;
    }
}
