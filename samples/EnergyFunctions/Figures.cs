using Flows.Distributions;
using Flows.Training;
using Flows.Plotting;
using ScottPlot;

namespace EnergyFunctions;

/// <summary>What one target's row of plots shows: the target's and the flow's densities over the box, and samples from q.</summary>
internal sealed record Figure(Energy Energy, TransformedDistribution<double> Flow, double[] SampleX, double[] SampleY, string Caption)
{
    public const double Box = 4;
    private const int SampleCount = 3000;

    public static Figure Create(Energy energy, TransformedDistribution<double> flow, VariationalReport report)
    {
        double[,] samples = flow.Sample(SampleCount, new Random(7));
        double[] x = [.. Enumerable.Range(0, SampleCount).Select(i => samples[i, 0])];
        double[] y = [.. Enumerable.Range(0, SampleCount).Select(i => samples[i, 1])];
        string caption = $"ELBO {report.FinalElbo:F3}, log Z ≈ {report.LogNormalizer!.LogNormalizer:F3}, ESS {report.LogNormalizer.EffectiveSampleSizeFraction:P0}";
        return new Figure(energy, flow, x, y, caption);
    }
}

/// <summary>Plots (the heat maps drawn by Flows.Plotting), and the quadrature reference for log Z.</summary>
internal static class Figures
{
    private const int Panel = 360;

    public static void SaveRow(Figure figure, string path)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(3);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(1, 3);
        Fill(multiplot, 0, figure);
        multiplot.SavePng(path, 3 * Panel, Panel + 20);
    }

    public static void SaveGrid(IReadOnlyList<Figure> figures, string path)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(3 * figures.Count);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(figures.Count, 3);
        for (int i = 0; i < figures.Count; i++)
        {
            Fill(multiplot, 3 * i, figures[i]);
        }

        multiplot.SavePng(path, 3 * Panel, (Panel + 20) * figures.Count);
    }

    // log ∫ exp(−U) over [−8, 8]² by the midpoint rule with h = 0.01 (log-sum-exp): accurate to far below the IS error.
    public static double LogNormalizerByQuadrature(Energy energy)
    {
        const double half = 8;
        const double h = 0.01;
        int n = (int)(2 * half / h);
        var logValues = new double[n * n];
        double max = double.NegativeInfinity;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double v = -energy.Evaluate(-half + ((i + 0.5) * h), -half + ((j + 0.5) * h)).U;
                logValues[(i * n) + j] = v;
                max = Math.Max(max, v);
            }
        }

        double sum = logValues.Sum(v => Math.Exp(v - max));
        return max + Math.Log(sum * h * h);
    }

    private static void Fill(Multiplot multiplot, int first, Figure figure)
    {
        var box = new CoordinateRect(-Figure.Box, Figure.Box, -Figure.Box, Figure.Box);
        FlowPlots.AddDensity(multiplot.GetPlot(first), (z1, z2) => -figure.Energy.Evaluate(z1, z2).U, box);
        Frame(multiplot.GetPlot(first), $"{figure.Energy.Name}: target exp(−U)");
        FlowPlots.AddDensity(multiplot.GetPlot(first + 1), figure.Flow, box);
        Frame(multiplot.GetPlot(first + 1), $"{figure.Energy.Name}: fitted q");
        Plot samples = multiplot.GetPlot(first + 2);
        var scatter = samples.Add.ScatterPoints(figure.SampleX, figure.SampleY);
        scatter.MarkerSize = 1.5f;
        scatter.Color = Colors.Navy.WithAlpha(0.5);
        Frame(samples, $"samples of q · {figure.Caption}");
    }

    private static void Frame(Plot plot, string title)
    {
        plot.Title(title, size: 11);
        plot.Axes.SetLimits(-Figure.Box, Figure.Box, -Figure.Box, Figure.Box);
        plot.Axes.SquareUnits();
    }
}
