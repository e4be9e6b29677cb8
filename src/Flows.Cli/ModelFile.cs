using System.Text.Json;
using System.Text.Json.Nodes;
using Flows.Distributions;
using Flows.Persistence;

namespace Flows.Cli;

/// <summary>
/// A model as the tool saves it: the flow in the library's own saved form, with the names of its feature and context
/// columns and what the fit did.
/// </summary>
/// <remarks>
/// <para>Format: a JSON object <c>{"format": "Flows.Cli.Model", "version": 1, "features": [...], "context": [...],
/// "fit": {...}, "flow": {...}}</c>, where <c>flow</c> is exactly what <see cref="FlowSerializer"/> writes (its checksum
/// included), so C# code loads the flow with <c>FlowSerializer.Load&lt;double&gt;</c> on that property's text. The presets'
/// standardization of the data is a layer of the flow and is saved with it; nothing else is needed to score new rows.</para>
/// <para>The tool also reads a plain flow file written by <see cref="FlowSerializer"/> from C#; its columns are then
/// named x1, x2, … and its context columns c1, c2, ….</para>
/// </remarks>
internal sealed class ModelFile
{
    private const string FormatName = "Flows.Cli.Model";
    private const int CurrentVersion = 1;

    /// <summary>Creates a model from its parts.</summary>
    public ModelFile(TransformedDistribution<double> flow, IReadOnlyList<string> features, IReadOnlyList<string> context, JsonObject? fit)
    {
        Flow = flow;
        Features = features;
        Context = context;
        Fit = fit;
    }

    /// <summary>The flow.</summary>
    public TransformedDistribution<double> Flow { get; }

    /// <summary>The names of the columns the flow models, in its feature order.</summary>
    public IReadOnlyList<string> Features { get; }

    /// <summary>The names of the context columns (empty for an unconditional flow).</summary>
    public IReadOnlyList<string> Context { get; }

    /// <summary>What the fit did (preset, options, status, best epoch, history); null for a plain flow file.</summary>
    public JsonObject? Fit { get; }

    /// <summary>Writes the model to <paramref name="path"/>, replacing a file there only once the new one is complete.</summary>
    /// <exception cref="CliInputException">The file cannot be written.</exception>
    public void Save(string path)
    {
        using var flowText = new MemoryStream();
        Flow.Save(flowText);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("format", FormatName);
            writer.WriteNumber("version", CurrentVersion);
            writer.WritePropertyName("features");
            JsonSerializer.Serialize(writer, Features);
            writer.WritePropertyName("context");
            JsonSerializer.Serialize(writer, Context);
            if (Fit is not null)
            {
                writer.WritePropertyName("fit");
                Fit.WriteTo(writer);
            }

            // Verbatim: the flow's checksum covers its text byte for byte.
            writer.WritePropertyName("flow");
            writer.WriteRawValue(flowText.ToArray(), skipInputValidation: true);
            writer.WriteEndObject();
        }

        string target = System.IO.Path.GetFullPath(path);
        string temporary = target + ".tmp";
        try
        {
            File.WriteAllBytes(temporary, buffer.ToArray());
            File.Move(temporary, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(temporary);
            throw new CliInputException($"{path}: cannot be written: {e.Message}", e);
        }
    }

    /// <summary>Reads a model saved by the tool, or a plain flow file saved from C#.</summary>
    /// <exception cref="CliInputException">The file is missing or is not a model: the message says why.</exception>
    public static ModelFile Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new CliInputException($"{path}: no such model file.");
        }

        try
        {
            byte[] bytes = File.ReadAllBytes(path);
            using JsonDocument document = JsonDocument.Parse(bytes);
            JsonElement root = document.RootElement;
            string? format = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("format", out JsonElement f) ? f.GetString() : null;
            if (format == FormatName)
            {
                int version = root.GetProperty("version").GetInt32();
                if (version != CurrentVersion)
                {
                    throw new CliInputException($"{path}: model format version {version}; this version of the tool reads version {CurrentVersion}.");
                }

                TransformedDistribution<double> flow = FlowSerializer.Load<double>(System.Text.Encoding.UTF8.GetBytes(root.GetProperty("flow").GetRawText()));
                string[] features = [.. root.GetProperty("features").EnumerateArray().Select(e => e.GetString() ?? "")];
                string[] context = [.. root.GetProperty("context").EnumerateArray().Select(e => e.GetString() ?? "")];
                if (features.Length != flow.Dimension || context.Length != flow.ContextDimension)
                {
                    throw new CliInputException($"{path}: names {features.Length} features and {context.Length} context columns, but the flow " +
                        $"has dimension {flow.Dimension} and context dimension {flow.ContextDimension}.");
                }

                JsonObject? fit = root.TryGetProperty("fit", out JsonElement fitElement) && fitElement.ValueKind == JsonValueKind.Object
                    ? JsonNode.Parse(fitElement.GetRawText())?.AsObject()
                    : null;
                return new ModelFile(flow, features, context, fit);
            }

            TransformedDistribution<double> plain = FlowSerializer.Load<double>(bytes);
            return new ModelFile(plain, [.. Enumerable.Range(1, plain.Dimension).Select(i => $"x{i}")],
                [.. Enumerable.Range(1, plain.ContextDimension).Select(i => $"c{i}")], fit: null);
        }
        catch (Exception e) when (e is JsonException or FlowFormatException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new CliInputException($"{path}: not a model file this tool can read: {FirstLine(e.Message)}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliInputException($"{path}: cannot be read: {FirstLine(e.Message)}", e);
        }
    }

    private static string FirstLine(string message) => message.Split('\n')[0].TrimEnd();
}
