// Quickstart: fit a normalizing flow to the two-moons data shipped in samples/data, compare its held-out
// log-likelihood with a fitted Gaussian's, draw samples and plot them against the data (Flows.Plotting).
using System.Diagnostics;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Plotting;
using Flows.Training;

const string usage = """
    Quickstart: Fits a neural spline flow to the two-moons data in samples/data, prints its held-out log-likelihood next to a fitted
    Gaussian's, and writes a corner plot of test points against flow samples.

    Usage: dotnet run -c Release --project samples/Quickstart [-- PNG]

    Arguments:
      PNG         The plot to write. Default: quickstart.png in the current folder.

    Options:
      -h, --help  Show this help and exit.
    """;
if (SampleSupport.Refusal("Quickstart", args, usage, positional: 1) is int code)
{
    Environment.ExitCode = code;
    return;
}

string dataFolder = Path.Combine(AppContext.BaseDirectory, "data");
double[,] train = SampleSupport.ReadCsv(Path.Combine(dataFolder, "moons2d_train.csv"));
double[,] test = SampleSupport.ReadCsv(Path.Combine(dataFolder, "moons2d_test.csv"));
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
FlowPlots.Corner(testSubset, samples, ["x₁", "x₂"], new CornerOptions
{
    PanelSize = 320,
    DataLabel = $"test data ({plotCount:N0} of {test.GetLength(0):N0})",
    SamplesLabel = $"flow samples ({plotCount:N0})",
}).Save(plotPath);
Console.WriteLine($"Wrote {plotPath}: a corner plot of {plotCount:N0} of the {test.GetLength(0):N0} test points against {plotCount:N0} flow samples.");

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

