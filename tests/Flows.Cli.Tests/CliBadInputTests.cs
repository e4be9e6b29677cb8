namespace Flows.Cli.Tests;

/// <summary>Bad input gets one line on standard error naming file, row and column, and exit code 2.</summary>
public sealed class CliBadInputTests : IDisposable
{
    private readonly CliScratch _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public void Fit_MissingColumn_NamesFileAndColumnAndTheColumnsThereAre()
    {
        string data = _scratch.Write("data.csv", "a,b\n1,2\n3,4\n");

        CliResult result = CliScratch.Run("fit", data, "--columns", "a,zeta", "-o", _scratch.PathOf("m.json"));

        AssertOneLine(result, data, "no column \"zeta\"", "\"a\", \"b\"");
    }

    [Fact]
    public void Fit_NonNumericCell_NamesRowLineAndColumn()
    {
        string data = _scratch.Write("data.csv", "a,b\n1,2\n3,4\n5,oops\n7,8\n");

        CliResult result = CliScratch.Run("fit", data, "-o", _scratch.PathOf("m.json"));

        AssertOneLine(result, data, "row 3 (line 4)", "column \"b\" (2)", "\"oops\" is not a number");
        Assert.False(File.Exists(_scratch.PathOf("m.json")));
    }

    [Fact]
    public void Fit_EmptyCell_NamesRowAndColumn()
    {
        string data = _scratch.Write("data.csv", "a,b\n1,2\n,4\n");

        CliResult result = CliScratch.Run("fit", data, "-o", _scratch.PathOf("m.json"));

        AssertOneLine(result, data, "row 2 (line 3)", "column \"a\" (1)", "is empty");
    }

    [Fact]
    public void Fit_RaggedRow_NamesRowAndCellCounts()
    {
        string data = _scratch.Write("data.csv", "a,b\n1,2\n3\n");

        CliResult result = CliScratch.Run("fit", data, "-o", _scratch.PathOf("m.json"));

        AssertOneLine(result, data, "row 2 (line 3) has 1 cells", "header has 2");
    }

    [Fact]
    public void Fit_MissingFile_NamesIt()
    {
        string data = _scratch.PathOf("absent.csv");

        AssertOneLine(CliScratch.Run("fit", data), data, "no such file");
    }

    [Fact]
    public void Score_UnreadableModel_NamesTheFile()
    {
        string model = _scratch.Write("model.json", "{ \"format\": \"Flows.TransformedDistribution\", \"version\": 3 ");
        string data = _scratch.Write("data.csv", "x1,x2\n1,2\n");

        AssertOneLine(CliScratch.Run("score", model, data), model, "not a model file this tool can read");
    }

    [Fact]
    public void Score_DataWithoutTheModelsColumn_NamesTheColumn()
    {
        string model = FitModel();
        string data = _scratch.Write("other.csv", "x,z\n1,2\n");

        AssertOneLine(CliScratch.Run("score", model, data), data, "no column \"y\"");
    }

    [Fact]
    public void Score_NonNumericCell_NamesRowAndColumn()
    {
        string model = FitModel();
        string data = _scratch.Write("bad.csv", "x,y\n0.1,0.2\n0.3,abc\n");

        AssertOneLine(CliScratch.Run("score", model, data), data, "row 2 (line 3)", "column \"y\" (2)", "\"abc\" is not a number");
    }

    [Fact]
    public void Sample_MissingModel_NamesIt()
    {
        string model = _scratch.PathOf("nothing.json");

        AssertOneLine(CliScratch.Run("sample", model), model, "no such model file");
    }

    [Fact]
    public void Plot_DensityOfAModelThatIsNot2D_IsRefused()
    {
        string data = _scratch.Write("three.csv", "a,b,c\n" + string.Join("\n", Enumerable.Range(0, 60).Select(i => $"{i % 7},{i % 5},{i % 3}")) + "\n");
        string model = _scratch.PathOf("three.json");
        Assert.Equal(0, CliScratch.Run("fit", data, "--epochs", "1", "--transforms", "1", "--hidden-features", "8", "-o", model, "-q").ExitCode);

        CliResult result = CliScratch.Run("plot", model, data, "--kind", "density", "-o", _scratch.PathOf("d.png"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("unconditional 2-D", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownOption_IsAUsageError_ExitCode1()
    {
        CliResult result = CliScratch.Run("fit", "data.csv", "--no-such-option");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--no-such-option", result.Error, StringComparison.Ordinal);
    }

    private string FitModel()
    {
        string data = _scratch.Moons(200);
        string model = _scratch.PathOf("model.json");
        Assert.Equal(0, CliScratch.Run("fit", data, "--flow", "maf", "--epochs", "1", "--transforms", "1", "--hidden-features", "8", "-o", model, "-q").ExitCode);
        return model;
    }

    private static void AssertOneLine(CliResult result, string file, params string[] parts)
    {
        Assert.Equal(2, result.ExitCode);
        string[] lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string line = Assert.Single(lines);
        Assert.Contains(file, line, StringComparison.Ordinal);
        foreach (string part in parts)
        {
            Assert.Contains(part, line, StringComparison.Ordinal);
        }
    }
}
