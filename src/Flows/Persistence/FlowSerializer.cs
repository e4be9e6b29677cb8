using System.Buffers;
using System.Numerics;
using System.Security.Cryptography;
using System.Runtime.InteropServices;
using System.Text.Json;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;

namespace Flows.Persistence;

/// <summary>
/// Saves a <see cref="TransformedDistribution{T}"/> to a versioned, self-describing JSON file and loads it back with no
/// code from the caller: the architecture (every bijector's type, hyperparameters and fixed state such as
/// permutations), the base distribution, the element type and every parameter, stored exactly.
/// </summary>
/// <remarks>
/// <para>Format (version 4): a JSON object with <c>format</c>, <c>version</c>, <c>elementType</c>, <c>sha256</c> and
/// <c>flow</c>; <c>sha256</c> is the SHA-256 of the UTF-8 text of <c>flow</c> as stored, so any corruption or edit
/// is detected before anything is built. Numbers are written in their shortest round-trip form, so a double or float
/// parameter reads back bit for bit. Version 2 differs from version 1 only in the order of MADE's hidden units (sorted by
/// degree instead of cyclic); version-1 files are read and reordered, giving the same densities. Version 3 adds, to a
/// conditional MADE, the direct weights from the context to every output (<c>….contextToOutput.weight</c>); files of
/// versions 1 and 2 are read with those weights at zero, which gives their densities bit for bit. Version 4 groups the
/// output units of MADE's last layer (and the rows of its direct context weights) by feature, unit k·P + p being
/// parameter p of the k-th feature in the order, where earlier versions laid them out by parameter block (unit p·d + j);
/// files of versions 1 to 3 are read and reordered, giving the same densities. A flow whose base is
/// another flow stores that base as <c>{"type": "TransformedDistribution", "base": …, "bijector": …}</c>, nested as deep
/// as the flows are (readers older than this addition refuse such a file as having an unknown base type). The bases
/// <c>StudentT</c>, <c>UniformBox</c> (with <c>lower</c> and <c>upper</c>), <c>UniformAngles</c> (with <c>angles</c>, one
/// 0 or 1 per column), <c>Mixture</c> (its <c>logits</c> and its
/// <c>components</c>, each a base as above, flows included) and <c>GaussianMixture</c> (<c>seed</c>,
/// <c>fullCovariance</c>, <c>initialized</c>, <c>logits</c> and its components: <c>DiagonalNormal</c>s, or flows of a
/// <c>LowerTriangularAffine</c> on a standard normal) were added within version 3 in the same
/// way: a file that uses none of them is unchanged, and readers older than their addition refuse a file that uses one
/// as having an unknown base type, which they report rather than misread. A flow with a defensive share (see
/// <see cref="DefensiveShare"/>) adds, within version 3 likewise, <c>defensiveShare</c>: <c>automatic</c>, <c>weight</c>
/// (the share as chosen), <c>weightInUse</c> and <c>gaussian</c> (its bijector); readers older than this addition refuse
/// such a file as having an unexpected property. Angle columns of a <c>ColumnSupports</c> (kind 3, with the turn's
/// <c>lower</c> and <c>upper</c>) were added within version 4 likewise: files without them are unchanged, and readers
/// older than this addition refuse kind 3 by name.</para>
/// <para>Compatibility policy: a file written by this version is loadable by every later version. A later version
/// that changes the format raises <see cref="CurrentVersion"/> and keeps reading every earlier version; a file of a
/// newer version than the reader knows is refused with a <see cref="FlowFormatException"/>.</para>
/// <para>Loading is strict and all-or-nothing: a truncated or corrupted file, a wrong version, an unknown type, a
/// missing or extra property or parameter, a shape mismatch or a non-finite value throws a
/// <see cref="FlowFormatException"/> naming the problem and its path in the file; no partially built flow escapes.</para>
/// </remarks>
public static class FlowSerializer
{
    /// <summary>The format version this library writes.</summary>
    public const int CurrentVersion = 4;

