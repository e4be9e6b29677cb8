using System.Globalization;
using System.Text.Json;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Persistence;

namespace Flows.Cli.Tests;

/// <summary><c>flows fit --flow circular --angles …</c>: the circular spline flow preset on a small angle CSV.</summary>
public sealed class CliCircularTests : IDisposable
{
    private readonly CliScratch _scratch = new();

    public void Dispose() => _scratch.Dispose();

    // 300 rows of an angle in [0, 2π) concentrated about π (so across the preset's seam at ±π) and a real column that
    // follows its cosine; the angle column comes second, so the mask must follow the names, not the order.
    private string AngleData(string name = "angles.csv", double shift = 0, double unitsPerRadian = 1)
    {
        var random = new Random(19);
        var lines = new List<string> { "r,theta" };
        for (int i = 0; i < 300; i++)
        {
            double theta = (Math.PI + (0.4 * (random.NextDouble() + random.NextDouble() - 1)) + (2 * Math.PI)) % (2 * Math.PI);
            double r = Math.Cos(theta) + (0.2 * (random.NextDouble() - 0.5));
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{r:R},{(theta * unitsPerRadian) + shift:R}"));
        }

        return _scratch.Write(name, string.Join("\n", lines) + "\n");
    }

    private string FitCircular(string data)
    {
        string model = _scratch.PathOf("circular.json");
        CliResult fit = CliScratch.Run("fit", data, "--flow", "circular", "--angles", "theta", "--epochs", "3", "--transforms", "2",
            "--hidden-features", "8,8", "--bins", "4", "-o", model, "-q");
        Assert.True(fit.ExitCode == 0, fit.Error);
        return model;
    }

