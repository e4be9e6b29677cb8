// Vae: variational autoencoders whose posteriors are flows, the comparison of Rezende & Mohamed (2015), Kingma et al.
// (2016) and van den Berg et al. (2018) at a size this machine runs: on generated 8 × 8 binary shapes, one encoder and
// one decoder, with a diagonal-Gaussian posterior and with amortized planar, IAF and Sylvester posteriors of 4, 8 and
// 16 layers. Prints each model's held-out marginal log-likelihood (importance sampling) with its standard errors, its
// ELBO, its gain over the diagonal posterior on the same rows, and its fitting time; writes vae.png with held-out
// images, their reconstructions and samples from the prior of the best model.
using System.Diagnostics;
using System.Globalization;
using Flows.Bijectors;
using Flows.Plotting;
using Flows.Training;
using Flows.Variational;
using ScottPlot;

const string usage = """
    Vae: VAEs on generated 8 × 8 binary shapes with diagonal, planar, IAF and Sylvester posteriors (4, 8 and 16 layers),
    compared by held-out marginal log-likelihood (importance sampling, k samples per row) with standard errors and fitting
    times. Writes vae.png (held-out images, reconstructions, prior samples) in the current folder. About 3 minutes on
    two cores; `quick` runs a small version (a few seconds) for CI.

    Usage: dotnet run -c Release --project samples/Vae [quick]

    Options:
      -h, --help  Show this help and exit.
    """;
if (SampleSupport.Refusal("Vae", args, usage, positional: 1) is int code)
{
    return code;
}

bool quick = args is ["quick"];
if (args.Length == 1 && !quick)
{
    Console.Error.WriteLine($"Vae: unexpected argument {args[0]}.\n{usage}");
    return 2;
}

const int Latent = 4;
const int Context = 16;
int[] hidden = [128];
int trainRows = quick ? 1000 : 5000;
int testRows = quick ? 200 : 1000;
int epochs = quick ? 4 : 60;
int importanceSamples = quick ? 50 : 500;
int[] layerCounts = quick ? [4] : [4, 8, 16];
double[,] train = Shapes.Generate(trainRows, seed: 1);
double[,] test = Shapes.Generate(testRows, seed: 2);
var options = new AmortizedFitOptions
{
    Epochs = epochs,
    BatchSize = 100,
    WarmupEpochs = Math.Max(1, epochs / 6),
    Seed = 3,
    Optimizer = new AdamOptions { LearningRate = 1e-3 },
};

var rows = new List<(string Name, MarginalLogLikelihoodEstimate Estimate, AmortizedFitReport Report, VariationalAutoencoder<double> Vae)>();
rows.Add(Run("diagonal", 0, null));
foreach (int k in layerCounts)
{
    rows.Add(Run("planar", k, Planar(k)));
    rows.Add(Run("IAF", k, Iaf(k)));
    rows.Add(Run("Sylvester", k, Sylvester(k)));
}

Console.WriteLine();
Console.WriteLine($"Held-out log p(x) of {testRows} rows, k = {importanceSamples} importance samples per row; gain = paired mean difference to the diagonal posterior on the same rows.");
Console.WriteLine($"{"posterior",-16} {"log p(x)",10} {"± SE",7} {"± MC",7} {"ELBO",10} {"± SE",7} {"gain",8} {"± SE",7} {"KL",7} {"fit s",7}");
IReadOnlyList<double> baseline = rows[0].Estimate.PerRow;
foreach ((string name, MarginalLogLikelihoodEstimate e, AmortizedFitReport report, _) in rows)
{
    (double gain, double gainError) = PairedDifference(e.PerRow, baseline);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{name,-16} {e.Mean,10:F3} {e.StandardError,7:F3} {e.MonteCarloStandardError,7:F4} {e.Elbo,10:F3} {e.ElboStandardError,7:F3} {gain,8:F3} {gainError,7:F3} {report.Final.KullbackLeibler,7:F3} {report.Seconds,7:F1}"));
}

var best = rows.MaxBy(r => r.Estimate.Mean);
Console.WriteLine($"Best: {best.Name} ({best.Estimate.Mean:F3}). Writing vae.png (16 held-out images, their reconstructions, 32 prior samples).");
Plot(best.Vae, test).Save("vae.png");
return 0;

