using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Flows.Autodiff;
using Flows.Distributions;
using Flows.Persistence;

namespace Flows.Variational;

/// <summary>
/// Saves a <see cref="VariationalAutoencoder{T}"/> (encoder, posterior flow, prior and decoder) to a versioned JSON file
/// and loads it back, every parameter bit for bit.
/// </summary>
/// <remarks>
/// <para>Format (version 1): a JSON object with <c>format</c> ("Flows.VariationalAutoencoder"), <c>version</c>,
/// <c>elementType</c>, <c>sha256</c> (of the UTF-8 text of <c>model</c> as stored) and <c>model</c>, which holds
/// <c>posterior</c> (dataDimension, latentDimension, hiddenFeatures, logScaleBound, the encoder's <c>parameters</c>, and
/// <c>flow</c>: null, or the posterior's bijector on a standard normal as a complete <see cref="FlowSerializer"/>
/// document), <c>prior</c> (<c>{"type": "StandardNormal", "dimension": d}</c>, or <c>{"type": "Flow", "flow": …}</c>
/// with a <see cref="FlowSerializer"/> document) and <c>decoder</c> (type <c>Bernoulli</c> or <c>Gaussian</c>, its
/// dimensions, hiddenFeatures and <c>parameters</c>). Numbers are written in their shortest round-trip form.</para>
/// <para>Only a <see cref="LatentVariableModel{T}"/> with a built-in decoder and a standard-normal or flow prior is
/// saved; any bijector <see cref="FlowSerializer"/> saves may be the posterior's flow. Loading is strict: a corrupted,
/// truncated or edited file throws a <see cref="FlowFormatException"/> naming the problem and where.</para>
/// </remarks>
public static class VariationalAutoencoderSerializer
{
    /// <summary>The format version this library writes.</summary>
    public const int CurrentVersion = 1;

