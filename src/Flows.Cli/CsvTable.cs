using System.Globalization;
using nietras.SeparatedValues;

namespace Flows.Cli;

/// <summary>
/// A CSV file read whole with Sep: its column names and its cells as text, with the line each row came from, so that an
/// error names file, row and column.
/// </summary>
/// <remarks>
/// The first line is a header unless every cell in it is a number (or <c>--no-header</c> is given); without a header the
/// columns are named x1, x2, …. The separator is detected by Sep from the header line (comma, semicolon, tab, pipe).
/// </remarks>
internal sealed class CsvTable
{
    private readonly List<string[]> _rows;
    private readonly List<int> _lines;

    private CsvTable(string path, string[] names, bool hasHeader, List<string[]> rows, List<int> lines)
    {
        Path = path;
        Names = names;
        HasHeader = hasHeader;
        _rows = rows;
        _lines = lines;
    }

    /// <summary>The file, as given on the command line.</summary>
    public string Path { get; }

    /// <summary>The column names: the header's, or x1, x2, … without one.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Whether the first line was a header.</summary>
    public bool HasHeader { get; }

    /// <summary>Data rows (the header excluded).</summary>
    public int RowCount => _rows.Count;

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="noHeader">Treat the first line as data even if it holds names.</param>
    /// <exception cref="CliInputException">The file is missing, empty, or a row has the wrong number of cells.</exception>
    public static CsvTable Read(string path, bool noHeader = false)
    {
        if (!File.Exists(path))
        {
            throw new CliInputException($"{path}: no such file.");
        }

        var rows = new List<string[]>();
        var lines = new List<int>();
        try
        {
            // Header handling is ours (a numeric first line is data), so Sep reads every line as a row.
            using SepReader reader = Sep.Reader(o => o with { HasHeader = false, Unescape = true, Trim = SepTrim.All, DisableColCountCheck = true })
                .FromFile(path);
            foreach (SepReader.Row row in reader)
            {
                if (row.ColCount == 1 && row[0].Span.IsWhiteSpace())
                {
                    continue;
                }

                var cells = new string[row.ColCount];
                for (int c = 0; c < cells.Length; c++)
                {
                    cells[c] = row[c].ToString();
                }

                rows.Add(cells);
                lines.Add(row.LineNumberFrom);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new CliInputException($"{path}: cannot be read: {e.Message}", e);
        }

        if (rows.Count == 0)
        {
            throw new CliInputException($"{path}: the file is empty; expected a header line and rows of numbers.");
        }

        bool hasHeader = !noHeader && !Array.TrueForAll(rows[0], cell => TryParse(cell, out _));
        string[] names = hasHeader ? rows[0] : [.. Enumerable.Range(1, rows[0].Length).Select(i => $"x{i}")];
        if (hasHeader)
        {
            rows.RemoveAt(0);
            lines.RemoveAt(0);
            string? duplicate = names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1)?.Key;
            if (duplicate is not null)
            {
                throw new CliInputException($"{path}: the header names the column \"{duplicate}\" twice.");
            }
        }

        for (int r = 0; r < rows.Count; r++)
        {
            if (rows[r].Length != names.Length)
            {
                throw new CliInputException($"{path}: row {r + 1} (line {lines[r]}) has {rows[r].Length} cells, but the " +
                    $"{(hasHeader ? "header" : "first line")} has {names.Length}.");
            }
        }

        if (rows.Count == 0)
        {
            throw new CliInputException($"{path}: the file has a header but no rows.");
        }

        return new CsvTable(path, names, hasHeader, rows, lines);
    }

    /// <summary>The index of each named column.</summary>
    /// <exception cref="CliInputException">A name is not a column of the file; the message lists the columns there are.</exception>
    public int[] IndicesOf(IEnumerable<string> names, string role) => [.. names.Select(name =>
    {
        int index = Array.IndexOf((string[])Names, name);
        return index >= 0
            ? index
            : throw new CliInputException($"{Path}: no column \"{name}\" ({role}); the columns are {string.Join(", ", Names.Select(n => $"\"{n}\""))}" +
                (HasHeader ? "." : " (the file has no header line)."));
    })];

    /// <summary>The named columns as a rows × columns matrix of numbers.</summary>
    /// <param name="names">The columns, in the order wanted.</param>
    /// <param name="role">What the columns are for, for messages ("feature", "context").</param>
    /// <exception cref="CliInputException">A column is missing, or a cell is not a finite number: the message names row and column.</exception>
    public double[,] Matrix(IReadOnlyList<string> names, string role)
    {
        int[] indices = IndicesOf(names, role);
        var values = new double[_rows.Count, indices.Length];
        for (int r = 0; r < _rows.Count; r++)
        {
            for (int c = 0; c < indices.Length; c++)
            {
                string cell = _rows[r][indices[c]];
                if (!TryParse(cell, out double value) || !double.IsFinite(value))
                {
                    string what = cell.Length == 0 ? "is empty" : $"\"{cell}\" is not {(TryParse(cell, out _) ? "a finite" : "a")} number";
                    throw new CliInputException($"{Path}: row {r + 1} (line {_lines[r]}), column \"{names[c]}\" ({indices[c] + 1}): {what}.");
                }

                values[r, c] = value;
            }
        }

        return values;
    }

    /// <summary>The columns whose first row holds a number: the default features when none are named.</summary>
    public IReadOnlyList<string> NumericColumns()
        => [.. Names.Where((name, c) => TryParse(_rows[0][c], out double _))];

    private static bool TryParse(string cell, out double value)
        => double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
}
