// Vae: variational autoencoders whose posteriors are flows, the comparison of Rezende & Mohamed (2015), Kingma et al.
// (2016) and van den Berg et al. (2018) at a size this machine runs: on generated 8 × 8 binary shapes, one encoder and
// one decoder, with a diagonal-Gaussian posterior and with amortized planar, IAF and Sylvester posteriors of 4, 8 and
// 16 layers. Prints each model's held-out marginal log-likelihood (importance sampling) with its standard errors, its
// ELBO, its gain over the diagonal posterior on the same rows, and its fitting time; writes vae.png with held-out
// images, their reconstructions and samples from the prior of the best model. `antipodal` runs the same comparison on
// data from a known model whose true posterior has two mirror-image modes (Antipodal.cs), where a Gaussian posterior
// must lose: first against the known decoder (with the exact log p(x) by quadrature), then with the decoder trained.
using System.Diagnostics;
using System.Globalization;
using Flows.Bijectors;
using Flows.Plotting;
using Flows.Training;
using Flows.Variational;
using ScottPlot;

const string usage = """
    Vae: VAEs with diagonal, planar, IAF and Sylvester posteriors (4, 8 and 16 layers, one encoder and one decoder),
    compared by held-out marginal log-likelihood (importance sampling, k samples per row) with standard errors and
    fitting times, on one of two generated binary data sets:
      shapes     8 × 8 images of a square, ellipse or cross at a random position, size and rotation (the default).
                 Writes vae.png (held-out images, reconstructions, prior samples). About 3 minutes on two cores.
      antipodal  32 features from a known model whose logits see z only through |u_k · z|, so the true posterior
                 has two mirror-image modes (z and −z). Two comparisons: posteriors fitted against the known decoder
                 (with the exact log p(x) by quadrature), then decoder and posterior trained together. Writes
                 vae-antipodal.png (posterior samples of held-out rows). 6 to 16 minutes on two shared cores.
    `quick` runs a small version (seconds) for CI.

    Usage: dotnet run -c Release --project samples/Vae [shapes|antipodal] [quick]

    Options:
      -h, --help  Show this help and exit.
    """;
if (SampleSupport.Refusal("Vae", args, usage, positional: 2) is int code)
{
    return code;
}

string? unexpected = args.FirstOrDefault(a => a is not ("quick" or "shapes" or "antipodal"));
if (unexpected is not null || args.Distinct().Count() != args.Length || (args.Contains("shapes") && args.Contains("antipodal")))
{
    Console.Error.WriteLine($"Vae: unexpected argument(s) {string.Join(" ", args)}.\n{usage}");
    return 2;
}

bool quick = args.Contains("quick");
bool antipodal = args.Contains("antipodal");
const int Context = 16;
int[] layerCounts = quick ? [4] : [4, 8, 16];
return antipodal ? RunAntipodal() : RunShapes();

int RunShapes()
{
    const int Latent = 4;
    int trainRows = quick ? 1000 : 5000;
    int testRows = quick ? 200 : 1000;
    int epochs = quick ? 4 : 60;
    int importanceSamples = quick ? 50 : 500;
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

    // The same decoder start for every posterior (seed 5), so that only the posterior differs.
    List<Result> rows = Compare(Latent, Shapes.Pixels, [128], train, test, options, importanceSamples,
        () => LatentVariableModel<double>.WithStandardNormalPrior(new BernoulliDecoder<double>(Latent, Shapes.Pixels, [128], seed: 5)));
    Console.WriteLine();
    Console.WriteLine($"Held-out log p(x) of {testRows} rows, k = {importanceSamples} importance samples per row; gain = paired mean difference to the diagonal posterior on the same rows.");
    PrintTable(rows, null);
    Result best = rows.MaxBy(r => r.Estimate.Mean)!;
    Console.WriteLine($"Best: {best.Name} ({best.Estimate.Mean:F3}). Writing vae.png (16 held-out images, their reconstructions, 32 prior samples).");
    Plot(best.Vae, test).Save("vae.png");
    return 0;
}

