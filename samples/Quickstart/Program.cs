// Quickstart: fit a normalizing flow to the two-moons data shipped in samples/data, compare its held-out
// log-likelihood with a fitted Gaussian's, draw samples and plot them next to the data.
using System.Diagnostics;
using System.Globalization;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Training;

string dataFolder = Path.Combine(AppContext.BaseDirectory, "data");
double[,] train = ReadCsv(Path.Combine(dataFolder, "moons2d_train.csv"));
double[,] test = ReadCsv(Path.Combine(dataFolder, "moons2d_test.csv"));
Console.WriteLine($"Two moons: {train.GetLength(0)} training and {test.GetLength(0)} test points.");

// A neural spline flow at the preset's defaults: five autoregressive rational-quadratic spline layers (MADE conditioners),
// starting as the Gaussian of the data's features and learning the departures from it.
TransformedDistribution<double> flow = NeuralSplineFlow.Create<double>(dimension: 2, seed: 1);

var stopwatch = Stopwatch.StartNew();
FitReport report = flow.Fit(train, new FitOptions
{
    Epochs = 30,
    BatchSize = 256,
    Optimizer = new AdamOptions { LearningRate = 3e-3 },
    Patience = 10,
    Seed = 1,
    Progress = new Progress<EpochReport>(r =>
    {
        if (r.Epoch % 5 == 0)
        {
            Console.WriteLine($"  epoch {r.Epoch,3}: train NLL {r.TrainLoss:F4}, validation NLL {r.ValidationLoss:F4}");
        }
    }),
});
Console.WriteLine($"Fitted in {stopwatch.Elapsed.TotalSeconds:F1} s: {report}");

double flowLogLikelihood = flow.DensityLn(test).Average();
double gaussianLogLikelihood = MultivariateNormal.Fit(train).DensityLn(test).Average();
Console.WriteLine($"Held-out mean log-likelihood: flow {flowLogLikelihood:F4} nats, Gaussian {gaussianLogLikelihood:F4} nats.");

// Equal counts side by side on shared axes: 2,000 flow samples next to 2,000 test points drawn at random.
const int plotCount = 2000;
double[,] samples = flow.Sample(plotCount, new Random(2));
double[,] testSubset = RandomRows(test, plotCount, new Random(3));
string plotPath = Path.GetFullPath(args.Length > 0 ? args[0] : "quickstart.png");
Plot(testSubset, test.GetLength(0), samples, plotPath);
Console.WriteLine($"Wrote {plotPath} (left: {plotCount:N0} of the {test.GetLength(0):N0} test points; right: {plotCount:N0} flow samples).");

static double[,] ReadCsv(string path)
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

static double[,] RandomRows(double[,] values, int count, Random random)
{
    int[] order = [.. Enumerable.Range(0, values.GetLength(0))];
    random.Shuffle(order);
    count = Math.Min(count, order.Length);
    var result = new double[count, values.GetLength(1)];
    for (int i = 0; i < count; i++)
    {
        for (int j = 0; j < values.GetLength(1); j++)
        {
            result[i, j] = values[order[i], j];
        }
    }

    return result;
}

// Two panels with the same axis limits, set by the data (a few far-out samples would otherwise shrink both moons).
static void Plot(double[,] data, int dataTotal, double[,] samples, string path)
{
    double[] dataX = Column(data, 0), dataY = Column(data, 1);
    double[] sampleX = Column(samples, 0), sampleY = Column(samples, 1);
    (double xMin, double xMax) = PaddedRange(dataX);
    (double yMin, double yMax) = PaddedRange(dataY);

    var left = new ScottPlot.Plot();
    var dataPoints = left.Add.ScatterPoints(dataX, dataY, ScottPlot.Colors.SteelBlue);
    dataPoints.MarkerSize = 3;
    left.Title($"Test data ({data.GetLength(0):N0} of {dataTotal:N0} points)");

    var right = new ScottPlot.Plot();
    var samplePoints = right.Add.ScatterPoints(sampleX, sampleY, ScottPlot.Colors.OrangeRed);
    samplePoints.MarkerSize = 3;
    right.Title($"Flow samples ({samples.GetLength(0):N0})");

    foreach (ScottPlot.Plot panel in new[] { left, right })
    {
        panel.Axes.SetLimits(xMin, xMax, yMin, yMax);
        panel.XLabel("x₁");
        panel.YLabel("x₂");
    }

    // Multiplot's members are extension methods in the ScottPlot namespace, called by name here so that no
    // `using ScottPlot;` brings its Plot and Colors types into this file.
    var figure = new ScottPlot.Multiplot(left);
    ScottPlot.IMultiplotExtensions.AddPlot(figure, right);
    figure.Layout = new ScottPlot.MultiplotLayouts.Columns();
    ScottPlot.IMultiplotExtensions.SavePng(figure, path, 1200, 560);
}

static (double Min, double Max) PaddedRange(double[] values)
{
    double min = values.Min();
    double max = values.Max();
    double pad = 0.1 * (max - min);
    return (min - pad, max + pad);
}

static double[] Column(double[,] values, int column)
    => [.. Enumerable.Range(0, values.GetLength(0)).Select(i => values[i, column])];
