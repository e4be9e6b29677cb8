using System.Diagnostics;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Persistence;

namespace Flows.Tests.Testing;

/// <summary>
/// The test assembly's entry point, and the helpers of tests that run this assembly as a separate process they can kill:
/// <c>dotnet Flows.Tests.dll save-loop &lt;path&gt;</c>. <c>dotnet test</c> never calls <see cref="Main"/> (its test host is
/// the entry point), so the tests run as before.
/// </summary>
internal static class ChildProcess
{
    /// <summary>The lines the save loop writes to standard output, so the parent knows where the child is.</summary>
    public const string Ready = "ready";

    /// <summary>Written just before each <c>Save</c>.</summary>
    public const string Saving = "saving";

    /// <summary>Written just after each <c>Save</c>.</summary>
    public const string Saved = "saved";

    /// <summary>The large flow the atomic-save test writes: a seeded MAF of about 90,000 parameters (a file of 1.7 MB).</summary>
    /// <param name="seed">0 for the file already on disk, 1 for the one the child writes.</param>
    /// <returns>A flow whose saved bytes depend only on <paramref name="seed"/>.</returns>
    public static TransformedDistribution<double> LargeFlow(int seed)
        => MaskedAutoregressiveFlow.Create<double>(dimension: 16, transforms: 3, hiddenFeatures: [128, 128], seed: seed);

    /// <summary>Starts <c>dotnet Flows.Tests.dll</c> with <paramref name="arguments"/>, standard output redirected.</summary>
    /// <param name="arguments">The command and its arguments.</param>
    /// <returns>The started process.</returns>
    public static Process Start(params string[] arguments)
    {
        // The test host runs under the dotnet muxer, so ProcessPath is the same dotnet that can run this assembly.
        string dotnet = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(ChildProcess).Assembly.Location);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start) ?? throw new InvalidOperationException($"Could not start {dotnet} {string.Join(' ', arguments)}.");
    }

    /// <summary>Runs a child command; with no arguments (as a test host might), does nothing.</summary>
    /// <param name="args">The command and its arguments.</param>
    /// <returns>The exit code.</returns>
    public static int Main(string[] args)
    {
        switch (args)
        {
            case ["save-loop", string path]:
                SaveLoop(path);
                return 0;
            case []:
                return 0;
            default:
                Console.Error.WriteLine($"Unknown command '{string.Join(' ', args)}'; expected 'save-loop <path>'.");
                return 2;
        }
    }

    // Saves the new flow and the old one alternately until killed, announcing each save, so that a kill at any moment
    // lands before, inside or between saves; whichever finished last, the file must hold one of the two whole files.
    private static void SaveLoop(string path)
    {
        TransformedDistribution<double>[] flows = [LargeFlow(1), LargeFlow(0)];
        Console.Out.Flush();
        Console.WriteLine(Ready);
        for (long k = 0; ; k++)
        {
            Console.WriteLine(Saving);
            flows[k % 2].Save(path);
            Console.WriteLine(Saved);
        }
    }
}
