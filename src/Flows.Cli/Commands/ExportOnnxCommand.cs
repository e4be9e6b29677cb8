using System.CommandLine;
using System.Globalization;
using Flows.Onnx;

namespace Flows.Cli.Commands;

/// <summary><c>flows export-onnx model.json -o model.onnx</c>: the model as ONNX graphs (see <see cref="OnnxExport"/>).</summary>
internal static class ExportOnnxCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        Argument<string> model = CommandParts.ModelArgument();
        var output = new Option<string>("--out", "-o")
        {
            Description = "The log-density model's file (.onnx); the sampling model goes next to it as .sample.onnx.",
            Required = true,
        };
        var graphs = new Option<OnnxGraphs>("--graphs")
        {
            Description = "Which graphs to write: Density, Sampling or Both.",
            DefaultValueFactory = _ => OnnxGraphs.Both,
        };
        var command = new Command("export-onnx",
            $"Export the model as ONNX (operator set {OnnxExport.Opset}): a log-density graph (inputs x and, for a conditional " +
            "model, context; outputs log_prob and z) and a sampling graph (inputs z, standard-normal draws, context, and for " +
            "a model with a defensive share u, N × 1 uniform draws on [0, 1) that choose the component; outputs x and log_prob), " +
            "which run in ONNX Runtime from any language. The graphs take the data in the model's feature order. log_prob " +
            "includes the model's defensive share, and with uniform u the sampling graph's x is a draw of the same mixture.")
        {
            model, output, graphs,
        };
        CommandParts.SetAction(command, (parseResult, _) =>
        {
            ModelFile loaded = ModelFile.Load(parseResult.GetRequiredValue(model));
            string path = parseResult.GetRequiredValue(output);
            OnnxExportReport report;
            try
            {
                report = loaded.Flow.ExportOnnx(path, parseResult.GetValue(graphs));
            }
            catch (Exception e) when (e is NotSupportedException or InvalidOperationException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                throw new CliInputException($"{path}: {e.Message}", e);
            }

            TextWriter error = parseResult.InvocationConfiguration.Error;
            if (report.DensityPath is { } density)
            {
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Wrote {density} (log-density: {report.DensityNodeCount} nodes, {report.DensityBytes:N0} bytes)."));
            }

            if (report.SamplingPath is { } sampling)
            {
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Wrote {sampling} (sampling: {report.SamplingNodeCount} nodes, {report.SamplingBytes:N0} bytes)."));
            }

            error.WriteLine($"Inputs and outputs in feature order: {string.Join(", ", loaded.Features)}" +
                (loaded.Context.Count > 0 ? $"; context: {string.Join(", ", loaded.Context)}." : "."));
            return 0;
        });
        return command;
    }
}
