using System.CommandLine;
using System.Globalization;
using nietras.SeparatedValues;

namespace Flows.Cli.Commands;

/// <summary>Arguments, options and the error handling the subcommands share.</summary>
internal static class CommandParts
{
    /// <summary>The model file argument.</summary>
    public static Argument<string> ModelArgument() => new("model")
    {
        Description = "A model saved by `flows fit` (or a flow saved with FlowSerializer from C#).",
    };

    /// <summary>The data file argument.</summary>
    public static Argument<string> DataArgument(string description) => new("data") { Description = description };

    /// <summary>The --no-header option.</summary>
    public static Option<bool> NoHeaderOption() => new("--no-header")
    {
        Description = "The CSV's first line is data. Without this option the first line is a header unless every cell in it is a number; " +
            "columns without a header are named x1, x2, ….",
    };

    /// <summary>The --seed option.</summary>
    public static Option<int> SeedOption(string what) => new("--seed")
    {
        Description = $"Seed of {what}: the same seed gives the same result.",
        DefaultValueFactory = _ => 0,
    };

    /// <summary>An optional output file; standard output when absent.</summary>
    public static Option<string?> CsvOutputOption() => new("--out", "-o")
    {
        Description = "Write the CSV to this file instead of standard output.",
    };

    /// <summary>Sets <paramref name="command"/>'s action: runs <paramref name="run"/>, turning bad input into one line on
    /// standard error and exit code <see cref="FlowsCommandLine.BadInput"/>.</summary>
    public static void SetAction(Command command, Func<ParseResult, CancellationToken, int> run)
        => command.SetAction((parseResult, cancellationToken) =>
        {
            // The work is synchronous (and long for fit): a thread of its own keeps Ctrl-C handling responsive.
            return Task.Run(() =>
            {
                TextWriter error = parseResult.InvocationConfiguration.Error;
                try
                {
                    return run(parseResult, cancellationToken);
                }
                catch (CliInputException e)
                {
                    error.WriteLine($"flows {command.Name}: {e.Message}");
                    return FlowsCommandLine.BadInput;
                }
            }, CancellationToken.None);
        });

    /// <summary>Splits a comma-separated list of names; empty for null.</summary>
    public static string[] Names(string? list)
        => list is null ? [] : [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    /// <summary>Writes <paramref name="values"/> as CSV with a header to a file, or to standard output.</summary>
    public static void WriteCsv(ParseResult parseResult, string? path, IReadOnlyList<string> names, double[,] values)
    {
        try
        {
            using TextWriter target = path is null ? new NonClosingWriter(parseResult.InvocationConfiguration.Output) : new StreamWriter(path);
            using SepWriter writer = Sep.Writer(o => o with { Sep = new Sep(','), Escape = true }).To(target);
            writer.Header.Add([.. names]);
            int rows = values.GetLength(0);
            for (int r = 0; r < rows; r++)
            {
                using SepWriter.Row row = writer.NewRow();
                for (int c = 0; c < names.Count; c++)
                {
                    // Shortest round-trip text: reading the file back gives the same doubles.
                    row[names[c]].Set(values[r, c].ToString("R", CultureInfo.InvariantCulture));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliInputException($"{path}: cannot be written: {e.Message}", e);
        }
    }

    /// <summary>Wraps the invocation's output writer so that disposing the CSV writer leaves it open.</summary>
    private sealed class NonClosingWriter(TextWriter inner) : TextWriter
    {
        public override System.Text.Encoding Encoding => inner.Encoding;

        public override void Write(char value) => inner.Write(value);

        public override void Write(ReadOnlySpan<char> buffer) => inner.Write(buffer);

        public override void Write(char[] buffer, int index, int count) => inner.Write(buffer, index, count);

        public override void Write(string? value) => inner.Write(value);

        public override void Flush() => inner.Flush();

        protected override void Dispose(bool disposing)
        {
            inner.Flush();
            base.Dispose(disposing);
        }
    }
}