(string, MarginalLogLikelihoodEstimate, AmortizedFitReport, VariationalAutoencoder<double>) Run(string family, int layers, IBijector<double>? flow)
{
    string name = layers == 0 ? family : $"{family}-{layers}";
    var posterior = new AmortizedPosterior<double>(Shapes.Pixels, Latent, hidden, flow, seed: 4);
    // The same decoder start for every posterior (seed 5), so that only the posterior differs.
    var decoder = new BernoulliDecoder<double>(Latent, Shapes.Pixels, hidden, seed: 5);
    var vae = new VariationalAutoencoder<double>(posterior, LatentVariableModel<double>.WithStandardNormalPrior(decoder));
    AmortizedFitReport report = vae.Fit(train, options);
    MarginalLogLikelihoodEstimate estimate = vae.EstimateLogLikelihood(test, importanceSamples, seed: 6);
    Console.WriteLine($"{name}: {estimate}; last epoch {report.Final}; fit {report.Seconds:F1} s");
    return (name, estimate, report, vae);
}

static IBijector<double> Planar(int layers)
    => new Chain<double>([.. Enumerable.Range(0, layers).Select(l => (IBijector<double>)new AmortizedPlanar<double>(Latent, Context, seed: 10 + l))]);

static IBijector<double> Iaf(int layers)
    => new Chain<double>([.. Enumerable.Range(0, layers).Select(l => (IBijector<double>)new Inverted<double>(new MaskedAutoregressive<double>(
        Latent, [32, 32], l % 2 == 0 ? Flows.Neural.Orders.Natural(Latent) : Flows.Neural.Orders.Reversed(Latent), Context, seed: 10 + l)))]);

static IBijector<double> Sylvester(int layers)
    => new Chain<double>([.. Enumerable.Range(0, layers).Select(l => (IBijector<double>)new AmortizedSylvester<double>(Latent, Context, reversed: l % 2 == 1, seed: 10 + l))]);

static (double Mean, double StandardError) PairedDifference(IReadOnlyList<double> a, IReadOnlyList<double> b)
{
    double[] d = [.. a.Select((v, i) => v - b[i])];
    double mean = d.Average();
    double variance = d.Sum(v => (v - mean) * (v - mean)) / (d.Length - 1);
    return (mean, Math.Sqrt(variance / d.Length));
}

static Figure Plot(VariationalAutoencoder<double> vae, double[,] test)
{
    const int Shown = 16;
    var originals = new double[Shown, Shapes.Pixels];
    for (int i = 0; i < Shown; i++)
    {
        for (int j = 0; j < Shapes.Pixels; j++)
        {
            originals[i, j] = test[i, j];
        }
    }

    double[,] reconstructions = vae.Reconstruct(originals, new Random(7));
    double[,] samples = ((LatentVariableModel<double>)vae.Model).SampleMeans(32, new Random(8));
    var multiplot = new Multiplot();
    multiplot.AddPlots(2);
    multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(2, 1);
    Mosaic(multiplot.GetPlot(0), [originals, reconstructions], "held-out images (top) and reconstructions (bottom)");
    Mosaic(multiplot.GetPlot(1), [Rows(samples, 0, 16), Rows(samples, 16, 16)], "samples from the prior (decoder means)");
    return new Figure(multiplot, 900, 360);
}

static double[,] Rows(double[,] values, int start, int count)
{
    var result = new double[count, values.GetLength(1)];
    for (int i = 0; i < count; i++)
    {
        for (int j = 0; j < values.GetLength(1); j++)
        {
            result[i, j] = values[start + i, j];
        }
    }

    return result;
}

// Strips of images, one strip per array, each image 8 × 8 with a one-pixel gap, as one heat map.
static void Mosaic(Plot plot, double[][,] strips, string title)
{
    int count = strips[0].GetLength(0);
    int cell = Shapes.Side + 1;
    var grid = new double[(strips.Length * cell) - 1, (count * cell) - 1];
    for (int r = 0; r < grid.GetLength(0); r++)
    {
        for (int c = 0; c < grid.GetLength(1); c++)
        {
            grid[r, c] = double.NaN;
        }
    }

    for (int s = 0; s < strips.Length; s++)
    {
        for (int n = 0; n < count; n++)
        {
            for (int p = 0; p < Shapes.Pixels; p++)
            {
                grid[(s * cell) + (p / Shapes.Side), (n * cell) + (p % Shapes.Side)] = strips[s][n, p];
            }
        }
    }

    var heatmap = plot.Add.Heatmap(grid);
    heatmap.Colormap = new ScottPlot.Colormaps.Grayscale();
    plot.Title(title);
    plot.Axes.Frameless();
    plot.HideGrid();
}
