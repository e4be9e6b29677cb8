using System.Globalization;
using System.Text.Json;
using Flows.Distributions;
using Flows.Persistence;
using Microsoft.ML.OnnxRuntime;
using SkiaSharp;

namespace Flows.Cli.Tests;

/// <summary>The tool end to end, in-process, on small CSV files: fit with few epochs, then score, sample, plot, info.</summary>
public sealed class CliEndToEndTests : IDisposable
{
    private readonly CliScratch _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData("--help")]
    [InlineData("fit", "--help")]
    [InlineData("score", "--help")]
    [InlineData("sample", "--help")]
    [InlineData("plot", "--help")]
    [InlineData("export-onnx", "--help")]
    [InlineData("info", "--help")]
    public void Help_AnswersForEveryCommand_WithUsageAndOptions(params string[] args)
    {
        CliResult result = CliScratch.Run(args);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Usage:", result.Output, StringComparison.Ordinal);
        Assert.Contains(args.Length == 1 ? "Commands:" : "Options:", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Fit_WritesAModelWhoseScoresAreTheFlowsOwnDensities()
    {
        string data = _scratch.Moons(300);
        string model = _scratch.PathOf("model.json");

        CliResult fit = CliScratch.Run("fit", data, "--flow", "maf", "--epochs", "3", "--transforms", "2", "--hidden-features", "16,16", "-o", model);
        Assert.Equal(0, fit.ExitCode);
        Assert.Contains("kept epoch", fit.Error, StringComparison.Ordinal);

        CliResult score = CliScratch.Run("score", model, data);
        Assert.Equal(0, score.ExitCode);
        string[] lines = score.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("log_density", lines[0]);
        Assert.Equal(301, lines.Length);

        // The independent reference: the library's own flow, loaded by FlowSerializer from the model's "flow" property.
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(model));
        TransformedDistribution<double> flow = FlowSerializer.Load<double>(System.Text.Encoding.UTF8.GetBytes(document.RootElement.GetProperty("flow").GetRawText()));
        double[,] x = ReadMatrix(data, skipHeader: true);
        double[] expected = flow.DensityLn(x);
        for (int r = 0; r < expected.Length; r++)
        {
            Assert.Equal(expected[r], double.Parse(lines[r + 1], CultureInfo.InvariantCulture));
        }

        Assert.Equal(["x", "y"], document.RootElement.GetProperty("features").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void ExportOnnx_WritesGraphsWhoseLogDensitiesInOnnxRuntimeAreTheToolsScores()
    {
        string data = _scratch.Moons(200);
        string model = _scratch.PathOf("model.json");
        Assert.Equal(0, CliScratch.Run("fit", data, "--flow", "nsf", "--epochs", "2", "--transforms", "2", "--hidden-features", "16", "-o", model).ExitCode);
        string[] scores = CliScratch.Run("score", model, data).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1..];

        string onnx = _scratch.PathOf("model.onnx");
        CliResult export = CliScratch.Run("export-onnx", model, "-o", onnx);

        Assert.Equal(0, export.ExitCode);
        Assert.True(File.Exists(_scratch.PathOf("model.sample.onnx")), export.Error);
        double[,] x = ReadMatrix(data, skipHeader: true);
        using var session = new InferenceSession(onnx);
        using var input = OrtValue.CreateTensorValueFromMemory(TestDataFlat(x), [x.GetLength(0), 2]);
        using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(new RunOptions(), ["x"], [input], ["log_prob"]);
        double[] logProb = outputs[0].GetTensorDataAsSpan<double>().ToArray();
        for (int r = 0; r < logProb.Length; r++)
        {
            double expected = double.Parse(scores[r], CultureInfo.InvariantCulture);
            Assert.True(Math.Abs(logProb[r] - expected) <= 1e-10 * Math.Max(1, Math.Abs(expected)), $"row {r}: ONNX {logProb[r]:R}, score {expected:R}");
        }
    }

    [Fact]
    public void ExportOnnx_ToAFolderThatDoesNotExist_SaysSoWithExitCode2()
    {
        string data = _scratch.Moons(100);
        string model = _scratch.PathOf("model.json");
        Assert.Equal(0, CliScratch.Run("fit", data, "--flow", "maf", "--epochs", "1", "--transforms", "1", "--hidden-features", "8", "-o", model).ExitCode);

        CliResult export = CliScratch.Run("export-onnx", model, "-o", _scratch.PathOf(Path.Combine("missing", "model.onnx")));

        Assert.Equal(2, export.ExitCode);
        Assert.StartsWith("flows export-onnx: ", export.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void ExportOnnx_OfAnUnfittedModel_SaysWhatIsMissingWithExitCode2()
    {
        // A plain FlowSerializer file of a preset that never saw data: its start's layers are not initialized.
        string model = _scratch.PathOf("unfitted.json");
        Flows.Distributions.Presets.MaskedAutoregressiveFlow.Create<double>(2, transforms: 1, hiddenFeatures: [8]).Save(model);

        CliResult export = CliScratch.Run("export-onnx", model, "-o", _scratch.PathOf("unfitted.onnx"));

        Assert.Equal(2, export.ExitCode);
        Assert.StartsWith("flows export-onnx: ", export.Error, StringComparison.Ordinal);
        Assert.Contains("not initialized", export.Error, StringComparison.Ordinal);
    }

    private static double[] TestDataFlat(double[,] x) => [.. x.Cast<double>()];

    [Fact]
    public void Fit_KeepsTheDataStandardizationInTheSavedModel()
    {
        // Data in units of 1e4: a flow that did not standardize inside would score them near −∞ after 2 epochs.
        string data = _scratch.Write("scaled.csv", "a,b\n" + string.Join("\n", Enumerable.Range(0, 200).Select(i =>
            string.Create(CultureInfo.InvariantCulture, $"{1e4 * Math.Sin(i):R},{3e4 + (1e3 * Math.Cos(0.7 * i)):R}"))) + "\n");
        string model = _scratch.PathOf("scaled.json");
        Assert.Equal(0, CliScratch.Run("fit", data, "--epochs", "2", "--transforms", "1", "--hidden-features", "8", "-o", model).ExitCode);

        CliResult info = CliScratch.Run("info", model);

        Assert.Equal(0, info.ExitCode);
        Assert.Contains("standardization", info.Output, StringComparison.Ordinal);
        double[,] samples = ReadMatrix(WriteSamples(model, 500, seed: 1), skipHeader: true);
        double meanB = Enumerable.Range(0, 500).Average(r => samples[r, 1]);
        Assert.InRange(meanB, 2.8e4, 3.2e4);
    }

    [Fact]
    public void Sample_GivesTheCountAsked_TheSameForTheSameSeed_AndOtherForAnother()
    {
        string model = FitSmallModel();

        CliResult first = CliScratch.Run("sample", model, "-n", "40", "--seed", "5");
        CliResult again = CliScratch.Run("sample", model, "-n", "40", "--seed", "5");
        CliResult other = CliScratch.Run("sample", model, "-n", "40", "--seed", "6");

        Assert.Equal(0, first.ExitCode);
        string[] lines = first.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("x,y", lines[0]);
        Assert.Equal(41, lines.Length);
        Assert.Equal(first.Output, again.Output);
        Assert.NotEqual(first.Output, other.Output);
    }

    [Theory]
    [InlineData("corner", "corner.png", 600, 600)]
    [InlineData("density", "density.png", 700, 600)]
    [InlineData("curves", "curves.png", 800, 500)]
    public void Plot_WritesAPngOfTheExpectedSizeThatIsNotBlank(string kind, string file, int width, int height)
    {
        string model = FitSmallModel();
        string image = _scratch.PathOf(file);

        CliResult result = kind == "curves"
            ? CliScratch.Run("plot", model, "--kind", kind, "-o", image)
            : CliScratch.Run("plot", model, _scratch.PathOf("moons.csv"), "--kind", kind, "-o", image);

        Assert.Equal(0, result.ExitCode);
        using SKBitmap bitmap = SKBitmap.Decode(image);
        Assert.Equal(width, bitmap.Width);
        Assert.Equal(height, bitmap.Height);
        Assert.True(PlotImages.DistinctColours(bitmap) > 20, "the image looks blank");
    }

    [Fact]
    public void Plot_WritesSvgByExtension()
    {
        string model = FitSmallModel();
        string image = _scratch.PathOf("corner.svg");

        Assert.Equal(0, CliScratch.Run("plot", model, _scratch.PathOf("moons.csv"), "-o", image).ExitCode);

        Assert.Contains("<svg", File.ReadAllText(image), StringComparison.Ordinal);
    }

    [Fact]
    public void Info_NamesColumnsPresetAndHowTheFitEnded()
    {
        string model = FitSmallModel();

        CliResult info = CliScratch.Run("info", model);

        Assert.Equal(0, info.ExitCode);
        Assert.Contains("x, y", info.Output, StringComparison.Ordinal);
        Assert.Contains("\"maf\"", info.Output, StringComparison.Ordinal);
        Assert.Contains("bestEpoch", info.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Fit_WithContextColumns_GivesAConditionalModelThatSamplesAtTheGivenContext()
    {
        // y = 3c + small noise: samples at c = 2 must centre near 6.
        var random = new Random(3);
        string data = _scratch.Write("conditional.csv", "c,y\n" + string.Join("\n", Enumerable.Range(0, 400).Select(_ =>
        {
            double c = (random.NextDouble() * 4) - 2;
            return string.Create(CultureInfo.InvariantCulture, $"{c:R},{(3 * c) + (0.1 * (random.NextDouble() - 0.5)):R}");
        })) + "\n");
        string model = _scratch.PathOf("conditional.json");
        CliResult fit = CliScratch.Run("fit", data, "--context", "c", "--flow", "maf", "--epochs", "3", "--transforms", "1", "--hidden-features", "8", "-o", model);
        Assert.Equal(0, fit.ExitCode);

        CliResult missing = CliScratch.Run("sample", model, "-n", "10");
        CliResult given = CliScratch.Run("sample", model, "-n", "200", "--given", "c=2");

        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--given", missing.Error, StringComparison.Ordinal);
        Assert.Equal(0, given.ExitCode);
        double mean = given.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Average(l => double.Parse(l, CultureInfo.InvariantCulture));
        Assert.InRange(mean, 5.5, 6.5);
    }

    [Fact]
    public void Fit_CancelledMidway_SavesTheBestEpochAndSaysSo()
    {
        string data = _scratch.Moons(2000);
        string model = _scratch.PathOf("cancelled.json");
        using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(4));

        CliResult fit = CliScratch.Run(cancellation.Token, "fit", data, "--flow", "maf", "--epochs", "100000", "--patience", "100000",
            "--transforms", "2", "--hidden-features", "16,16", "-o", model);

        Assert.Equal(0, fit.ExitCode);
        Assert.Contains("Cancelled", fit.Error, StringComparison.Ordinal);
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(model));
        JsonElement record = document.RootElement.GetProperty("fit");
        Assert.Equal("Cancelled", record.GetProperty("status").GetString());
        // The epoch kept is the best of those checked: its validation loss is the smallest in the history.
        double[] validation = [.. record.GetProperty("history").EnumerateArray().Select(e => e[2].GetDouble())];
        Assert.Equal(validation.Min(), record.GetProperty("bestLoss").GetDouble());
        Assert.Equal(validation[record.GetProperty("bestEpoch").GetInt32()], record.GetProperty("bestLoss").GetDouble());
    }

    private string FitSmallModel()
    {
        string data = _scratch.Moons(300);
        string model = _scratch.PathOf("small.json");
        CliResult fit = CliScratch.Run("fit", data, "--flow", "maf", "--epochs", "2", "--transforms", "2", "--hidden-features", "16,16", "-o", model);
        Assert.True(fit.ExitCode == 0, fit.Error);
        return model;
    }

    private string WriteSamples(string model, int count, int seed)
    {
        string path = _scratch.PathOf($"samples-{seed}.csv");
        Assert.Equal(0, CliScratch.Run("sample", model, "-n", count.ToString(CultureInfo.InvariantCulture), "--seed", seed.ToString(CultureInfo.InvariantCulture), "-o", path).ExitCode);
        return path;
    }

    private static double[,] ReadMatrix(string path, bool skipHeader)
    {
        string[][] rows = [.. File.ReadLines(path).Skip(skipHeader ? 1 : 0).Where(l => l.Length > 0).Select(l => l.Split(','))];
        var values = new double[rows.Length, rows[0].Length];
        for (int r = 0; r < rows.Length; r++)
        {
            for (int c = 0; c < rows[0].Length; c++)
            {
                values[r, c] = double.Parse(rows[r][c], CultureInfo.InvariantCulture);
            }
        }

        return values;
    }
}