int RunAntipodal()
{
    int trainRows = quick ? 500 : 3000;
    int testRows = quick ? 100 : 1000;
    int epochs = quick ? 3 : 200;
    int importanceSamples = quick ? 50 : 1000;
    BernoulliDecoder<double> truth = Antipodal.TrueDecoder(seed: 1);
    double[,] train = Antipodal.Generate(truth, trainRows, seed: 2);
    double[,] test = Antipodal.Generate(truth, testRows, seed: 3);
    var clock = Stopwatch.StartNew();
    double[] exact = Antipodal.ExactLogLikelihood(truth, test, spacing: 0.02);
    double seconds = clock.Elapsed.TotalSeconds;
    // The quadrature's own check: the grid of twice the spacing, whose error (second order) is about 4 times this one's.
    double[] coarser = Antipodal.ExactLogLikelihood(truth, test, spacing: 0.04);
    double moved = exact.Zip(coarser, (a, b) => Math.Abs(a - b)).Max();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"Exact held-out log p(x) (quadrature, spacing 0.02, {seconds:F1} s): {exact.Average():F4} ± {StandardError(exact):F3} over {testRows} rows; spacing 0.04 moves a row by at most {moved:G2}, the mean by {exact.Average() - coarser.Average():G2}."));
    var options = new AmortizedFitOptions
    {
        Epochs = epochs,
        BatchSize = 100,
        WarmupEpochs = Math.Max(1, epochs / 10),
        Seed = 3,
        Optimizer = new AdamOptions { LearningRate = 1e-3 },
    };

    Console.WriteLine("\n(a) Posteriors fitted against the known decoder (TrainModel = false).");
    List<Result> known = Compare(Antipodal.Latent, Antipodal.Features, [64], train, test, options with { TrainModel = false }, importanceSamples,
        () => LatentVariableModel<double>.WithStandardNormalPrior(truth));
    Console.WriteLine("\n(b) Decoder (2 → 64 ReLU → 32 logits, same start for every posterior) and posterior trained together.");
    List<Result> joint = Compare(Antipodal.Latent, Antipodal.Features, [64], train, test, options, importanceSamples,
        () => LatentVariableModel<double>.WithStandardNormalPrior(new BernoulliDecoder<double>(Antipodal.Latent, Antipodal.Features, [64], seed: 5)));

    Console.WriteLine();
    Console.WriteLine($"(a) Known decoder. Held-out log p(x) of {testRows} rows, k = {importanceSamples} importance samples per row; gain = paired mean difference to the diagonal posterior on the same rows; gap = exact − estimate, paired.");
    PrintTable(known, exact);
    Console.WriteLine();
    Console.WriteLine($"(b) Decoder trained with the posterior. Held-out log p(x) of the same {testRows} rows (exact under the true model: {exact.Average():F3}), k = {importanceSamples}.");
    PrintTable(joint, null);
    Result best = known.Skip(1).MaxBy(r => r.Estimate.Mean)!; // the best flow posterior
    Console.WriteLine($"Writing vae-antipodal.png: samples of q(z | x) for 4 held-out rows, diagonal and {best.Name} posteriors against the known decoder.");
    PlotPosteriors([known[0], best], test).Save("vae-antipodal.png");
    return 0;
}

List<Result> Compare(int latent, int features, int[] hidden, double[,] train, double[,] test, AmortizedFitOptions options, int importanceSamples,
    Func<LatentVariableModel<double>> model)
{
    var rows = new List<Result> { Run("diagonal", 0, null) };
    foreach (int k in layerCounts)
    {
        rows.Add(Run("planar", k, Planar(latent, k)));
        rows.Add(Run("IAF", k, Iaf(latent, k)));
        rows.Add(Run("Sylvester", k, Sylvester(latent, k)));
    }

    return rows;

    Result Run(string family, int layers, IBijector<double>? flow)
    {
        string name = layers == 0 ? family : $"{family}-{layers}";
        var posterior = new AmortizedPosterior<double>(features, latent, hidden, flow, seed: 4);
        var vae = new VariationalAutoencoder<double>(posterior, model());
        AmortizedFitReport report = vae.Fit(train, options);
        MarginalLogLikelihoodEstimate estimate = vae.EstimateLogLikelihood(test, importanceSamples, seed: 6);
        Console.WriteLine($"{name}: {estimate}; last epoch {report.Final}; fit {report.Seconds:F1} s");
        return new Result(name, estimate, report, vae);
    }
}