    private static double[] Scores(string model, string data)
    {
        CliResult score = CliScratch.Run("score", model, data);
        Assert.True(score.ExitCode == 0, score.Error);
        return [.. score.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => double.Parse(l, CultureInfo.InvariantCulture))];
    }

    [Fact]
    public void Fit_Circular_SavesACircularFlowOnTheNamedAngleColumn_WhoseScoresAreItsDensities()
    {
        string data = AngleData();
        string model = FitCircular(data);

        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(model));
        TransformedDistribution<double> flow = FlowSerializer.Load<double>(System.Text.Encoding.UTF8.GetBytes(document.RootElement.GetProperty("flow").GetRawText()));
        UniformAngles<double> uniform = Assert.IsType<UniformAngles<double>>(flow.BaseDistribution);
        Assert.Equal([false, true], uniform.Angles);
        Assert.Equal("circular", document.RootElement.GetProperty("fit").GetProperty("preset").GetString());
        Assert.Equal(["theta"], document.RootElement.GetProperty("fit").GetProperty("angles").EnumerateArray().Select(e => e.GetString()));

        double[] scores = Scores(model, data);
        string[][] rows = [.. File.ReadLines(data).Skip(1).Select(l => l.Split(','))];
        var x = new double[rows.Length, 2];
        for (int i = 0; i < rows.Length; i++)
        {
            x[i, 0] = double.Parse(rows[i][0], CultureInfo.InvariantCulture);
            x[i, 1] = double.Parse(rows[i][1], CultureInfo.InvariantCulture);
        }

        Assert.Equal(flow.DensityLn(x), scores);
    }

    // --angles declares each column's support: the saved flow is the preset built from supports [Real, Angle()].
    [Fact]
    public void Fit_Circular_BuildsThePresetFromTheSupportsTheAnglesName()
    {
        string model = FitCircular(AngleData());

        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(model));
        TransformedDistribution<double> flow = FlowSerializer.Load<double>(System.Text.Encoding.UTF8.GetBytes(document.RootElement.GetProperty("flow").GetRawText()));
        TransformedDistribution<double> expected = CircularSplineFlow.Create<double>([Support.Real, Support.Angle()], transforms: 2, binCount: 4, hiddenFeatures: [8, 8]);
        Assert.Equal(expected.ToString(), flow.ToString());
        Assert.Equal(expected.Parameters.Select(p => (p.Name, p.Rows, p.Columns)), flow.Parameters.Select(p => (p.Name, p.Rows, p.Columns)));
    }

    // The angle is read modulo 2π: the same rows shifted by ±2π score the same (a flow that took the column as real would
    // put almost no mass 2π away), and samples of the angle lie in [−π, π).
    [Fact]
    public void Fit_Circular_ScoresAnglesModulo2Pi_AndSamplesThemInMinusPiToPi()
    {
        string model = FitCircular(AngleData());
        double[] scores = Scores(model, AngleData());

        foreach (double shift in (double[])[2 * Math.PI, -2 * Math.PI])
        {
            double[] shifted = Scores(model, AngleData($"shifted{shift:F0}.csv", shift));
            for (int i = 0; i < scores.Length; i++)
            {
                Assert.True(Math.Abs(shifted[i] - scores[i]) <= 1e-9, $"row {i}, shift {shift}: {shifted[i]:R} against {scores[i]:R}");
            }
        }

        CliResult sample = CliScratch.Run("sample", model, "-n", "500", "--seed", "3");
        Assert.True(sample.ExitCode == 0, sample.Error);
        string[] lines = sample.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("r,theta", lines[0]);
        Assert.Equal(501, lines.Length);
        Assert.All(lines.Skip(1), l => Assert.InRange(double.Parse(l.Split(',')[1], CultureInfo.InvariantCulture), -Math.PI, Math.BitDecrement(Math.PI)));

        CliResult info = CliScratch.Run("info", model);
        Assert.Contains("\"circular\"", info.Output, StringComparison.Ordinal);
        Assert.Contains("[\"theta\"]", info.Output, StringComparison.Ordinal);
    }

    // --angle-range 0,360: the angle column is Support.Angle(0, 360), kept in the saved flow's supports; degrees 360 apart
    // score alike, samples lie in [0, 360), and the fit records the range.
    [Fact]
    public void Fit_Circular_WithAnAngleRangeInDegrees_KeepsTheSupport_WrapsAndSamplesInTheTurn()
    {
        double degrees = 180 / Math.PI;
        string data = AngleData("degrees.csv", unitsPerRadian: degrees);
        string model = _scratch.PathOf("degrees.json");
        CliResult fit = CliScratch.Run("fit", data, "--flow", "circular", "--angles", "theta", "--angle-range", "0,360", "--epochs", "2",
            "--transforms", "2", "--hidden-features", "8", "--bins", "4", "-o", model, "-q");
        Assert.True(fit.ExitCode == 0, fit.Error);

        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(model));
        TransformedDistribution<double> flow = FlowSerializer.Load<double>(System.Text.Encoding.UTF8.GetBytes(document.RootElement.GetProperty("flow").GetRawText()));
        var supports = Assert.IsType<ColumnSupports<double>>(((Chain<double>)flow.Bijector).Parts[^1]);
        Assert.Equal([Support.Real, Support.Angle(0, 360)], supports.Supports);
        Assert.Equal([0.0, 360.0], document.RootElement.GetProperty("fit").GetProperty("angleRange").EnumerateArray().Select(e => e.GetDouble()));

        double[] scores = Scores(model, data);
        double[] shifted = Scores(model, AngleData("degrees-shifted.csv", shift: -720, unitsPerRadian: degrees));
        for (int i = 0; i < scores.Length; i++)
        {
            Assert.True(Math.Abs(shifted[i] - scores[i]) <= 1e-9, $"row {i}: {shifted[i]:R} against {scores[i]:R}");
        }

        CliResult sample = CliScratch.Run("sample", model, "-n", "300", "--seed", "4");
        Assert.True(sample.ExitCode == 0, sample.Error);
        Assert.All(sample.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1),
            l => Assert.InRange(double.Parse(l.Split(',')[1], CultureInfo.InvariantCulture), 0, Math.BitDecrement(360.0)));
        Assert.Contains("angleRange", CliScratch.Run("info", model).Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--angle-range 0: give the start and the end of one turn", "--flow", "circular", "--angles", "theta", "--angle-range", "0")]
    [InlineData("--angle-range 5,5: An angle support needs", "--flow", "circular", "--angles", "theta", "--angle-range", "5,5")]
    [InlineData("--angle-range 0,360 applies to the --angles columns", "--flow", "nsf", "--angle-range", "0,360")]
    [InlineData("--flow circular needs --angles", "--flow", "circular")]
    [InlineData("--angles applies to --flow circular only", "--flow", "maf", "--angles", "theta")]
    [InlineData("\"theta\" would be an angle, and nsf's layers act on the real line", "--flow", "nsf", "--angles", "theta")]
    [InlineData("\"phi\" is not among the features (r, theta)", "--flow", "circular", "--angles", "theta,phi")]
    public void Fit_Circular_RefusesMissingOrMisplacedAngles_WithExitCode2(string message, params string[] options)
    {
        string data = AngleData();
        string model = _scratch.PathOf("refused.json");

        CliResult result = CliScratch.Run(["fit", data, .. options, "-o", model, "-q"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        Assert.False(File.Exists(model));
    }
}
