using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Training;
using Spectre.Console;

namespace Flows.Cli.Commands;

/// <summary><c>flows fit data.csv</c>: fits a preset flow to columns of a CSV file and saves it.</summary>
internal static class FitCommand
{
    /// <summary>The flows <c>--flow</c> accepts.</summary>
    public static readonly string[] Presets = ["nsf", "maf", "realnvp", "nsf-coupling", "iaf", "circular"];

    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        Argument<string> data = CommandParts.DataArgument("The CSV file to fit: a header line, then one row per sample.");
        var columns = new Option<string?>("--columns", "-c")
        {
            Description = "Comma-separated feature columns, by name, in the order the flow models them. Default: every column " +
                "whose first row is a number, less the context columns.",
        };
        var context = new Option<string?>("--context")
        {
            Description = "Comma-separated context columns: the flow models p(features | context). Default: none.",
        };
        var flow = new Option<string>("--flow", "-f")
        {
            Description = "The preset: nsf (neural spline flow, autoregressive), maf (masked autoregressive), realnvp (affine " +
                "coupling), nsf-coupling (spline coupling), iaf (inverse autoregressive: fast to sample, slow to score), circular " +
                "(circular spline flow for the angle columns named by --angles, beside real ones; it does not standardize the real " +
                "columns, so give them at about unit scale).",
            DefaultValueFactory = _ => "nsf",
        };
        flow.AcceptOnlyFromAmong(Presets);
        var transforms = new Option<int>("--transforms", "-t") { Description = "Layers of the flow.", DefaultValueFactory = _ => 5 };
        var hidden = new Option<string>("--hidden-features")
        {
            Description = "Hidden widths of each layer's conditioner network, comma-separated (zuko's hidden_features).",
            DefaultValueFactory = _ => "64,64",
        };
        var bins = new Option<int>("--bins") { Description = "Spline bins (nsf, nsf-coupling, circular).", DefaultValueFactory = _ => 8 };
        var angles = new Option<string?>("--angles")
        {
            Description = "Comma-separated angle columns, in radians (or the units of --angle-range), for --flow circular (required " +
                "there, refused elsewhere): any period is read modulo 2π, and samples lie in [−π, π). The other features are real.",
        };
        var angleRange = new Option<string?>("--angle-range")
        {
            Description = "One turn of the --angles columns in their own units, lower,upper: 0,360 or -180,180 for degrees, 0,24 for " +
                "hours of the day. Default: radians on [−π, π). Values outside the turn wrap (370 is 10 on 0,360); samples lie in " +
                "[lower, upper) and scores are per unit of the data.",
        };
        var epochs = new Option<int?>("--epochs", "-e")
        {
            Description = "Passes over the data at most. Default: 100, or more when the data are small, so that the fit may take " +
                "20,000 steps; early stopping usually ends it sooner.",
        };
        var batchSize = new Option<int>("--batch-size") { Description = "Rows per minibatch.", DefaultValueFactory = _ => 256 };
        var learningRate = new Option<double>("--learning-rate", "--lr") { Description = "Adam's learning rate.", DefaultValueFactory = _ => 1e-3 };
        var validation = new Option<double?>("--validation-fraction")
        {
            Description = "Share of rows held out for early stopping. Default: 20 % of a small table, 10 % of a large one.",
        };
        var patience = new Option<int?>("--patience")
        {
            Description = "Epochs without a better validation loss before stopping. Default: 10, or more when epochs are short.",
        };
        Option<int> seed = CommandParts.SeedOption("the initial weights, the validation split and the shuffling");
        var output = new Option<string>("--out", "-o") { Description = "The model file to write.", DefaultValueFactory = _ => "model.json" };
        Option<bool> noHeader = CommandParts.NoHeaderOption();
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress bar; only the summary." };