void PrintTable(List<Result> rows, double[]? exact)
{
    string gapHeader = exact is null ? "" : $" {"gap",8} {"± SE",7}";
    Console.WriteLine($"{"posterior",-16} {"log p(x)",10} {"± SE",7} {"± MC",7} {"ELBO",10} {"± SE",7} {"gain",8} {"± SE",7}{gapHeader} {"KL",7} {"fit s",7}");
    IReadOnlyList<double> baseline = rows[0].Estimate.PerRow;
    foreach ((string name, MarginalLogLikelihoodEstimate e, AmortizedFitReport report, _) in rows)
    {
        (double gain, double gainError) = PairedDifference(e.PerRow, baseline);
        string gap = "";
        if (exact is not null)
        {
            (double g, double gError) = PairedDifference(exact, e.PerRow);
            gap = string.Create(CultureInfo.InvariantCulture, $" {g,8:F3} {gError,7:F3}");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-16} {e.Mean,10:F3} {e.StandardError,7:F3} {e.MonteCarloStandardError,7:F4} {e.Elbo,10:F3} {e.ElboStandardError,7:F3} {gain,8:F3} {gainError,7:F3}{gap} {report.Final.KullbackLeibler,7:F3} {report.Seconds,7:F1}"));
    }
}

IBijector<double> Planar(int latent, int layers)
    => new Chain<double>([.. Enumerable.Range(0, layers).Select(l => (IBijector<double>)new AmortizedPlanar<double>(latent, Context, seed: 10 + l))]);

IBijector<double> Iaf(int latent, int layers)
    => new Chain<double>([.. Enumerable.Range(0, layers).Select(l => (IBijector<double>)new Inverted<double>(new MaskedAutoregressive<double>(
        latent, [32, 32], l % 2 == 0 ? Flows.Neural.Orders.Natural(latent) : Flows.Neural.Orders.Reversed(latent), Context, seed: 10 + l)))]);

IBijector<double> Sylvester(int latent, int layers)
    => new Chain<double>([.. Enumerable.Range(0, layers).Select(l => (IBijector<double>)new AmortizedSylvester<double>(latent, Context, reversed: l % 2 == 1, seed: 10 + l))]);

static double StandardError(IReadOnlyList<double> values)
{
    double mean = values.Average();
    return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1) / values.Count);
}

// Samples of q(z | x) for the first 4 held-out rows, one panel per posterior, one colour per row.
static Figure PlotPosteriors(Result[] results, double[,] test)
{
    const int Shown = 4;
    const int Draws = 400;
    var rows = new double[Shown, test.GetLength(1)];
    for (int i = 0; i < Shown; i++)
    {
        for (int j = 0; j < test.GetLength(1); j++)
        {
            rows[i, j] = test[i, j];
        }
    }

    var multiplot = new Multiplot();
    multiplot.AddPlots(results.Length);
    multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(1, results.Length);
    for (int r = 0; r < results.Length; r++)
    {
        double[,] z = results[r].Vae.Posterior.Sample(rows, Draws, new Random(9));
        Plot plot = multiplot.GetPlot(r);
        for (int i = 0; i < Shown; i++)
        {
            double[] xs = [.. Enumerable.Range(0, Draws).Select(s => z[(i * Draws) + s, 0])];
            double[] ys = [.. Enumerable.Range(0, Draws).Select(s => z[(i * Draws) + s, 1])];
            var scatter = plot.Add.ScatterPoints(xs, ys);
            scatter.MarkerSize = 2;
        }

        plot.Title($"q(z | x), {results[r].Name}");
        plot.Axes.SetLimits(-3.5, 3.5, -3.5, 3.5);
        plot.Axes.SquareUnits();
    }

    return new Figure(multiplot, 900, 450);
}

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

internal sealed record Result(string Name, MarginalLogLikelihoodEstimate Estimate, AmortizedFitReport Report, VariationalAutoencoder<double> Vae);
