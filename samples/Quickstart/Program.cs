// Quickstart: fit a normalizing flow to the two-moons data shipped in samples/data, compare its held-out
// log-likelihood with a fitted Gaussian's, draw samples and plot them next to the data.
using System.Diagnostics;
using System.Globalization;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Training;
using MathNet.Numerics.LinearAlgebra;

string dataFolder = Path.Combine(AppContext.BaseDirectory, "data");
double[,] train = ReadCsv(Path.Combine(dataFolder, "moons2d_train.csv"));
double[,] test = ReadCsv(Path.Combine(dataFolder, "moons2d_test.csv"));
Console.WriteLine($"Two moons: {train.GetLength(0)} training and {test.GetLength(0)} test points.");

// A chain of learned linear maps and sinh-arcsinh warps, with a standard normal base.
const int dimension = 2;
var layers = new List<IBijector<double>>();
for (int i = 0; i < 6; i++)
{
    layers.Add(new LowerTriangularAffine<double>(dimension));
    layers.Add(new SinhArcsinh<double>(dimension));
    layers.Add(Permutation<double>.Reverse(dimension));
}

layers.Add(new LowerTriangularAffine<double>(dimension));
var flow = new TransformedDistribution<double>(new StandardNormal<double>(dimension), new Chain<double>(layers));

var stopwatch = Stopwatch.StartNew();
FitReport report = flow.Fit(train, new FitOptions
{
    Epochs = 150,
    BatchSize = 256,
    Optimizer = new AdamOptions { LearningRate = 5e-3 },
    Patience = 15,
    Seed = 1,
    Progress = new Progress<EpochReport>(r =>
    {
        if (r.Epoch % 25 == 0)
        {
            Console.WriteLine($"  epoch {r.Epoch,3}: train NLL {r.TrainLoss:F4}, validation NLL {r.ValidationLoss:F4}");
        }
    }),
});
Console.WriteLine($"Fitted in {stopwatch.Elapsed.TotalSeconds:F1} s: {report}");

double flowLogLikelihood = flow.DensityLn(test).Average();
double gaussianLogLikelihood = GaussianLogLikelihood(train, test);
Console.WriteLine($"Held-out mean log-likelihood: flow {flowLogLikelihood:F4} nats, Gaussian {gaussianLogLikelihood:F4} nats.");

double[,] samples = flow.Sample(2000, new Random(2));
string plotPath = Path.GetFullPath(args.Length > 0 ? args[0] : "quickstart.png");
Plot(test, samples, plotPath);
Console.WriteLine($"Wrote {plotPath} (test data vs 2,000 flow samples).");

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

// The maximum-likelihood Gaussian (sample mean and covariance of train), scored on test through its Cholesky factor.
static double GaussianLogLikelihood(double[,] train, double[,] test)
{
    Matrix<double> x = Matrix<double>.Build.DenseOfArray(train);
    Vector<double> mean = x.ColumnSums() / x.RowCount;
    Matrix<double> centered = x - Matrix<double>.Build.Dense(x.RowCount, x.ColumnCount, (_, j) => mean[j]);
    Matrix<double> covariance = centered.TransposeThisAndMultiply(centered) / x.RowCount;
    var cholesky = covariance.Cholesky();
    double logDet = cholesky.DeterminantLn;
    double total = 0;
    for (int i = 0; i < test.GetLength(0); i++)
    {
        Vector<double> d = Vector<double>.Build.Dense(test.GetLength(1), j => test[i, j] - mean[j]);
        total += -0.5 * (d.DotProduct(cholesky.Solve(d)) + logDet + (d.Count * Math.Log(2 * Math.PI)));
    }

    return total / test.GetLength(0);
}

static void Plot(double[,] data, double[,] samples, string path)
{
    var plot = new ScottPlot.Plot();
    var dataPoints = plot.Add.ScatterPoints(Column(data, 0), Column(data, 1));
    dataPoints.LegendText = "test data";
    dataPoints.MarkerSize = 2;
    var samplePoints = plot.Add.ScatterPoints(Column(samples, 0), Column(samples, 1));
    samplePoints.LegendText = "flow samples";
    samplePoints.MarkerSize = 2;
    plot.Title("Two moons: data vs samples from the fitted flow");
    plot.ShowLegend();
    plot.SavePng(path, 800, 600);
}

static double[] Column(double[,] values, int column)
    => [.. Enumerable.Range(0, values.GetLength(0)).Select(i => values[i, column])];