        var command = new Command("fit",
            "Fit a normalizing flow to columns of a CSV file and save it. Progress shows epoch, losses and time left; Ctrl-C " +
            "stops the fit and saves the best epoch so far. The data are standardized inside the flow (a layer saved with it), " +
            "so densities and samples are in the data's own units.")
        {
            data, columns, context, flow, transforms, hidden, bins, angles, angleRange, epochs, batchSize, learningRate, validation, patience, seed, output, noHeader, quiet,
        };
        CommandParts.SetAction(command, (parseResult, cancellationToken) =>
        {
            string path = parseResult.GetRequiredValue(data);
            CsvTable table = CsvTable.Read(path, parseResult.GetValue(noHeader));
            string[] contextNames = CommandParts.Names(parseResult.GetValue(context));
            string[] featureNames = CommandParts.Names(parseResult.GetValue(columns));
            if (featureNames.Length == 0)
            {
                featureNames = [.. table.NumericColumns().Where(c => !contextNames.Contains(c))];
                string[] skipped = [.. table.Names.Except(table.NumericColumns()).Except(contextNames)];
                if (skipped.Length > 0)
                {
                    parseResult.InvocationConfiguration.Error.WriteLine($"Not fitting the non-numeric column(s) {string.Join(", ", skipped)}.");
                }

                if (featureNames.Length == 0)
                {
                    throw new CliInputException($"{path}: no numeric column to fit besides the context; name the features with --columns.");
                }
            }

            TextWriter error = parseResult.InvocationConfiguration.Error;
            if (!table.HasHeader)
            {
                error.WriteLine($"{path} has no header line: its columns are named {string.Join(", ", table.Names)}.");
            }

            double[,] x = table.Matrix(featureNames, "feature");
            double[,]? c = contextNames.Length > 0 ? table.Matrix(contextNames, "context") : null;
            string preset = parseResult.GetRequiredValue(flow);
            int[] hiddenFeatures = ParseWidths(parseResult.GetRequiredValue(hidden));
            int layerCount = parseResult.GetValue(transforms);
            int binCount = parseResult.GetValue(bins);
            int seedValue = parseResult.GetValue(seed);
            string[] angleNames = AngleColumns(preset, CommandParts.Names(parseResult.GetValue(angles)), featureNames);
            Support angle = AngleSupport(parseResult.GetValue(angleRange), angleNames);
            // Each feature's support, in one place: the --angles columns are angles, the others real.
            Support[] supports = [.. featureNames.Select(f => angleNames.Contains(f) ? angle : Support.Real)];
            TransformedDistribution<double> model = CreateFlow(preset, featureNames.Length, layerCount, hiddenFeatures, binCount, contextNames.Length, seedValue,
                supports);

            var options = new FitOptions
            {
                Epochs = parseResult.GetValue(epochs),
                BatchSize = parseResult.GetValue(batchSize),
                Optimizer = new AdamOptions { LearningRate = parseResult.GetValue(learningRate) },
                ValidationFraction = parseResult.GetValue(validation),
                Patience = parseResult.GetValue(patience),
                Seed = seedValue,
            };
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Fitting {preset} ({layerCount} transforms, hidden features [{string.Join(", ", hiddenFeatures)}]) to {table.RowCount} rows of " +
                $"{path}: features {string.Join(", ", featureNames)}{(contextNames.Length > 0 ? $"; context {string.Join(", ", contextNames)}" : "")}."));

            (FitReport report, bool cancelled) = Run(model, x, c, options, path, error, parseResult.GetValue(quiet), cancellationToken);
            string outputPath = parseResult.GetRequiredValue(output);
            var fit = Describe(report, preset, layerCount, hiddenFeatures, binCount, angleNames, angle, seedValue, Path.GetFileName(path), table.RowCount);
            new ModelFile(model, featureNames, contextNames, fit).Save(outputPath);

            foreach (string warning in report.Warnings)
            {
                error.WriteLine($"warning: {warning}");
            }

