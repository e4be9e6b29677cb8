using System.CommandLine;
using Flows.Cli.Commands;

namespace Flows.Cli;

/// <summary>Builds the <c>flows</c> root command from its subcommands and runs it.</summary>
/// <remarks>A new subcommand (such as <c>export-onnx</c> once ONNX export exists) is one file in Commands/ with a
/// static <c>Create()</c>, and one entry in <see cref="Subcommands"/>.</remarks>
internal static class FlowsCommandLine
{
    /// <summary>Exit code of bad input: a missing file or column, a non-numeric cell, an unreadable model.</summary>
    public const int BadInput = 2;

    /// <summary>The subcommands, in the order <c>flows --help</c> lists them.</summary>
    public static IEnumerable<Command> Subcommands()
    {
        yield return FitCommand.Create();
        yield return ScoreCommand.Create();
        yield return SampleCommand.Create();
        yield return PlotCommand.Create();
        yield return ExportOnnxCommand.Create();
        yield return InfoCommand.Create();
    }

    /// <summary>The root command with every subcommand.</summary>
    public static RootCommand Create()
    {
        var root = new RootCommand(
            "Normalizing flows from the command line: fit a flow to the numeric columns of a CSV file, score rows by " +
            "log-density, draw samples, plot, export to ONNX and inspect a saved model.");
        foreach (Command command in Subcommands())
        {
            root.Add(command);
        }

        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>, writing to <paramref name="output"/> and <paramref name="error"/>.</summary>
    /// <param name="args">The arguments after <c>flows</c>.</param>
    /// <param name="output">Standard output: CSV results, tables, help.</param>
    /// <param name="error">Standard error: progress, messages, errors.</param>
    /// <param name="cancellationToken">Cancels the command, as Ctrl-C does.</param>
    /// <returns>The exit code.</returns>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var configuration = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            // A cancelled fit restores its best epoch and saves it before the command returns.
            ProcessTerminationTimeout = TimeSpan.FromSeconds(60),
        };
        return Create().Parse(args).InvokeAsync(configuration, cancellationToken);
    }
}