    private const string FormatName = "Flows.TransformedDistribution";
    private const string NestedFlowType = "TransformedDistribution";
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = true };
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };

    /// <summary>Writes <paramref name="flow"/> to <paramref name="stream"/>.</summary>
    /// <param name="flow">The flow.</param>
    /// <param name="stream">A writable stream; left open.</param>
    /// <exception cref="InvalidOperationException">A parameter holds a non-finite value.</exception>
    /// <exception cref="NotSupportedException">A bijector or base distribution type has no saved form.</exception>
    public static void Save<T>(this TransformedDistribution<T> flow, Stream stream) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(stream);
        byte[] payload;
        // Shared with evaluations (spectral-norm vectors refresh under their own lock), exclusive of fits.
        using (flow.EnterEvaluation())
        {
            payload = WriteFlow(flow);
        }

        using var writer = new Utf8JsonWriter(stream, WriterOptions);
        writer.WriteStartObject();
        writer.WriteString("format", FormatName);
        writer.WriteNumber("version", CurrentVersion);
        writer.WriteString("elementType", ElementTypeName<T>());
        writer.WriteString("sha256", Checksum(payload));
        writer.WritePropertyName("flow");
        writer.WriteRawValue(payload, skipInputValidation: true);
        writer.WriteEndObject();
        writer.Flush();
    }

    /// <summary>Writes <paramref name="flow"/> to the file at <paramref name="path"/>, replacing it atomically.</summary>
    /// <remarks>
    /// The flow is serialized in memory, written to a temporary file beside the target (<c>&lt;name&gt;.&lt;random&gt;.tmp</c>
    /// in the same folder, so on the same file system), flushed to disk, and then renamed over the target. A process
    /// killed at any point, or a failed write (full disk), therefore leaves either the old file or the new one at
    /// <paramref name="path"/>, never a truncated one; a killed save may leave its temporary file behind. The rename
    /// replaces the target itself: a symbolic link at <paramref name="path"/> is replaced by the file, and the file gets
    /// default permissions rather than those of the file it replaces.
    /// </remarks>
    /// <param name="flow">The flow.</param>
    /// <param name="path">The file path.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="InvalidOperationException">A parameter holds a non-finite value.</exception>
    /// <exception cref="NotSupportedException">A bijector or base distribution type has no saved form.</exception>
    /// <exception cref="IOException">The temporary file could not be written or renamed (the target is unchanged).</exception>
    /// <exception cref="UnauthorizedAccessException">The folder or the target is not writable (the target is unchanged).</exception>
    public static void Save<T>(this TransformedDistribution<T> flow, string path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // Serialize first so that a failure leaves any existing file untouched.
        using var buffer = new MemoryStream();
        Save(flow, buffer);

        // Write beside the target, not in the temporary folder: a rename is atomic only within one file system.
        string target = Path.GetFullPath(path);
        string temporary = Path.Combine(Path.GetDirectoryName(target) ?? ".", $"{Path.GetFileName(target)}.{Path.GetRandomFileName()}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(buffer.GetBuffer(), 0, checked((int)buffer.Length));

                // Data on disk before the rename makes it visible: otherwise a power loss soon after could leave the new
                // name pointing at a file whose blocks were never written (the zero-length-file problem of delayed allocation).
                stream.Flush(flushToDisk: true);
            }

            // rename(2) on Unix, MoveFileEx with MOVEFILE_REPLACE_EXISTING on Windows: readers see the old file or the
            // new one, never a mix.
            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Reads a flow saved by <see cref="Save{T}(TransformedDistribution{T}, Stream)"/>.</summary>
    /// <param name="stream">A readable stream positioned at the start of the saved flow.</param>
    /// <returns>The flow, with every parameter as saved.</returns>
    /// <exception cref="FlowFormatException">The content is not a valid saved flow of element type <typeparamref name="T"/>.</exception>
    public static TransformedDistribution<T> Load<T>(Stream stream) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Load<T>(buffer.ToArray());
    }

    /// <summary>Reads a flow from the file at <paramref name="path"/>.</summary>
    /// <param name="path">The file path.</param>
    /// <returns>The flow, with every parameter as saved.</returns>
    /// <exception cref="FlowFormatException">The file is not a valid saved flow of element type <typeparamref name="T"/>.</exception>
    public static TransformedDistribution<T> Load<T>(string path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Load<T>(File.ReadAllBytes(path));
    }

    /// <summary>Reads a flow from the bytes of a saved file.</summary>
    /// <param name="content">The file's bytes.</param>
    /// <returns>The flow, with every parameter as saved.</returns>
    /// <exception cref="FlowFormatException">The content is not a valid saved flow of element type <typeparamref name="T"/>.</exception>
    public static TransformedDistribution<T> Load<T>(ReadOnlySpan<byte> content) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!System.Text.Unicode.Utf8.IsValid(content))
        {
            throw new FlowFormatException("Invalid flow file: the content is not valid UTF-8 text.");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(content.ToArray(), DocumentOptions);
        }
        catch (JsonException e)
        {
            throw new FlowFormatException(
                $"Invalid flow file: not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", e);
        }

        using (document)
        {
            var root = new JsonScope(document.RootElement, "$", CurrentVersion);
            string format = root.String("format");
            if (format != FormatName)
            {
                throw JsonScope.Error("$.format", $"expected \"{FormatName}\", found \"{format}\"");
            }

            int version = root.Int32("version");
            if (version < 1 || version > CurrentVersion)
            {
                throw JsonScope.Error("$.version", $"format version {version} is not supported; this version of Flows reads versions 1 to {CurrentVersion}");
            }

            string elementType = root.String("elementType");
            if (elementType != ElementTypeName<T>())
            {
                throw JsonScope.Error("$.elementType", $"the file holds {elementType} parameters but was loaded as {ElementTypeName<T>()}; call Load<{elementType}>");
            }

            string checksum = root.String("sha256");
            JsonElement flowElement = root.Property("flow");
            if (!string.Equals(checksum, Checksum(JsonMarshal.GetRawUtf8Value(flowElement)), StringComparison.OrdinalIgnoreCase))
            {
                throw JsonScope.Error("$.flow", "the SHA-256 checksum does not match; the file was corrupted or edited");
            }

            root.EnsureAllRead();
            return ReadFlow<T>(new JsonScope(flowElement, "$.flow", version));
        }
    }

    private static byte[] WriteFlow<T>(TransformedDistribution<T> flow) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            WriteFlowProperties(writer, flow);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteFlowProperties<T>(Utf8JsonWriter writer, TransformedDistribution<T> flow) where T : unmanaged, IFloatingPointIeee754<T>
    {
        writer.WritePropertyName("base");
        WriteBase(writer, flow.BaseDistribution);
        writer.WritePropertyName("bijector");
        WriteBijector(writer, flow.Bijector);
        if (flow.DefensiveComponent is { } defensive)
        {
            // The share as chosen, the share in use, and the fitted Gaussian (its LowerTriangularAffine, and the flow's
            // ColumnSupports when it has them).
            writer.WriteStartObject("defensiveShare");
            writer.WriteBoolean("automatic", flow.DefensiveShare.IsAutomatic);
            writer.WriteNumber("weight", flow.DefensiveShare.Weight);
            writer.WriteNumber("weightInUse", flow.DefensiveWeight);
            writer.WritePropertyName("gaussian");
            WriteBijector(writer, defensive.Bijector);
            writer.WriteEndObject();
        }
    }

    private static void WriteBase<T>(Utf8JsonWriter writer, IDistribution<T> distribution) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (distribution is TransformedDistribution<T> inner)
        {
            // A flow as the base of another: its own base and bijector, nested, under the type name of a flow.
            writer.WriteStartObject();
            writer.WriteString("type", NestedFlowType);
            using (inner.EnterEvaluation())
            {
                WriteFlowProperties(writer, inner);
            }

            writer.WriteEndObject();
            return;
        }

        string type = distribution switch
        {
            StandardNormal<T> => "StandardNormal",
            DiagonalNormal<T> => "DiagonalNormal",
            StudentT<T> => "StudentT",
            UniformBox<T> => "UniformBox",
            UniformAngles<T> => "UniformAngles",
            Mixture<T> => "Mixture",
            GaussianMixture<T> => "GaussianMixture",
            _ => throw new NotSupportedException($"The base distribution {distribution.GetType().Name} has no saved form."),
        };
        writer.WriteStartObject();
        writer.WriteString("type", type);
        writer.WriteNumber("dimension", distribution.Dimension);
        switch (distribution)
        {
            case UniformBox<T> box:
                writer.WriteNumber("lower", double.CreateTruncating(box.Lower));
                writer.WriteNumber("upper", double.CreateTruncating(box.Upper));
                break;
            case UniformAngles<T> circle:
                writer.WriteStartArray("angles");
                foreach (bool angle in circle.Angles)
                {
                    writer.WriteNumberValue(angle ? 1 : 0);
                }

                writer.WriteEndArray();
                break;
            case Mixture<T> mixture:
                WriteComponents(writer, mixture.Components);
                break;
            case GaussianMixture<T> gaussians:
                writer.WriteNumber("seed", gaussians.Seed);
                writer.WriteBoolean("fullCovariance", gaussians.FullCovariance);
                writer.WriteBoolean("initialized", gaussians.IsInitialized);
                WriteComponents(writer, gaussians.Components);
                break;
        }

        // A mixture's own parameter is its logits; its components hold the rest.
        IReadOnlyList<Parameter<T>> own = distribution switch
        {
            Mixture<T> mixture => [mixture.Logits],
            GaussianMixture<T> gaussians => [gaussians.Logits],
            _ => distribution.Parameters,
        };
        WriteParameters(writer, own, distribution.ToString()!);
        writer.WriteEndObject();
    }

    private static void WriteComponents<T>(Utf8JsonWriter writer, IEnumerable<IDistribution<T>> components) where T : unmanaged, IFloatingPointIeee754<T>
    {
        writer.WriteStartArray("components");
        foreach (IDistribution<T> component in components)
        {
            WriteBase(writer, component);
        }

        writer.WriteEndArray();
    }

    private static void WriteBijector<T>(Utf8JsonWriter writer, IBijector<T> bijector) where T : unmanaged, IFloatingPointIeee754<T>
    {
        SavedForm<T, IBijector<T>> format = SavedForms<T, IBijector<T>>.Of(bijector);
        writer.WriteStartObject();
        writer.WriteString("type", format.Name);
        format.Write(bijector, new JsonSavedFormWriter<T>(writer, WriteBijector));
        if (!format.IsComposite)
        {
            WriteParameters(writer, format.StoredParameters?.Invoke(bijector, CurrentVersion) ?? bijector.Parameters, bijector.ToString()!);
        }

        writer.WriteEndObject();
    }

    internal static void WriteParameters<T>(Utf8JsonWriter writer, IReadOnlyList<Parameter<T>> parameters, string owner)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        writer.WriteStartObject("parameters");
        foreach (Parameter<T> parameter in parameters)
        {
            writer.WriteStartObject(parameter.Name);
            writer.WriteNumber("rows", parameter.Rows);
            writer.WriteNumber("columns", parameter.Columns);
            writer.WriteStartArray("values");
            for (int i = 0; i < parameter.Values.Length; i++)
            {
                T value = parameter.Values[i];
                if (!T.IsFinite(value))
                {
                    throw new InvalidOperationException(
                        $"Parameter '{parameter.Name}' of {owner} holds {value} at index {i}; a flow with non-finite parameters cannot be saved.");
                }

                WriteNumber(writer, value);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    private static TransformedDistribution<T> ReadFlow<T>(JsonScope scope) where T : unmanaged, IFloatingPointIeee754<T>
    {
        IDistribution<T> distribution = ReadBase<T>(scope.Object("base"));
        IBijector<T> bijector = ReadBijector<T>(scope.Object("bijector"));
        if (!scope.Has("defensiveShare"))
        {
            scope.EnsureAllRead();
            return Build(scope.Path, () => new TransformedDistribution<T>(distribution, bijector));
        }

        JsonScope defensive = scope.Object("defensiveShare");
        bool automatic = Boolean(defensive, "automatic");
        double weight = defensive.Double("weight");
        double weightInUse = defensive.Double("weightInUse");
        IBijector<T> gaussian = ReadBijector<T>(defensive.Object("gaussian"));
        defensive.EnsureAllRead();
        scope.EnsureAllRead();
        if (!(weightInUse is >= 0 and <= 0.5) || (!automatic && weightInUse != weight))
        {
            throw JsonScope.Error($"{defensive.Path}.weightInUse",
                $"the share in use must lie in [0, 0.5] and equal a fixed share's weight ({weight}), found {weightInUse}");
        }

        DefensiveShare share = automatic ? DefensiveShare.Automatic : Build(defensive.Path, () => DefensiveShare.Fixed(weight));
        return Build(scope.Path, () => new TransformedDistribution<T>(distribution, bijector, share, weightInUse, gaussian));
    }

    private static IDistribution<T> ReadBase<T>(JsonScope scope) where T : unmanaged, IFloatingPointIeee754<T>
    {
        string type = scope.String("type");
        if (type == NestedFlowType)
        {
            return ReadFlow<T>(scope);
        }

        int dimension = scope.Int32("dimension", minimum: 1);
        IDistribution<T> distribution = type switch
        {
            "StandardNormal" => new StandardNormal<T>(dimension),
            "DiagonalNormal" => new DiagonalNormal<T>(dimension),
            "StudentT" => new StudentT<T>(dimension),
            "UniformBox" => Build(scope.Path, () => new UniformBox<T>(dimension, scope.Double("lower"), scope.Double("upper"))),
            "UniformAngles" => Build(scope.Path, () => new UniformAngles<T>(scope.BooleanArray("angles"))),
            "Mixture" => Build(scope.Path, () => new Mixture<T>([.. Components(scope).Select(ReadBase<T>)])),
            "GaussianMixture" => ReadGaussianMixture<T>(scope, dimension),
            _ => throw JsonScope.Error($"{scope.Path}.type", $"unknown base distribution type \"{type}\""),
        };
        if (distribution.Dimension != dimension)
        {
            throw JsonScope.Error($"{scope.Path}.dimension", $"the components have Dimension {distribution.Dimension}, not {dimension}");
        }

        IReadOnlyList<Parameter<T>> own = distribution switch
        {
            Mixture<T> mixture => [mixture.Logits],
            GaussianMixture<T> gaussians => [gaussians.Logits],
            _ => distribution.Parameters,
        };
        ReadParameters(scope.Object("parameters"), own);
        scope.EnsureAllRead();
        return distribution;
    }

    private static IEnumerable<JsonScope> Components(JsonScope scope)
    {
        int k = 0;
        foreach (JsonElement component in scope.Array("components").EnumerateArray())
        {
            yield return scope.Nested(component, $"{scope.Path}.components[{k++}]");
        }
    }

    // Each component is read as a base and must be of the mixture's kind (a DiagonalNormal, or with full covariance a
    // flow N(0, I) → LowerTriangularAffine) and dimension; its values go into the mixture's own component.
    private static GaussianMixture<T> ReadGaussianMixture<T>(JsonScope scope, int dimension) where T : unmanaged, IFloatingPointIeee754<T>
    {
        JsonScope[] components = [.. Components(scope)];
        bool full = Boolean(scope, "fullCovariance");
        bool initialized = Boolean(scope, "initialized");
        GaussianMixture<T> mixture = Build(scope.Path, () => new GaussianMixture<T>(dimension, components.Length, scope.Int32("seed"), full));
        mixture.IsInitialized = initialized;
        for (int k = 0; k < components.Length; k++)
        {
            IDistribution<T> component = ReadBase<T>(components[k]);
            bool matches = component.Dimension == dimension && (full
                ? component is TransformedDistribution<T> { BaseDistribution: StandardNormal<T>, Bijector: LowerTriangularAffine<T> }
                : component is DiagonalNormal<T>);
            if (!matches)
            {
                throw JsonScope.Error(components[k].Path,
                    $"a GaussianMixture component must be {(full ? "a flow N(0, I) → LowerTriangularAffine" : "a DiagonalNormal")} of dimension {dimension}");
            }

            for (int p = 0; p < component.Parameters.Count; p++)
            {
                component.Parameters[p].Values.CopyTo(mixture.Components[k].Parameters[p].Values, 0);
            }
        }

        return mixture;
    }

    private static bool Boolean(JsonScope scope, string name)
    {
        JsonElement value = scope.Property(name);
        return value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.ValueKind == JsonValueKind.True
            : throw JsonScope.Error($"{scope.Path}.{name}", $"expected true or false, found {JsonScope.Describe(value)}");
    }

    private static IBijector<T> ReadBijector<T>(JsonScope scope) where T : unmanaged, IFloatingPointIeee754<T>
    {
        string type = scope.String("type");
        SavedForm<T, IBijector<T>> format = SavedForms<T, IBijector<T>>.Named(type)
            ?? throw JsonScope.Error($"{scope.Path}.type", $"unknown bijector type \"{type}\"");
        IBijector<T> bijector = Build(scope.Path, () => format.Read(new JsonSavedFormReader<T>(scope, ReadBijector<T>)));
        if (!format.IsComposite)
        {
            ReadParameters(scope.Object("parameters"), format.StoredParameters?.Invoke(bijector, scope.Version) ?? bijector.Parameters);
            format.UpgradeParameters?.Invoke(bijector, scope.Version);
        }

        scope.EnsureAllRead();
        return bijector;
    }

    internal static void ReadParameters<T>(JsonScope scope, IReadOnlyList<Parameter<T>> parameters) where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (Parameter<T> parameter in parameters)
        {
            JsonScope stored = scope.Object(parameter.Name);
            int rows = stored.Int32("rows");
            int columns = stored.Int32("columns");
            if (rows != parameter.Rows || columns != parameter.Columns)
            {
                throw JsonScope.Error(stored.Path, $"shape {rows} × {columns} does not match the expected {parameter.Rows} × {parameter.Columns}");
            }

            JsonElement values = stored.Array("values");
            if (values.GetArrayLength() != parameter.Values.Length)
            {
                throw JsonScope.Error($"{stored.Path}.values", $"holds {values.GetArrayLength()} numbers, expected {parameter.Values.Length}");
            }

            var read = new T[parameter.Values.Length];
            int i = 0;
            foreach (JsonElement value in values.EnumerateArray())
            {
                read[i] = ReadFinite<T>(value, $"{stored.Path}.values[{i}]");
                i++;
            }

            stored.EnsureAllRead();
            read.CopyTo(parameter.Values, 0);
        }

        scope.EnsureAllRead();
    }

    // Shortest round-trip text in the element type itself: ReadFinite gives back the very same bits.
    internal static void WriteNumber<T>(Utf8JsonWriter writer, T value) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            writer.WriteNumberValue(float.CreateTruncating(value));
        }
        else
        {
            writer.WriteNumberValue(double.CreateTruncating(value));
        }
    }

    // Parses in the element type itself, so that the shortest round-trip text gives back the very same bits.
    internal static T ReadFinite<T>(JsonElement value, string path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (typeof(T) == typeof(float) && value.TryGetSingle(out float single) && float.IsFinite(single))
            {
                return T.CreateTruncating(single);
            }

            if (typeof(T) != typeof(float) && value.TryGetDouble(out double number) && double.IsFinite(number))
            {
                return T.CreateTruncating(number);
            }
        }

        throw JsonScope.Error(path, $"expected a finite number, found {JsonScope.Describe(value)}");
    }

    // Runs a constructor, turning its argument errors into format errors at the given path.
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

    // Best effort: the original exception is what the caller needs; a temporary file we cannot delete is only litter.
    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    internal static string Checksum(ReadOnlySpan<byte> payload) => Convert.ToHexStringLower(SHA256.HashData(payload));

    internal static string ElementTypeName<T>() => typeof(T) == typeof(float) ? "float" : typeof(T) == typeof(double) ? "double" : typeof(T).Name;
}
