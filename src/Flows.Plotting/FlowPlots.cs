using System.Globalization;
using System.Numerics;
using Flows.Distributions;
using Flows.Inference;
using Flows.Training;
using ScottPlot;
using ScottPlot.Plottables;

namespace Flows.Plotting;

/// <summary>
/// The plots a flow's user looks at: a corner plot of data against samples, the fitted density of a 2-D flow as a heat
/// map with the data over it, the training and validation curves of a fit, and calibration plots of a posterior.
/// </summary>
/// <remarks>Each returns a <see cref="Figure"/> to save as PNG or SVG; nothing needs a display.</remarks>
public static partial class FlowPlots
{
    /// <summary>The colour of data in every plot.</summary>
    public static readonly Color DataColor = Colors.SteelBlue;

    /// <summary>The colour of a flow's samples in every plot.</summary>
    public static readonly Color SampleColor = Colors.OrangeRed;

    /// <summary>Training and validation loss per epoch of a fit, the start (epoch 0) and the epoch kept marked.</summary>
    /// <param name="report">The fit's report.</param>
    /// <param name="title">The title; null for a default.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <exception cref="ArgumentNullException"><paramref name="report"/> is null.</exception>
    public static Figure TrainingCurves(FitReport report, string? title = null, int width = 800, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(report);
        return TrainingCurves([report.Initial, .. report.History], report.BestEpoch, title, width, height);
    }

    /// <summary>Training and validation loss per epoch, from a saved history; see <see cref="TrainingCurves(FitReport, string?, int, int)"/>.</summary>
    /// <param name="history">One report per epoch, in order, the start (epoch 0) included if known.</param>
    /// <param name="bestEpoch">The epoch kept, marked by a vertical line; null for none.</param>
    /// <param name="title">The title; null for a default.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <exception cref="ArgumentException"><paramref name="history"/> is empty.</exception>
    public static Figure TrainingCurves(IReadOnlyList<EpochReport> history, int? bestEpoch, string? title = null, int width = 800, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Count == 0)
        {
            throw new ArgumentException("The history is empty: a fit reports at least its start.", nameof(history));
        }

        var plot = new Plot();
        double[] epochs = [.. history.Select(h => (double)h.Epoch)];
        double[] trainLoss = [.. history.Select(h => h.TrainLoss)];
        var train = plot.Add.Scatter(epochs, trainLoss, DataColor);
        train.LegendText = "training loss";
        train.MarkerSize = history.Count > 60 ? 0 : 4;
        if (history.Any(h => h.ValidationLoss is not null))
        {
            EpochReport[] validated = [.. history.Where(h => h.ValidationLoss is not null)];
            double[] validatedEpochs = [.. validated.Select(h => (double)h.Epoch)];
            double[] validationLoss = [.. validated.Select(h => h.ValidationLoss!.Value)];
            var validation = plot.Add.Scatter(validatedEpochs, validationLoss, SampleColor);
            validation.LegendText = "validation loss";
            validation.MarkerSize = train.MarkerSize;
        }

        if (bestEpoch is int best)
        {
            var line = plot.Add.VerticalLine(best, color: Colors.Gray);
            line.LinePattern = LinePattern.Dashed;
            line.LegendText = string.Create(CultureInfo.InvariantCulture, $"epoch kept ({best})");
        }

