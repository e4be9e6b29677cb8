using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Inference;
using Flows.Plotting;
using Flows.Training;
using SkiaSharp;

namespace Flows.Cli.Tests;

/// <summary>Every plot of Flows.Plotting renders to a PNG of the expected size that is not blank.</summary>
public sealed class FlowPlotsTests
{
    [Fact]
    public void Corner_DataAgainstSamples_RendersKByKPanels()
    {
        double[,] data = Gaussian(500, 3, seed: 1);
        double[,] samples = Gaussian(400, 3, seed: 2);

        Figure figure = FlowPlots.Corner(data, samples, ["a", "b", "c"], new CornerOptions { PanelSize = 150 });

        AssertRendered(figure, 450, 450);
    }

    [Fact]
    public void Corner_BeyondMaxFeatures_ShowsTheFirstMaxFeatures()
    {
        double[,] data = Gaussian(200, 12, seed: 3);

        Figure figure = FlowPlots.Corner(data, options: new CornerOptions { PanelSize = 100 });

        AssertRendered(figure, 800, 800);
    }

    [Fact]
    public void Corner_WithChosenFeatures_ShowsThoseOnly()
    {
        double[,] data = Gaussian(200, 12, seed: 4);

        Figure figure = FlowPlots.Corner(data, Gaussian(200, 12, seed: 5), options: new CornerOptions { Features = [3, 10], PanelSize = 120 });

        AssertRendered(figure, 240, 240);
    }

    [Fact]
    public void Corner_SamplesOfOtherWidth_AreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => FlowPlots.Corner(Gaussian(10, 2, 1), Gaussian(10, 3, 2)));

        Assert.Equal("samples", e.ParamName);
    }

    [Fact]
    public void Density_OfA2DFlow_RendersWithTheDataOverIt()
    {
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(2, transforms: 1, hiddenFeatures: [8]);
        double[,] data = Gaussian(300, 2, seed: 6);
        flow.Fit(data, new FitOptions { Epochs = 1 });

        Figure figure = FlowPlots.Density(flow, data, gridSize: 60, width: 500, height: 400);

        AssertRendered(figure, 500, 400);
    }

    [Fact]
    public void Density_OfA3DFlow_IsRefused()
    {
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(3, transforms: 1, hiddenFeatures: [8]);

        var e = Assert.Throws<ArgumentException>(() => FlowPlots.Density(flow));

        Assert.Equal("flow", e.ParamName);
    }

    [Fact]
    public void TrainingCurves_OfARealFit_Render()
    {
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(2, transforms: 1, hiddenFeatures: [8]);
        FitReport report = flow.Fit(Gaussian(300, 2, seed: 7), new FitOptions { Epochs = 5 });

        AssertRendered(FlowPlots.TrainingCurves(report, width: 640, height: 480), 640, 480);
    }

    [Fact]
    public void RankHistogramsAndCoverage_OfAnExactPosterior_Render()
    {
        // θ ~ N(0, 1), x = θ + N(0, 1): the exact posterior is N(x / 2, 1 / 2).
        var random = new Random(8);
        var theta = new double[60, 1];
        var x = new double[60, 1];
        for (int i = 0; i < 60; i++)
        {
            theta[i, 0] = Normal(random);
            x[i, 0] = theta[i, 0] + Normal(random);
        }

        var posterior = new ExactPosterior();
        SimulationBasedCalibrationReport sbc = PosteriorDiagnostics.SimulationBasedCalibration(posterior, theta, x, 19, new Random(9));
        CoverageReport coverage = PosteriorDiagnostics.ExpectedCoverage(posterior, theta, x, 50, new Random(10));

        AssertRendered(FlowPlots.RankHistograms(sbc, width: 600, height: 400), 600, 400);
        AssertRendered(FlowPlots.Coverage([("exact", coverage)], width: 500, height: 500), 500, 500);
    }

    [Fact]
    public void Save_WritesPngOrSvgByExtension_AndRefusesOthers()
    {
        Figure figure = FlowPlots.Corner(Gaussian(50, 2, seed: 11));
        string folder = Directory.CreateTempSubdirectory("flows-plot-").FullName;
        try
        {
            figure.Save(Path.Combine(folder, "a.png"));
            figure.Save(Path.Combine(folder, "a.svg"));

            using (SKBitmap bitmap = PlotImages.Decode(File.ReadAllBytes(Path.Combine(folder, "a.png"))))
            {
                Assert.Equal(figure.Width, bitmap.Width);
            }

            Assert.StartsWith("<?xml", File.ReadAllText(Path.Combine(folder, "a.svg")), StringComparison.Ordinal);
            Assert.Throws<ArgumentException>(() => figure.Save(Path.Combine(folder, "a.jpg")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void AssertRendered(Figure figure, int width, int height)
    {
        using SKBitmap bitmap = PlotImages.Decode(figure.ToPng());
        Assert.Equal(width, bitmap.Width);
        Assert.Equal(height, bitmap.Height);
        Assert.True(PlotImages.DistinctColours(bitmap) > 20, "the image looks blank");
        Assert.InRange(PlotImages.InkedShare(bitmap), 0.01, 1.0);
    }

    private static double[,] Gaussian(int rows, int columns, int seed)
    {
        var random = new Random(seed);
        var values = new double[rows, columns];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                values[r, c] = Normal(random) + c;
            }
        }

        return values;
    }

    private static double Normal(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>The exact posterior N(x / 2, 1 / 2) of θ ~ N(0, 1), x = θ + N(0, 1).</summary>
    private sealed class ExactPosterior : IPosterior<double>
    {
        public int Dimension => 1;

        public int ObservationDimension => 1;

        public void Sample(ReadOnlySpan<double> observation, Span<double> destination, Random random)
        {
            for (int i = 0; i < destination.Length; i++)
            {
                destination[i] = (observation[0] / 2) + (Math.Sqrt(0.5) * Normal(random));
            }
        }

        public void DensityLn(ReadOnlySpan<double> observation, ReadOnlySpan<double> theta, Span<double> destination)
        {
            for (int i = 0; i < theta.Length; i++)
            {
                double z = theta[i] - (observation[0] / 2);
                destination[i] = (-z * z) - (0.5 * Math.Log(Math.PI));
            }
        }
    }
}
