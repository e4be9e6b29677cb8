using System.CommandLine;
using System.Text.Json.Nodes;
using Flows.Plotting;
using Flows.Training;

namespace Flows.Cli.Commands;

/// <summary><c>flows plot model.json data.csv -o corner.png</c>: a corner plot, density heat map or training curves.</summary>
internal static class PlotCommand
{
    private static readonly string[] Kinds = ["corner", "density", "curves"];

    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        Argument<string> model = CommandParts.ModelArgument();
        var data = new Argument<string?>("data")
        {
            Description = "The CSV file to draw against the model's samples (corner) or over its density (density); not needed for curves.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var output = new Option<string>("--out", "-o")
        {
            Description = "The image to write: .png or .svg.",
            DefaultValueFactory = _ => "corner.png",
        };
        var kind = new Option<string>("--kind", "-k")
        {
            Description = "corner: data against samples, pairwise scatter and marginal histograms; density: the fitted density of a " +
                "2-D model as a heat map with the data over it; curves: training and validation loss per epoch of the fit.",
            DefaultValueFactory = _ => "corner",
        };
        kind.AcceptOnlyFromAmong(Kinds);
        var count = new Option<int?>("--count", "-n")
        {
            Description = "Samples drawn for the corner plot. Default: as many as the data's rows, at most 5,000. A conditional model " +
                "draws one sample per data row, at that row's context.",
        };
        var features = new Option<string?>("--features")
        {
            Description = "Comma-separated features to show in the corner plot. Default: the first 8.",
        };
        Option<int> seed = CommandParts.SeedOption("the samples");
        Option<bool> noHeader = CommandParts.NoHeaderOption();
        var command = new Command("plot", "Draw the model against data, headless, to a PNG or SVG file.")
        {
            model, data, output, kind, count, features, seed, noHeader,
        };
        CommandParts.SetAction(command, (parseResult, _) =>
        {
            string modelPath = parseResult.GetRequiredValue(model);
            ModelFile loaded = ModelFile.Load(modelPath);
            string outputPath = parseResult.GetRequiredValue(output);
            string extension = Path.GetExtension(outputPath).ToUpperInvariant();
            if (extension is not (".PNG" or ".SVG"))
            {
                throw new CliInputException($"--out {outputPath}: the image is written as PNG or SVG, by its extension (.png or .svg).");
            }

            string what = parseResult.GetRequiredValue(kind);
            Figure figure = what == "curves"
                ? Curves(loaded, modelPath)
                : Against(parseResult, loaded, what, parseResult.GetValue(data), parseResult.GetValue(noHeader), parseResult.GetValue(count),
                    CommandParts.Names(parseResult.GetValue(features)), parseResult.GetValue(seed));
            try
            {
                figure.Save(outputPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliInputException($"{outputPath}: cannot be written: {e.Message}", e);
            }

            parseResult.InvocationConfiguration.Error.WriteLine($"Wrote {outputPath} ({figure.Width} × {figure.Height}).");
            return 0;
        });
        return command;
    }

    private static Figure Against(ParseResult parseResult, ModelFile model, string kind, string? dataPath, bool noHeader, int? count,
        string[] featureNames, int seed)
    {
        if (dataPath is null)
        {
            throw new CliInputException($"plot --kind {kind} needs a data file: flows plot MODEL DATA.csv.");
        }

        CsvTable table = CsvTable.Read(dataPath, noHeader);
        double[,] x = table.Matrix(model.Features, "feature");
        double[,]? context = model.Context.Count > 0 ? table.Matrix(model.Context, "context") : null;
        if (kind == "density")
        {
            if (model.Flow.Dimension != 2 || model.Flow.ContextDimension != 0)
            {
                throw new CliInputException($"plot --kind density draws unconditional 2-D models; this one has {model.Flow.Dimension} " +
                    $"features and {model.Flow.ContextDimension} context columns. Use --kind corner.");
            }

            return FlowPlots.Density(model.Flow, x, model.Features);
        }

        int rows = x.GetLength(0);
        int n = context is not null ? rows : count ?? Math.Min(rows, 5000);
        if (n <= 0)
        {
            throw new CliInputException($"--count {n}: the number of samples must be positive.");
        }

        double[,] samples = model.Flow.Sample(n, new Random(seed), context);
        int[]? shown = featureNames.Length == 0 ? null : [.. featureNames.Select(name =>
        {
            int index = model.Features.ToList().IndexOf(name);
            return index >= 0 ? index : throw new CliInputException($"--features: \"{name}\" is not a feature of the model; its features are {string.Join(", ", model.Features)}.");
        })];
        if (shown is null && model.Features.Count > 8)
        {
            parseResult.InvocationConfiguration.Error.WriteLine($"Showing the first 8 of {model.Features.Count} features; choose others with --features.");
        }

        // About 900 pixels across whatever the number of features, each panel between 150 and 300 pixels.
        int panels = shown?.Length ?? Math.Min(model.Features.Count, new CornerOptions().MaxFeatures);
        var options = new CornerOptions { Features = shown, DataLabel = Path.GetFileName(dataPath), PanelSize = Math.Clamp(900 / panels, 150, 300) };
        return FlowPlots.Corner(x, samples, model.Features, options);
    }

    private static Figure Curves(ModelFile model, string modelPath)
    {
        if (model.Fit?["history"] is not JsonArray history || history.Count == 0)
        {
            throw new CliInputException($"{modelPath}: holds no fit history (a flow saved from C#?); --kind curves needs a model from `flows fit`.");
        }

        EpochReport[] epochs = [.. history.Select(e => new EpochReport((int)e![0]!, (double)e[1]!, e[2] is null ? null : (double)e[2]!))];
        return FlowPlots.TrainingCurves(epochs, (int?)model.Fit["bestEpoch"]);
    }
}
