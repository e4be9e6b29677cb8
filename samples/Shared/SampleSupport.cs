using System.Globalization;

// What the samples share: their command-line door and the reading of the two-moons CSV files. Linked into each sample's
// project, so that every sample stays one folder a reader can copy.
internal static class SampleSupport
{
    /// <summary>Null when the arguments are for the sample to use (at most <paramref name="positional"/>, none an
    /// option); otherwise the exit code after printing the usage for --help (0) or the refusal of anything else (2).</summary>
    public static int? Refusal(string sample, string[] args, string usage, int positional)
    {
        if (args.Length <= positional && !args.Any(a => a.StartsWith('-')))
        {
            return null;
        }

        bool help = args is ["-h"] or ["--help"] or ["-?"];
        (help ? Console.Out : Console.Error).WriteLine(help ? usage : $"{sample}: unexpected argument(s) {string.Join(" ", args)}.\n{usage}");
        return help ? 0 : 2;
    }

    /// <summary>A headerless CSV file of numbers, one row per line.</summary>
    public static double[,] ReadCsv(string path)
    {
        string[] lines = [.. File.ReadLines(path).Where(l => l.Length > 0)];
        int columns = lines[0].Split(',').Length;
        var result = new double[lines.Length, columns];
        for (int i = 0; i < lines.Length; i++)
        {
            string[] fields = lines[i].Split(',');
            for (int j = 0; j < columns; j++)
            {
                result[i, j] = double.Parse(fields[j], CultureInfo.InvariantCulture);
            }
        }

        return result;
    }
}