        plot.Title(title ?? "Fit: mean negative log-likelihood per epoch");
        plot.XLabel("epoch");
        plot.YLabel("loss (nats per row)");
        plot.ShowLegend(Alignment.UpperRight);
        return Single(plot, width, height);
    }

    /// <summary>
    /// The density of a 2-D flow as a heat map over a grid, with <paramref name="data"/> drawn over it.
    /// </summary>
    /// <param name="flow">An unconditional flow of dimension 2, or a conditional one with <paramref name="context"/>.</param>
    /// <param name="data">Points to draw over the density (rows × 2), or null; they also set the extent when
    /// <paramref name="extent"/> is null.</param>
    /// <param name="names">The two axis names; null for x1, x2.</param>
    /// <param name="context">For a conditional flow, the one context row to plot the density at; empty otherwise.</param>
    /// <param name="extent">The plotted rectangle; null for the data's range plus 10 % on each side (or [−4, 4]² without data).</param>
    /// <param name="gridSize">Grid cells per side. Range: [2, 2000].</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <exception cref="ArgumentException">The flow is not 2-D, the context does not match it, or the data are not n × 2.</exception>
    public static Figure Density<T>(TransformedDistribution<T> flow, T[,]? data = null, IReadOnlyList<string>? names = null,
        ReadOnlySpan<T> context = default, CoordinateRect? extent = null, int gridSize = 200, int width = 700, int height = 600)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(flow);
        if (flow.Dimension != 2)
        {
            throw new ArgumentException($"A density heat map needs a 2-D flow; this one has dimension {flow.Dimension}. Use Corner for more features.", nameof(flow));
        }

        if (data is not null && data.GetLength(1) != 2)
        {
            throw new ArgumentException($"data has {data.GetLength(1)} columns; the heat map draws 2-D points.", nameof(data));
        }

        CoordinateRect box = extent ?? (data is { Length: > 0 }
            ? new CoordinateRect(Range(Column(data, 0), 0.1), Range(Column(data, 1), 0.1))
            : new CoordinateRect(-4, 4, -4, 4));

        var plot = new Plot();
        Heatmap heatmap = AddDensity(plot, flow, box, gridSize, context);
        plot.Add.ColorBar(heatmap).Label = "density";
        if (data is not null)
        {
            (double[] x, double[] y) = Thin(data, 0, 1, 3000);
            var scatter = plot.Add.ScatterPoints(x, y, Colors.White.WithAlpha(0.6));
            scatter.MarkerSize = 2;
            scatter.LegendText = "data";
        }

        plot.Axes.SetLimits(box);
        plot.Title(context.IsEmpty ? "Fitted density" : "Fitted density at the given context");
        plot.XLabel(names is { Count: 2 } ? names[0] : "x1");
        plot.YLabel(names is { Count: 2 } ? names[1] : "x2");
        return Single(plot, width, height);
    }

    /// <summary>Draws the density of a 2-D flow on <paramref name="plot"/> as a heat map over <paramref name="extent"/>
    /// (viridis), for figures of the caller's own layout.</summary>
    /// <param name="plot">The panel to draw on.</param>
    /// <param name="flow">An unconditional flow of dimension 2, or a conditional one with <paramref name="context"/>.</param>
    /// <param name="extent">The rectangle evaluated.</param>
    /// <param name="gridSize">Grid cells per side. Range: [2, 2000].</param>
    /// <param name="context">For a conditional flow, the one context row; empty otherwise.</param>
    /// <returns>The heat map, for a colour bar or restyling.</returns>
    /// <exception cref="ArgumentException">The flow is not 2-D, or the context does not match it.</exception>
    public static Heatmap AddDensity<T>(Plot plot, TransformedDistribution<T> flow, CoordinateRect extent, int gridSize = 200, ReadOnlySpan<T> context = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(plot);
        ArgumentNullException.ThrowIfNull(flow);
        if (flow.Dimension != 2)
        {
            throw new ArgumentException($"A density heat map needs a 2-D flow; this one has dimension {flow.Dimension}. Use Corner for more features.", nameof(flow));
        }

        if (context.Length != flow.ContextDimension)
        {
            throw new ArgumentException($"The flow takes {flow.ContextDimension} context values; {context.Length} were given.", nameof(context));
        }

        CheckGrid(gridSize);
        var points = new T[gridSize * gridSize * 2];
        for (int i = 0; i < gridSize * gridSize; i++)
        {
            (double x, double y) = GridPoint(extent, gridSize, i);
            points[2 * i] = T.CreateTruncating(x);
            points[(2 * i) + 1] = T.CreateTruncating(y);
        }

        var logDensity = new T[gridSize * gridSize];
        T[] contextRows = context.IsEmpty ? [] : Repeat(context, gridSize * gridSize);
        flow.DensityLn(points, logDensity, contextRows);
        return AddHeatmap(plot, extent, gridSize, i => double.CreateTruncating(logDensity[i]));
    }

    /// <summary>Draws exp(<paramref name="logDensity"/>) on <paramref name="plot"/> as a heat map over <paramref name="extent"/>:
    /// a target density known in closed form, perhaps unnormalized (an energy exp(−U)), beside a flow's.</summary>
    /// <param name="plot">The panel to draw on.</param>
    /// <param name="logDensity">log p̃(x, y), evaluated at each grid cell's centre.</param>
    /// <param name="extent">The rectangle evaluated.</param>
    /// <param name="gridSize">Grid cells per side. Range: [2, 2000].</param>
    /// <returns>The heat map, for a colour bar or restyling.</returns>
    public static Heatmap AddDensity(Plot plot, Func<double, double, double> logDensity, CoordinateRect extent, int gridSize = 200)
    {
        ArgumentNullException.ThrowIfNull(plot);
        ArgumentNullException.ThrowIfNull(logDensity);
        CheckGrid(gridSize);
        return AddHeatmap(plot, extent, gridSize, i =>
        {
            (double x, double y) = GridPoint(extent, gridSize, i);
            return logDensity(x, y);
        });
    }

    private static void CheckGrid(int gridSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(gridSize, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(gridSize, 2000);
    }

    // Heat map rows run from the top (y = extent.Top) down, columns from the left; cell i is row i / n, column i % n.
    private static (double X, double Y) GridPoint(CoordinateRect extent, int gridSize, int i)
        => (extent.Left + ((i % gridSize + 0.5) * extent.Width / gridSize), extent.Top - ((i / gridSize + 0.5) * extent.Height / gridSize));

    private static Heatmap AddHeatmap(Plot plot, CoordinateRect extent, int gridSize, Func<int, double> logDensity)
    {
        var density = new double[gridSize, gridSize];
        for (int i = 0; i < gridSize * gridSize; i++)
        {
            density[i / gridSize, i % gridSize] = Math.Exp(logDensity(i));
        }

        Heatmap heatmap = plot.Add.Heatmap(density);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.Extent = extent;
        return heatmap;
    }

    /// <summary>Simulation-based calibration: for each coordinate, the histogram of the true parameter's rank among the
    /// posterior draws, with the count expected of a calibrated posterior.</summary>
    /// <param name="report">The report of <c>PosteriorDiagnostics</c>.</param>
    /// <param name="title">The title; null for a default.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <exception cref="ArgumentNullException"><paramref name="report"/> is null.</exception>
    public static Figure RankHistograms(SimulationBasedCalibrationReport report, string? title = null, int width = 800, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(report);
        var plot = new Plot();
        int bins = report.Coordinates[0].BinCounts.Count;
        double binWidth = (report.DrawsPerPair + 1.0) / bins;
        foreach (RankUniformity coordinate in report.Coordinates)
        {
            // Side by side within each bin: one bar per coordinate.
            double offset = binWidth * (0.25 + (0.5 * coordinate.Coordinate / report.Dimension));
            var bars = plot.Add.Bars(
                [.. Enumerable.Range(0, bins).Select(b => (b * binWidth) + offset)],
                [.. coordinate.BinCounts.Select(c => (double)c)]);
            foreach (Bar bar in bars.Bars)
            {
                bar.Size = binWidth * 0.45 / report.Dimension * 2;
            }

            bars.LegendText = string.Create(CultureInfo.InvariantCulture, $"θ{coordinate.Coordinate + 1}: p = {coordinate.PValue:G2}");
        }

        plot.Add.HorizontalLine(report.Coordinates[0].ExpectedCounts.Average());
        plot.Title(title ?? $"SBC rank histograms ({report.Pairs} pairs, {report.DrawsPerPair} draws)");
        plot.XLabel("rank of θ* among the posterior draws");
        plot.YLabel("pairs");
        plot.ShowLegend();
        return Single(plot, width, height);
    }

    /// <summary>Expected coverage of highest-density regions against the credibility level, one curve per posterior, with
    /// the diagonal a calibrated posterior follows.</summary>
    /// <param name="curves">Each posterior's name and coverage report.</param>
    /// <param name="title">The title; null for a default.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <exception cref="ArgumentNullException"><paramref name="curves"/> is null.</exception>
    public static Figure Coverage(IEnumerable<(string Name, CoverageReport Coverage)> curves, string? title = null, int width = 600, int height = 600)
    {
        ArgumentNullException.ThrowIfNull(curves);
        var plot = new Plot();
        var diagonal = plot.Add.Line(0, 0, 1, 1);
        diagonal.LegendText = "calibrated";
        diagonal.LinePattern = LinePattern.Dashed;
        foreach ((string name, CoverageReport coverage) in curves)
        {
            double[] levels = [0.0, .. coverage.Levels, 1.0];
            double[] covered = [0.0, .. coverage.Coverage, 1.0];
            plot.Add.Scatter(levels, covered).LegendText = name;
        }

        plot.Axes.SetLimits(0, 1, 0, 1);
        plot.Title(title ?? "Expected coverage of highest-density regions");
        plot.XLabel("credibility level");
        plot.YLabel("share of pairs covered");
        plot.ShowLegend();
        return Single(plot, width, height);
    }

    private static Figure Single(Plot plot, int width, int height)
    {
        var multiplot = new Multiplot(plot);
        return new Figure(multiplot, width, height);
    }

    private static T[] Repeat<T>(ReadOnlySpan<T> row, int count)
    {
        var values = new T[row.Length * count];
        for (int i = 0; i < count; i++)
        {
            row.CopyTo(values.AsSpan(i * row.Length));
        }

        return values;
    }

    /// <summary>Column <paramref name="c"/> as doubles.</summary>
    internal static double[] Column<T>(T[,] values, int c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var column = new double[values.GetLength(0)];
        for (int r = 0; r < column.Length; r++)
        {
            column[r] = double.CreateTruncating(values[r, c]);
        }

        return column;
    }

    /// <summary>Columns <paramref name="a"/> and <paramref name="b"/> of at most <paramref name="most"/> rows, taken at an even stride.</summary>
    internal static (double[] X, double[] Y) Thin<T>(T[,] values, int a, int b, int most) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = values.GetLength(0);
        int count = Math.Min(rows, most);
        var x = new double[count];
        var y = new double[count];
        for (int i = 0; i < count; i++)
        {
            int r = (int)((long)i * rows / count);
            x[i] = double.CreateTruncating(values[r, a]);
            y[i] = double.CreateTruncating(values[r, b]);
        }

        return (x, y);
    }

    /// <summary>The finite range of <paramref name="values"/> widened by <paramref name="margin"/> of its width on each side.</summary>
    internal static CoordinateRange Range(double[] values, double margin)
    {
        double min = double.PositiveInfinity;
        double max = double.NegativeInfinity;
        foreach (double v in values)
        {
            if (double.IsFinite(v))
            {
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }
        }

        if (!(min <= max))
        {
            return new CoordinateRange(-1, 1);
        }

        double pad = max > min ? margin * (max - min) : Math.Max(1, Math.Abs(min)) * 0.5;
        return new CoordinateRange(min - pad, max + pad);
    }
}
