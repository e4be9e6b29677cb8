using System.CommandLine;
using System.Globalization;

namespace Flows.Cli.Commands;

/// <summary><c>flows score model.json data.csv</c>: the log-density of each row, as CSV.</summary>
internal static class ScoreCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        Argument<string> model = CommandParts.ModelArgument();
        Argument<string> data = CommandParts.DataArgument("The CSV file to score; it must hold the model's feature (and context) columns, by name.");
        Option<string?> output = CommandParts.CsvOutputOption();
        Option<bool> noHeader = CommandParts.NoHeaderOption();
        var command = new Command("score",
            "Write the log-density of each row of a CSV file under the model (natural log, in the data's units), as a CSV " +
            "with one column, log_density, in the rows' order. The mean goes to standard error.")
        {
            model, data, output, noHeader,
        };
        CommandParts.SetAction(command, (parseResult, _) =>
        {
            ModelFile loaded = ModelFile.Load(parseResult.GetRequiredValue(model));
            string path = parseResult.GetRequiredValue(data);
            CsvTable table = CsvTable.Read(path, parseResult.GetValue(noHeader));
            double[,] x = table.Matrix(loaded.Features, "feature");
            double[,]? context = loaded.Context.Count > 0 ? table.Matrix(loaded.Context, "context") : null;
            double[] logDensity;
            try
            {
                logDensity = loaded.Flow.DensityLn(x, context);
            }
            catch (ArgumentException e)
            {
                throw new CliInputException($"{path}: {e.Message}", e);
            }

            var column = new double[logDensity.Length, 1];
            Buffer.BlockCopy(logDensity, 0, column, 0, logDensity.Length * sizeof(double));
            CommandParts.WriteCsv(parseResult, parseResult.GetValue(output), ["log_density"], column);
            parseResult.InvocationConfiguration.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Scored {logDensity.Length} rows of {path}: mean log-density {logDensity.Average():F4} nats per row."));
            return 0;
        });
        return command;
    }
}
