using Flows.Inference;

// The sample's three figures, with ScottPlot.
internal static class Plots
{
    public static void Posterior(double[,] draws, string path)
    {
        var plot = new ScottPlot.Plot();
        int n = draws.GetLength(0);
        double[] first = [.. Enumerable.Range(0, n).Select(i => draws[i, 0])];
        double[] second = [.. Enumerable.Range(0, n).Select(i => draws[i, 1])];
        var points = plot.Add.ScatterPoints(first, second);
        points.MarkerSize = 2;
        plot.Axes.SetLimits(-1, 1, -1, 1);
        plot.Title("q(θ | x = (0, 0)), crescent task");
        plot.XLabel("θ₁");
        plot.YLabel("θ₂");
        plot.SavePng(path, 600, 600);
    }

    public static void RankHistograms(SimulationBasedCalibrationReport report, string path)
    {
        var plot = new ScottPlot.Plot();
        int bins = report.Coordinates[0].BinCounts.Count;
        double width = (report.DrawsPerPair + 1.0) / bins;
        foreach (RankUniformity coordinate in report.Coordinates)
        {
            // Side by side within each bin: one bar per coordinate.
            double offset = width * (0.25 + (0.5 * coordinate.Coordinate / report.Dimension));
            var bars = plot.Add.Bars(
                [.. Enumerable.Range(0, bins).Select(b => (b * width) + offset)],
                [.. coordinate.BinCounts.Select(c => (double)c)]);
            foreach (ScottPlot.Bar bar in bars.Bars)
            {
                bar.Size = width * 0.45 / report.Dimension * 2;
            }

            bars.LegendText = FormattableString.Invariant($"θ{coordinate.Coordinate + 1}: p = {coordinate.PValue:G2}");
        }

        plot.Add.HorizontalLine(report.Coordinates[0].ExpectedCounts.Average());
        plot.Title($"SBC rank histograms ({report.Pairs} pairs, {report.DrawsPerPair} draws), crescent task");
        plot.XLabel("rank of θ* among the posterior draws");
        plot.YLabel("pairs");
        plot.ShowLegend();
        plot.SavePng(path, 800, 500);
    }

    public static void Coverage(IEnumerable<(string Name, CoverageReport Coverage)> curves, string path)
    {
        var plot = new ScottPlot.Plot();
        var diagonal = plot.Add.Line(0, 0, 1, 1);
        diagonal.LegendText = "calibrated";
        diagonal.LinePattern = ScottPlot.LinePattern.Dashed;
        foreach ((string name, CoverageReport coverage) in curves)
        {
            double[] levels = [0.0, .. coverage.Levels, 1.0];
            double[] covered = [0.0, .. coverage.Coverage, 1.0];
            var line = plot.Add.Scatter(levels, covered);
            line.LegendText = name;
        }

        plot.Axes.SetLimits(0, 1, 0, 1);
        plot.Title("Expected coverage of highest-density regions");
        plot.XLabel("credibility level");
        plot.YLabel("share of pairs covered");
        plot.ShowLegend();
        plot.SavePng(path, 600, 600);
    }
}
