// Iris: the seed talk's density-estimation example. An autoregressive flow on the four measurements of Fisher's 150
// flowers in centimetres (the preset standardizes them itself, and reports densities in the data's units), its held-out
// log-likelihood next to a fitted Gaussian's, and a corner plot of data vs samples (Flows.Plotting).
using System.Globalization;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Plotting;
using Flows.Training;

const string usage = """
    Iris: A masked autoregressive flow on Fisher's Iris measurements: 5-fold held-out log-likelihood next to a fitted Gaussian's,
    and a corner plot of the flowers against as many flow samples.

    Usage: dotnet run -c Release --project samples/Iris [-- PNG]

    Arguments:
      PNG         The plot to write. Default: iris.png in the current folder.

    Options:
      -h, --help  Show this help and exit.
    """;
if (SampleSupport.Refusal("Iris", args, usage, positional: 1) is int code)
{
    Environment.ExitCode = code;
    return;
}

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
FlowPlots.Corner(iris, samples, [.. names.Select(name => $"{name} (cm)")], new CornerOptions { DataLabel = "flowers", SamplesLabel = "flow samples" })
    .Save(path);
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

