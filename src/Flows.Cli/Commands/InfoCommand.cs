using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Flows.Bijectors;
using Spectre.Console;

namespace Flows.Cli.Commands;

/// <summary><c>flows info model.json</c>: what a model is, what it was fitted to and how the fit ended.</summary>
internal static class InfoCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        Argument<string> model = CommandParts.ModelArgument();
        var command = new Command("info", "Describe a model: its columns, layers and parameter count, the data's standardization, and how the fit ended.")
        {
            model,
        };
        CommandParts.SetAction(command, (parseResult, _) =>
        {
            string path = parseResult.GetRequiredValue(model);
            ModelFile loaded = ModelFile.Load(path);
            IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(parseResult.InvocationConfiguration.Output) });
            var table = new Table().AddColumn("property").AddColumn("value");
            table.Title = new TableTitle(Markup.Escape(path));
            void Row(string name, string value) => table.AddRow(Markup.Escape(name), Markup.Escape(value));

            Row("features", string.Join(", ", loaded.Features));
            Row("context", loaded.Context.Count == 0 ? "none" : string.Join(", ", loaded.Context));
            Row("parameters", loaded.Flow.Parameters.Sum(p => (long)p.Values.Length).ToString("N0", CultureInfo.InvariantCulture));
            Row("base", loaded.Flow.BaseDistribution.ToString() ?? "");
            IReadOnlyList<IBijector<double>> layers = loaded.Flow.Bijector is Chain<double> chain ? chain.Parts : [loaded.Flow.Bijector];
            Row("layers", string.Join(Environment.NewLine, layers.Select((l, i) => $"{i + 1}. {Short(l)}")));
            if (layers.OfType<Standardization<double>>().FirstOrDefault() is { IsInitialized: true } standardization)
            {
                Row("standardization", string.Join(Environment.NewLine, loaded.Features.Select((f, i) => string.Create(CultureInfo.InvariantCulture,
                    $"{f}: mean {standardization.Mean[i]:G6}, scale {standardization.Scale[i]:G6}"))));
            }

            if (loaded.Fit is JsonObject fit)
            {
                foreach (string key in (string[])["preset", "transforms", "hiddenFeatures", "binCount", "angles", "angleRange", "seed", "data", "rows", "status", "epochs", "steps", "bestEpoch"])
                {
                    if (fit[key] is JsonNode node)
                    {
                        Row(key, node.ToJsonString());
                    }
                }

                Row($"{fit["watched"]} loss", string.Create(CultureInfo.InvariantCulture,
                    $"{(double)fit["bestLoss"]!:F4} at the epoch kept, {(double)fit["initialLoss"]!:F4} at the start (nats per row)"));
            }
            else
            {
                Row("fit", "not recorded: a flow saved from C# (FlowSerializer)");
            }

            console.Write(table);
            return 0;
        });
        return command;
    }

    // A layer's constructor-like text; a long one (a MADE lists its widths, order and transform) is cut to its
    // dimension, so that each layer keeps to one line of the table.
    private static string Short(IBijector<double> layer)
    {
        string text = layer.ToString() ?? layer.GetType().Name;
        int cut = text.IndexOf(", ", StringComparison.Ordinal);
        return text.Length <= 48 || cut < 0 ? text : text[..cut] + ", …)";
    }
}
