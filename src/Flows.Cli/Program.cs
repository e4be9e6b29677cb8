namespace Flows.Cli;

/// <summary>The <c>flows</c> command's entry point.</summary>
internal static class Program
{
    /// <summary>Runs the command line; Ctrl-C cancels the running command (a fit keeps its best epoch).</summary>
    /// <param name="args">The arguments after <c>flows</c>.</param>
    /// <returns>0 on success, 1 for a usage error, 2 for bad input (file, row and column named on standard error).</returns>
    public static Task<int> Main(string[] args) => FlowsCommandLine.RunAsync(args, Console.Out, Console.Error, CancellationToken.None);
}
