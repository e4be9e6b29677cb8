using Flows.Cli;

namespace Flows.Cli.Tests;

/// <summary>The result of one in-process run of the <c>flows</c> command.</summary>
internal sealed record CliResult(int ExitCode, string Output, string Error);

/// <summary>A scratch folder with small CSV files, in which the tool's entry point runs in-process.</summary>
internal sealed class CliScratch : IDisposable
{
    public CliScratch()
    {
        Folder = Directory.CreateTempSubdirectory("flows-cli-").FullName;
    }

    public string Folder { get; }

    public string PathOf(string name) => Path.Combine(Folder, name);

    /// <summary>Writes a file into the scratch folder and returns its path.</summary>
    public string Write(string name, string text)
    {
        string path = PathOf(name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>The first <paramref name="rows"/> rows of the two-moons training data, with a header x,y.</summary>
    public string Moons(int rows, string name = "moons.csv")
    {
        string[] lines = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "data", "moons2d_train.csv")).Take(rows).ToArray();
        return Write(name, "x,y\n" + string.Join("\n", lines) + "\n");
    }

    /// <summary>Runs <c>flows</c> with <paramref name="args"/>; paths in them are as given (use <see cref="PathOf"/>).</summary>
    public static CliResult Run(params string[] args) => Run(CancellationToken.None, args);

    /// <summary>Runs <c>flows</c> with <paramref name="args"/> and a token that cancels it, as Ctrl-C does.</summary>
    public static CliResult Run(CancellationToken cancellationToken, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = FlowsCommandLine.RunAsync(args, output, error, cancellationToken).GetAwaiter().GetResult();
        return new CliResult(code, output.ToString(), error.ToString());
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
