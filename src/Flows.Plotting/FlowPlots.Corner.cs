using System.Numerics;
using ScottPlot;

namespace Flows.Plotting;

public static partial class FlowPlots
{
    /// <summary>
    /// A corner plot, as corner.py and ArviZ draw it: for each pair of features a scatter panel below the diagonal, and each
    /// feature's histogram on it (as a density, so sets of different sizes compare), data and samples overlaid.
    /// </summary>
    /// <param name="data">The data, rows × features.</param>
    /// <param name="samples">Samples of a flow to compare (rows × the same features), or null to draw the data alone.</param>
    /// <param name="names">One name per column of <paramref name="data"/>; null for x1, x2, ….</param>
    /// <param name="options">The features shown, panel size, bins; null for the defaults.</param>
    /// <returns>A figure of k × k panels, k the number of features shown (at most <see cref="CornerOptions.MaxFeatures"/>
    /// unless <see cref="CornerOptions.Features"/> names them), each <see cref="CornerOptions.PanelSize"/> pixels.</returns>
    /// <remarks>Axis ranges follow the data (their range plus 5 %), so that a few far samples do not squeeze the panels;
    /// samples outside are not drawn but still counted in the histograms' normalization.</remarks>
    /// <exception cref="ArgumentException">The data are empty, the samples have other columns, a feature index or the
    /// number of names is wrong.</exception>
    public static Figure Corner<T>(T[,] data, T[,]? samples = null, IReadOnlyList<string>? names = null, CornerOptions? options = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(data);
        options ??= new CornerOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxFeatures, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.PanelSize, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.BinCount, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxPoints, nameof(options));
        int columns = data.GetLength(1);
        if (data.GetLength(0) == 0 || columns == 0)
        {
            throw new ArgumentException("data is empty; a corner plot needs at least one row and one column.", nameof(data));
        }

        if (samples is not null && samples.GetLength(1) != columns)
        {
            throw new ArgumentException($"samples have {samples.GetLength(1)} columns but data have {columns}.", nameof(samples));
        }

        if (names is not null && names.Count != columns)
        {
            throw new ArgumentException($"{names.Count} names were given for {columns} columns.", nameof(names));
        }

        int[] shown = [.. options.Features ?? Enumerable.Range(0, Math.Min(columns, options.MaxFeatures))];
        if (shown.Length == 0 || shown.Any(f => f < 0 || f >= columns))
        {
            throw new ArgumentException($"Features must name columns in [0, {columns}); got [{string.Join(", ", shown)}].", nameof(options));
        }

        int k = shown.Length;
        string Name(int f) => names?[f] ?? $"x{f + 1}";
        CoordinateRange[] ranges = [.. shown.Select(f => Range(Column(data, f), 0.05))];
        var multiplot = new Multiplot();
        multiplot.AddPlots(k * k);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(k, k);
        for (int row = 0; row < k; row++)
        {
            for (int col = 0; col < k; col++)
            {
                Plot plot = multiplot.GetPlot((row * k) + col);
                if (col > row)
                {
                    // Above the diagonal: empty, as in corner.py; the top-right panel holds the legend.
                    plot.Axes.Frameless();
                    plot.HideGrid();
                    if (row == 0 && col == k - 1 && samples is not null)
                    {
                        Legend(plot, options, Alignment.UpperRight);
                    }

                    continue;
                }

                if (col == row)
                {
                    Histogram(plot, Column(data, shown[row]), ranges[row], options.BinCount, DataColor);
                    if (samples is not null)
                    {
                        Histogram(plot, Column(samples, shown[row]), ranges[row], options.BinCount, SampleColor);
                    }

                    plot.Axes.SetLimitsX(ranges[row].Min, ranges[row].Max);
                    plot.Axes.Left.TickLabelStyle.IsVisible = false;
                    if (k == 1 && samples is not null)
                    {
                        Legend(plot, options, Alignment.UpperRight);
                    }
                }
                else
                {
                    Scatter(plot, data, shown[col], shown[row], options.MaxPoints, DataColor);
                    if (samples is not null)
                    {
                        Scatter(plot, samples, shown[col], shown[row], options.MaxPoints, SampleColor);
                    }

                    plot.Axes.SetLimits(ranges[col].Min, ranges[col].Max, ranges[row].Min, ranges[row].Max);
                    if (col == 0)
                    {
                        plot.YLabel(Name(shown[row]), 12);
                    }
                    else
                    {
                        plot.Axes.Left.TickLabelStyle.IsVisible = false;
                    }
                }

                if (row == k - 1)
                {
                    plot.XLabel(Name(shown[col]), 12);
                }
                else
                {
                    plot.Axes.Bottom.TickLabelStyle.IsVisible = false;
                }
            }
        }

        string? title = options.Title;
        if (shown.Length < columns && options.Features is null)
        {
            title = $"{(title is null ? "" : title + ": ")}features 1–{shown.Length} of {columns} (choose others with CornerOptions.Features)";
        }

        if (title is not null)
        {
            multiplot.GetPlot(0).Title(title, 12);
        }

        return new Figure(multiplot, k * options.PanelSize, k * options.PanelSize);
    }

    /// <summary>A histogram drawn as a step line, normalized to unit area over all values (so data and samples compare).</summary>
    private static void Histogram(Plot plot, double[] values, CoordinateRange range, int bins, Color color)
    {
        var counts = new double[bins];
        double width = (range.Max - range.Min) / bins;
        foreach (double v in values)
        {
            int b = (int)Math.Floor((v - range.Min) / width);
            if (b >= 0 && b < bins)
            {
                counts[b]++;
            }
        }

        var xs = new double[(2 * bins) + 2];
        var ys = new double[(2 * bins) + 2];
        xs[0] = range.Min;
        for (int b = 0; b < bins; b++)
        {
            double height = counts[b] / (values.Length * width);
            xs[(2 * b) + 1] = range.Min + (b * width);
            ys[(2 * b) + 1] = height;
            xs[(2 * b) + 2] = range.Min + ((b + 1) * width);
            ys[(2 * b) + 2] = height;
        }

        xs[^1] = range.Max;
        var line = plot.Add.ScatterLine(xs, ys, color);
        line.LineWidth = 1.5f;
    }

    private static void Legend(Plot plot, CornerOptions options, Alignment alignment)
    {
        plot.ShowLegend(
        [
            new LegendItem { LabelText = options.DataLabel, LineColor = DataColor, LineWidth = 2, MarkerShape = MarkerShape.None },
            new LegendItem { LabelText = options.SamplesLabel, LineColor = SampleColor, LineWidth = 2, MarkerShape = MarkerShape.None },
        ], alignment);
    }

    private static void Scatter<T>(Plot plot, T[,] values, int x, int y, int most, Color color) where T : unmanaged, IFloatingPointIeee754<T>
    {
        (double[] xs, double[] ys) = Thin(values, x, y, most);
        // Few points are drawn larger and stronger, many smaller and lighter, so that both read.
        var points = plot.Add.ScatterPoints(xs, ys, color.WithAlpha(xs.Length < 1000 ? 0.7 : 0.4));
        points.MarkerSize = xs.Length < 1000 ? 3 : 2;
    }
}
