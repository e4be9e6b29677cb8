// Iris: the seed talk's density-estimation example. An autoregressive flow on the four measurements of Fisher's 150
// flowers in centimetres (the preset standardizes them itself, and reports densities in the data's units), its held-out
// log-likelihood next to a fitted Gaussian's, and a pairwise scatter of data vs samples.
using System.Globalization;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Training;

string[] names = ["sepal length", "sepal width", "petal length", "petal width"];
double[,] iris = ReadIris(Path.Combine(AppContext.BaseDirectory, "data", "iris.csv"));
int n = iris.GetLength(0);
int[] order = [.. Enumerable.Range(0, n)];
new Random(1).Shuffle(order);

// Five-fold cross-validation: every flower is held out once.
double flowTotal = 0;
double gaussianTotal = 0;
for (int fold = 0; fold < 5; fold++)
{
    double[,] train = Take(iris, [.. order.Where((_, k) => k % 5 != fold)]);
    double[,] test = Take(iris, [.. order.Where((_, k) => k % 5 == fold)]);
    TransformedDistribution<double> gaussian = MultivariateNormal.Fit(train);
    TransformedDistribution<double> flow = FitFlow(train, seed: fold);
    double flowLogLikelihood = flow.DensityLn(test).Average();
    double gaussianLogLikelihood = gaussian.DensityLn(test).Average();
    Console.WriteLine($"fold {fold + 1}: held-out log-likelihood per flower: flow {flowLogLikelihood:F3}, Gaussian {gaussianLogLikelihood:F3}");
    flowTotal += flowLogLikelihood;
    gaussianTotal += gaussianLogLikelihood;
}

Console.WriteLine($"5-fold mean: flow {flowTotal / 5:F3} nats, Gaussian {gaussianTotal / 5:F3} nats per flower.");

// The flow fitted to all flowers, and as many samples from it, plotted pair by pair.
TransformedDistribution<double> full = FitFlow(iris, seed: 7);
double[,] samples = full.Sample(n, new Random(3));
string path = Path.GetFullPath(args.Length > 0 ? args[0] : "iris.png");
const int panelWidth = 500;
const int panelHeight = 450;
using (var surface = SkiaSharp.SKSurface.Create(new SkiaSharp.SKImageInfo(3 * panelWidth, 2 * panelHeight)))
{
    surface.Canvas.Clear(SkiaSharp.SKColors.White);
    int panel = 0;
    for (int a = 0; a < 4; a++)
    {
        for (int b = a + 1; b < 4; b++, panel++)
        {
            var plot = new ScottPlot.Plot();
            var data = plot.Add.ScatterPoints(Column(iris, a), Column(iris, b));
            data.LegendText = "flowers";
            data.MarkerSize = 5;
            var drawn = plot.Add.ScatterPoints(Column(samples, a), Column(samples, b));
            drawn.LegendText = "flow samples";
            drawn.MarkerSize = 5;
            drawn.MarkerShape = ScottPlot.MarkerShape.OpenCircle;
            plot.XLabel($"{names[a]} (cm)");
            plot.YLabel($"{names[b]} (cm)");
            if (panel == 0)
            {
                plot.ShowLegend();
            }

            // Each pair is rendered on its own and drawn into its cell of a 2 × 3 grid.
            using SkiaSharp.SKBitmap cell = SkiaSharp.SKBitmap.Decode(plot.GetImage(panelWidth, panelHeight).GetImageBytes());
            surface.Canvas.DrawBitmap(cell, panel % 3 * panelWidth, panel / 3 * panelHeight);
        }
    }

    using SkiaSharp.SKImage image = surface.Snapshot();
    using SkiaSharp.SKData png = image.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
    File.WriteAllBytes(path, png.ToArray());
}

Console.WriteLine($"Wrote {path} (flowers vs {n} samples, every pair of measurements, in cm).");

// The masked autoregressive flow preset and Fit at their defaults. The flow starts as the Gaussian fitted to the
// training flowers and learns the departures from it (the clusters of the three species). Fit holds out 20 % of the
// flowers and checks them after every step (96 flowers make one batch), stops once 1,000 steps pass without a better
// score and keeps the best; its weight decay (1000 / training rows) keeps the flow close to that Gaussian where the
// few flowers say little.
static TransformedDistribution<double> FitFlow(double[,] train, int seed)
{
    TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(4, seed: seed);
    flow.Fit(train, new FitOptions { Seed = seed });
    return flow;
}

static double[,] ReadIris(string path)
{
    string[] lines = [.. File.ReadLines(path).Skip(1).Where(l => l.Length > 0)];
    var result = new double[lines.Length, 4];
    for (int i = 0; i < lines.Length; i++)
    {
        string[] fields = lines[i].Split(',');
        for (int j = 0; j < 4; j++)
        {
            result[i, j] = double.Parse(fields[j], CultureInfo.InvariantCulture);
        }
    }

    return result;
}

static double[,] Take(double[,] data, int[] rows)
{
    var result = new double[rows.Length, data.GetLength(1)];
    for (int i = 0; i < rows.Length; i++)
    {
        for (int j = 0; j < data.GetLength(1); j++)
        {
            result[i, j] = data[rows[i], j];
        }
    }

    return result;
}

static double[] Column(double[,] values, int column)
    => [.. Enumerable.Range(0, values.GetLength(0)).Select(i => values[i, column])];