            if (report.Divergence is string divergence)
            {
                error.WriteLine($"warning: {divergence}");
            }

            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(cancelled ? "Cancelled" : report.Status.ToString())} after {report.History.Count} epochs ({report.Steps} steps); kept epoch " +
                $"{report.BestEpoch}, {(report.Initial.ValidationLoss is null ? "training" : "validation")} loss {report.BestLoss:F4} nats per row " +
                $"(start {report.InitialLoss:F4}). Saved {outputPath}."));
            return 0;
        });
        return command;
    }

    /// <summary>Builds the preset named by <c>--flow</c> with one support per feature (<paramref name="supports"/>; null
    /// for all real): the circular flow takes its angle columns from them, and the other presets refuse an angle.</summary>
    /// <exception cref="CliInputException">The preset refuses the sizes or supports given (RealNVP with one feature, an
    /// angle column in a real-line preset, a circular flow without one).</exception>
    public static TransformedDistribution<double> CreateFlow(string preset, int dimension, int transforms, int[] hiddenFeatures, int binCount,
        int contextDimension, int seed, IReadOnlyList<Support>? supports = null)
    {
        try
        {
            return preset switch
            {
                "maf" => MaskedAutoregressiveFlow.Create<double>(dimension, transforms, hiddenFeatures, contextDimension, seed: seed, supports: supports),
                "nsf" => NeuralSplineFlow.Create<double>(dimension, transforms, binCount, hiddenFeatures, contextDimension: contextDimension, seed: seed,
                    supports: supports),
                "nsf-coupling" => NeuralSplineFlow.Create<double>(dimension, transforms, binCount, hiddenFeatures, coupling: true,
                    contextDimension: contextDimension, seed: seed, supports: supports),
                "realnvp" => RealNvpFlow.Create<double>(dimension, transforms, hiddenFeatures, contextDimension, seed, supports: supports),
                "iaf" => InverseAutoregressiveFlow.Create<double>(dimension, transforms, hiddenFeatures, contextDimension, seed: seed, supports: supports),
                "circular" => CircularSplineFlow.Create<double>(supports ?? [.. Enumerable.Repeat(Support.Real, dimension)], transforms, binCount,
                    hiddenFeatures, contextDimension: contextDimension, seed: seed),
                _ => throw new CliInputException($"--flow {preset}: unknown preset; choose one of {string.Join(", ", Presets)}."),
            };
        }
        catch (ArgumentException e)
        {
            throw new CliInputException($"--flow {preset} with {dimension} feature(s): {e.Message}", e);
        }
    }

    // The --angles names, checked against the preset and the features: required by the circular flow, refused by others.
    private static string[] AngleColumns(string preset, string[] names, string[] featureNames)
    {
        if (preset != "circular")
        {
            return names.Length == 0 ? names : throw new CliInputException(
                $"--angles applies to --flow circular only, not to --flow {preset}: \"{names[0]}\" would be an angle, and {preset}'s layers act on " +
                "the real line, so its density would jump where the angle wraps.");
        }

        if (names.Length == 0)
        {
            throw new CliInputException("--flow circular needs --angles: name the angle columns (radians), such as --angles phi,psi.");
        }

        foreach (string name in names)
        {
            if (!featureNames.Contains(name))
            {
                throw new CliInputException($"--angles {string.Join(",", names)}: \"{name}\" is not among the features ({string.Join(", ", featureNames)}).");
            }
        }

        return names;
    }

    // The support of the --angles columns: radians on [−π, π) unless --angle-range gives another turn.
    private static Support AngleSupport(string? range, string[] angleNames)
    {
        if (range is null)
        {
            return Support.Angle();
        }

        if (angleNames.Length == 0)
        {
            throw new CliInputException($"--angle-range {range} applies to the --angles columns; name them with --angles (and --flow circular).");
        }

        string[] parts = range.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double lower)
            || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double upper))
        {
            throw new CliInputException($"--angle-range {range}: give the start and the end of one turn as two numbers, such as 0,360.");
        }

        try
        {
            return Support.Angle(lower, upper);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new CliInputException($"--angle-range {range}: {e.Message.Split(Environment.NewLine)[0]}", e);
        }
    }

    private static int[] ParseWidths(string text)
    {
        string[] parts = CommandParts.Names(text);
        int[] widths = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out widths[i]) || widths[i] <= 0)
            {
                throw new CliInputException($"--hidden-features {text}: \"{parts[i]}\" is not a positive whole number.");
            }
        }

        return parts.Length > 0 ? widths : throw new CliInputException("--hidden-features: give at least one width, such as 64,64.");
    }

    /// <summary>Fits with a progress bar on standard error; a cancellation returns the report of the best epoch kept.</summary>
    private static (FitReport Report, bool Cancelled) Run(TransformedDistribution<double> flow, double[,] x, double[,]? context, FitOptions options,
        string path, TextWriter error, bool quiet, CancellationToken cancellationToken)
    {
        try
        {
            if (quiet)
            {
                return (flow.Fit(x, context, options, cancellationToken), false);
            }

            IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(error) });
            int budget = options.EpochBudget(x.GetLength(0));
            return console.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                    new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(progress =>
                {
                    ProgressTask task = progress.AddTask("epoch 0", maxValue: budget);
                    var reporter = new EpochProgress(task, budget);
                    FitReport report = flow.Fit(x, context, options with { Progress = reporter }, cancellationToken);
                    task.Value = task.MaxValue;
                    return (report, false);
                });
        }
        catch (FitCanceledException<FitReport> e) when (e.Report is not null)
        {
            return (e.Report, true);
        }
        catch (ArgumentException e)
        {
            throw new CliInputException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>What the model file records of the fit.</summary>
    private static JsonObject Describe(FitReport report, string preset, int transforms, int[] hiddenFeatures, int binCount, string[] angles,
        Support angle, int seed, string dataFile, int rows)
    {
        var history = new JsonArray();
        foreach (EpochReport epoch in report.History.Prepend(report.Initial))
        {
            history.Add(new JsonArray(epoch.Epoch, epoch.TrainLoss, epoch.ValidationLoss));
        }

        return new JsonObject
        {
            ["preset"] = preset,
            ["transforms"] = transforms,
            ["hiddenFeatures"] = new JsonArray([.. hiddenFeatures.Select(h => JsonValue.Create(h))]),
            ["binCount"] = preset.StartsWith("nsf", StringComparison.Ordinal) || preset == "circular" ? binCount : null,
            ["angles"] = angles.Length > 0 ? new JsonArray([.. angles.Select(a => JsonValue.Create(a))]) : null,
            ["angleRange"] = angles.Length > 0 ? new JsonArray(angle.Lower, angle.Upper) : null,
            ["seed"] = seed,
            ["data"] = dataFile,
            ["rows"] = rows,
            ["status"] = report.Status.ToString(),
            ["epochs"] = report.History.Count,
            ["steps"] = report.Steps,
            ["bestEpoch"] = report.BestEpoch,
            ["bestLoss"] = report.BestLoss,
            ["initialLoss"] = report.InitialLoss,
            ["watched"] = report.Initial.ValidationLoss is null ? "training" : "validation",
            ["history"] = history,
        };
    }

    /// <summary>Moves the progress bar once per epoch, on the fitting thread (a synchronous <see cref="IProgress{T}"/>).</summary>
    private sealed class EpochProgress(ProgressTask task, int budget) : IProgress<EpochReport>
    {
        private double _best = double.PositiveInfinity;
        private int _bestEpoch;

        public void Report(EpochReport value)
        {
            double watched = value.ValidationLoss ?? value.TrainLoss;
            if (watched < _best)
            {
                _best = watched;
                _bestEpoch = value.Epoch;
            }

            string validation = value.ValidationLoss is double v ? string.Create(CultureInfo.InvariantCulture, $" val {v,8:F4}") : "";
            task.Description = string.Create(CultureInfo.InvariantCulture,
                $"epoch {value.Epoch,4}/{budget}  train {value.TrainLoss,8:F4}{validation}  best {_best:F4} @ {_bestEpoch}");
            task.Value = value.Epoch;
        }
    }
}
