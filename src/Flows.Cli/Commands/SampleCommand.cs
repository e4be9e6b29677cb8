using System.CommandLine;
using System.Globalization;

namespace Flows.Cli.Commands;

/// <summary><c>flows sample model.json -n 10000</c>: draws from the model, as CSV.</summary>
internal static class SampleCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        Argument<string> model = CommandParts.ModelArgument();
        var count = new Option<int>("--count", "-n") { Description = "Samples to draw.", DefaultValueFactory = _ => 1000 };
        Option<int> seed = CommandParts.SeedOption("the draws");
        var given = new Option<string?>("--given")
        {
            Description = "For a conditional model: the context to sample at, as name=value pairs, comma-separated " +
                "(e.g. --given temperature=20.5,pressure=1).",
        };
        Option<string?> output = CommandParts.CsvOutputOption();
        var command = new Command("sample",
            "Draw samples from the model and write them as CSV, one column per feature under the names the model was fitted with.")
        {
            model, count, seed, given, output,
        };
        CommandParts.SetAction(command, (parseResult, _) =>
        {
            string modelPath = parseResult.GetRequiredValue(model);
            ModelFile loaded = ModelFile.Load(modelPath);
            int n = parseResult.GetValue(count);
            if (n <= 0)
            {
                throw new CliInputException($"--count {n}: the number of samples must be positive.");
            }

            double[,]? context = Context(loaded, modelPath, parseResult.GetValue(given), n);
            double[,] samples = loaded.Flow.Sample(n, new Random(parseResult.GetValue(seed)), context);
            CommandParts.WriteCsv(parseResult, parseResult.GetValue(output), loaded.Features, samples);
            return 0;
        });
        return command;
    }

    /// <summary>The context row of <c>--given</c>, repeated <paramref name="rows"/> times; null for an unconditional model.</summary>
    private static double[,]? Context(ModelFile model, string modelPath, string? given, int rows)
    {
        if (model.Context.Count == 0)
        {
            return given is null ? null : throw new CliInputException($"--given: {modelPath} is not a conditional model; it has no context columns.");
        }

        if (given is null)
        {
            throw new CliInputException($"{modelPath} is conditional on {string.Join(", ", model.Context)}: give their values with --given " +
                $"{string.Join(",", model.Context.Select(c => c + "=…"))}.");
        }

        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string pair in CommandParts.Names(given))
        {
            string[] parts = pair.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
            {
                throw new CliInputException($"--given: \"{pair}\" is not name=number.");
            }

            values[parts[0]] = value;
        }

        var context = new double[rows, model.Context.Count];
        for (int c = 0; c < model.Context.Count; c++)
        {
            if (!values.TryGetValue(model.Context[c], out double value))
            {
                throw new CliInputException($"--given: no value for the context column \"{model.Context[c]}\"; the model's context is {string.Join(", ", model.Context)}.");
            }

            for (int r = 0; r < rows; r++)
            {
                context[r, c] = value;
            }
        }

        return context;
    }
}