    private const string FormatName = "Flows.VariationalAutoencoder";
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = true };

    /// <summary>Writes <paramref name="vae"/> to <paramref name="stream"/>.</summary>
    /// <param name="vae">The model.</param>
    /// <param name="stream">A writable stream; left open.</param>
    /// <exception cref="NotSupportedException">The model is not a <see cref="LatentVariableModel{T}"/> with a built-in
    /// decoder and a standard-normal or flow prior, or a part has no saved form.</exception>
    /// <exception cref="InvalidOperationException">A parameter holds a non-finite value.</exception>
    public static void Save<T>(this VariationalAutoencoder<T> vae, Stream stream) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(vae);
        ArgumentNullException.ThrowIfNull(stream);
        byte[] payload = WriteModel(vae);
        using var writer = new Utf8JsonWriter(stream, WriterOptions);
        writer.WriteStartObject();
        writer.WriteString("format", FormatName);
        writer.WriteNumber("version", CurrentVersion);
        writer.WriteString("elementType", FlowSerializer.ElementTypeName<T>());
        writer.WriteString("sha256", FlowSerializer.Checksum(payload));
        writer.WritePropertyName("model");
        writer.WriteRawValue(payload, skipInputValidation: true);
        writer.WriteEndObject();
        writer.Flush();
    }

    /// <summary>Writes <paramref name="vae"/> to the file at <paramref name="path"/> (created or replaced).</summary>
    /// <param name="vae">The model.</param>
    /// <param name="path">The file path.</param>
    /// <exception cref="NotSupportedException">A part has no saved form (see <see cref="Save{T}(VariationalAutoencoder{T}, Stream)"/>).</exception>
    /// <exception cref="InvalidOperationException">A parameter holds a non-finite value.</exception>
    public static void Save<T>(this VariationalAutoencoder<T> vae, string path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // Serialize first, so that a failure leaves an existing file untouched.
        using var buffer = new MemoryStream();
        Save(vae, buffer);
        File.WriteAllBytes(path, buffer.ToArray());
    }

    /// <summary>Reads a model saved by <see cref="Save{T}(VariationalAutoencoder{T}, Stream)"/>.</summary>
    /// <param name="stream">A readable stream at the start of the saved model.</param>
    /// <returns>The model, every parameter as saved.</returns>
    /// <exception cref="FlowFormatException">The content is not a valid saved model of element type <typeparamref name="T"/>.</exception>
    public static VariationalAutoencoder<T> Load<T>(Stream stream) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Load<T>(buffer.ToArray());
    }

    /// <summary>Reads a model from the file at <paramref name="path"/>.</summary>
    /// <param name="path">The file path.</param>
    /// <returns>The model.</returns>
    /// <exception cref="FlowFormatException">The file is not a valid saved model of element type <typeparamref name="T"/>.</exception>
    public static VariationalAutoencoder<T> Load<T>(string path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Load<T>(File.ReadAllBytes(path));
    }

    /// <summary>Reads a model from the bytes of a saved file.</summary>
    /// <param name="content">The file's bytes.</param>
    /// <returns>The model.</returns>
    /// <exception cref="FlowFormatException">The content is not a valid saved model of element type <typeparamref name="T"/>.</exception>
    public static VariationalAutoencoder<T> Load<T>(ReadOnlySpan<byte> content) where T : unmanaged, IFloatingPointIeee754<T>
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(content.ToArray(), new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new FlowFormatException($"Invalid VAE file: not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", e);
        }

        using (document)
        {
            var root = new JsonScope(document.RootElement, "$", FlowSerializer.CurrentVersion);
            string format = root.String("format");
            if (format != FormatName)
            {
                throw JsonScope.Error("$.format", $"expected \"{FormatName}\", found \"{format}\"");
            }

            int version = root.Int32("version");
            if (version < 1 || version > CurrentVersion)
            {
                throw JsonScope.Error("$.version", $"VAE format version {version} is not supported; this version of Flows reads version 1 to {CurrentVersion}");
            }

            string elementType = root.String("elementType");
            if (elementType != FlowSerializer.ElementTypeName<T>())
            {
                throw JsonScope.Error("$.elementType", $"the file holds {elementType} parameters but was loaded as {FlowSerializer.ElementTypeName<T>()}; call Load<{elementType}>");
            }

            string checksum = root.String("sha256");
            JsonElement modelElement = root.Property("model");
            if (!string.Equals(checksum, FlowSerializer.Checksum(JsonMarshal.GetRawUtf8Value(modelElement)), StringComparison.OrdinalIgnoreCase))
            {
                throw JsonScope.Error("$.model", "the SHA-256 checksum does not match; the file was corrupted or edited");
            }

            root.EnsureAllRead();
            return ReadModel<T>(root.Object("model"));
        }
    }

    private static byte[] WriteModel<T>(VariationalAutoencoder<T> vae) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (vae.Model is not LatentVariableModel<T> model)
        {
            throw new NotSupportedException($"Only a LatentVariableModel is saved; {vae.Model} is computed by code the file cannot hold.");
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            AmortizedPosterior<T> posterior = vae.Posterior;
            writer.WriteStartObject("posterior");
            writer.WriteNumber("dataDimension", posterior.DataDimension);
            writer.WriteNumber("latentDimension", posterior.LatentDimension);
            WriteIntegers(writer, "hiddenFeatures", posterior.HiddenFeatures);
            writer.WriteNumber("logScaleBound", posterior.LogScaleBound);
            FlowSerializer.WriteParameters(writer, posterior.Encoder.Parameters, posterior.ToString());
            writer.WritePropertyName("flow");
            if (posterior.Flow is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                WriteFlow(writer, new TransformedDistribution<T>(new StandardNormal<T>(posterior.LatentDimension), posterior.Flow));
            }

            writer.WriteEndObject();
            writer.WriteStartObject("prior");
            switch (model.Prior)
            {
                case StandardNormal<T> normal:
                    writer.WriteString("type", "StandardNormal");
                    writer.WriteNumber("dimension", normal.Dimension);
                    break;
                case TransformedDistribution<T> flow:
                    writer.WriteString("type", "Flow");
                    writer.WritePropertyName("flow");
                    WriteFlow(writer, flow);
                    break;
                default:
                    throw new NotSupportedException($"The prior {model.Prior} has no saved form here; use a StandardNormal or a TransformedDistribution.");
            }

            writer.WriteEndObject();
            writer.WriteStartObject("decoder");
            (string type, IReadOnlyList<int> hidden) = model.Decoder switch
            {
                BernoulliDecoder<T> bernoulli => ("Bernoulli", bernoulli.HiddenFeatures),
                GaussianDecoder<T> gaussian => ("Gaussian", gaussian.HiddenFeatures),
                _ => throw new NotSupportedException($"The decoder {model.Decoder} has no saved form; only the built-in decoders are saved."),
            };
            writer.WriteString("type", type);
            writer.WriteNumber("latentDimension", model.Decoder.LatentDimension);
            writer.WriteNumber("dataDimension", model.Decoder.DataDimension);
            WriteIntegers(writer, "hiddenFeatures", hidden);
            FlowSerializer.WriteParameters(writer, model.Decoder.Parameters, model.Decoder.ToString()!);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static VariationalAutoencoder<T> ReadModel<T>(JsonScope scope) where T : unmanaged, IFloatingPointIeee754<T>
    {
        JsonScope p = scope.Object("posterior");
        int dataDimension = p.Int32("dataDimension", minimum: 1);
        int latentDimension = p.Int32("latentDimension", minimum: 1);
        int[] hidden = p.Int32Array("hiddenFeatures");
        double bound = p.Double("logScaleBound");
        JsonScope encoderParameters = p.Object("parameters");
        JsonElement flowElement = p.Property("flow");
        Bijectors.IBijector<T>? flow = flowElement.ValueKind == JsonValueKind.Null ? null : ReadFlow<T>(flowElement, $"{p.Path}.flow").Bijector;
        AmortizedPosterior<T> posterior = Build(p.Path, () => new AmortizedPosterior<T>(dataDimension, latentDimension, hidden, flow, logScaleBound: bound));
        FlowSerializer.ReadParameters(encoderParameters, posterior.Encoder.Parameters);
        p.EnsureAllRead();

        JsonScope priorScope = scope.Object("prior");
        string priorType = priorScope.String("type");
        IDistribution<T> prior = priorType switch
        {
            "StandardNormal" => Build(priorScope.Path, () => new StandardNormal<T>(priorScope.Int32("dimension", minimum: 1))),
            "Flow" => ReadFlow<T>(priorScope.Property("flow"), $"{priorScope.Path}.flow"),
            _ => throw JsonScope.Error($"{priorScope.Path}.type", $"unknown prior type \"{priorType}\""),
        };
        priorScope.EnsureAllRead();

        JsonScope d = scope.Object("decoder");
        string decoderType = d.String("type");
        int decoderLatent = d.Int32("latentDimension", minimum: 1);
        int decoderData = d.Int32("dataDimension", minimum: 1);
        int[] decoderHidden = d.Int32Array("hiddenFeatures");
        IDecoder<T> decoder = decoderType switch
        {
            "Bernoulli" => Build<IDecoder<T>>(d.Path, () => new BernoulliDecoder<T>(decoderLatent, decoderData, decoderHidden)),
            "Gaussian" => Build<IDecoder<T>>(d.Path, () => new GaussianDecoder<T>(decoderLatent, decoderData, decoderHidden)),
            _ => throw JsonScope.Error($"{d.Path}.type", $"unknown decoder type \"{decoderType}\""),
        };
        FlowSerializer.ReadParameters(d.Object("parameters"), decoder.Parameters);
        d.EnsureAllRead();
        scope.EnsureAllRead();
        return Build(scope.Path, () => new VariationalAutoencoder<T>(posterior, new LatentVariableModel<T>(prior, decoder)));
    }

    private static void WriteFlow<T>(Utf8JsonWriter writer, TransformedDistribution<T> flow) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var buffer = new MemoryStream();
        flow.Save(buffer);
        writer.WriteRawValue(buffer.ToArray(), skipInputValidation: true);
    }

    // A nested FlowSerializer document; its own errors are reported at its place in this file.
    private static TransformedDistribution<T> ReadFlow<T>(JsonElement element, string path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        try
        {
            return FlowSerializer.Load<T>(JsonMarshal.GetRawUtf8Value(element));
        }
        catch (FlowFormatException e)
        {
            throw new FlowFormatException($"Invalid VAE file at '{path}': {e.Message}", e);
        }
    }

    private static void WriteIntegers(Utf8JsonWriter writer, string name, IReadOnlyList<int> values)
    {
        writer.WriteStartArray(name);
        foreach (int value in values)
        {
            writer.WriteNumberValue(value);
        }

        writer.WriteEndArray();
    }

    private static TResult Build<TResult>(string path, Func<TResult> create)
    {
        try
        {
            return create();
        }
        catch (ArgumentException e)
        {
            throw JsonScope.Error(path, e.Message);
        }
    }
}
