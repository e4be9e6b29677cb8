using System.Diagnostics;
using System.Globalization;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Training;

namespace Flows.Quality;

/// <summary>
/// Issue 15's integer-column case: Iris's four measurements and its species (0, 1, 2) as an integer column, a MAF fitted
/// with <c>IntegerColumns = [4]</c> at Fit's defaults, 5-fold cross-validation. Prints, per fold, the held-out mean log P
/// (the cell mass, 1,000 points per cell) with the standard error over flowers, the mean standard error of the per-row
/// estimates, and the mean dequantized log-density (the Jensen lower bound).
/// </summary>
/// <remarks>dotnet run -c Release --project benchmarks/Flows.Quality -- --data iris-species</remarks>
internal static class IntegerFigure
{
    public static void Run()
    {
        string[] lines = [.. File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "data", "iris.csv")).Skip(1).Where(l => l.Length > 0)];
        string[] species = [.. lines.Select(l => l.Split(',')[4]).Distinct()];
        var iris = new double[lines.Length, 5];
        for (int i = 0; i < lines.Length; i++)
        {
            string[] cells = lines[i].Split(',');
            for (int j = 0; j < 4; j++)
            {
                iris[i, j] = double.Parse(cells[j], CultureInfo.InvariantCulture);
            }

            iris[i, 4] = Array.IndexOf(species, cells[4]);
        }

        Split[] folds = DataSets.Folds(iris, 5, seed: 1);
        Console.WriteLine("iris-species: 150 × (4 measurements + species as an integer column), MAF at Fit's defaults, 5-fold cross-validation");
        Console.WriteLine($"  {"fold",4} {"log P",9} {"± se",7} {"row se",7} {"bound",9} {"steps",6} {"s",5}");
        var all = new List<double>();
        for (int fold = 0; fold < 5; fold++)
        {
            (double[,] train, double[,] test) = folds[fold];
            TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(5, seed: fold);
            var clock = Stopwatch.StartNew();
            FitReport report = flow.Fit(train, new FitOptions { IntegerColumns = [4], Seed = fold });
            double seconds = clock.Elapsed.TotalSeconds;
            CellMassEstimate[] masses = flow.CellMassLn(test, [4], 1000, new Random(fold));
            double[] logP = [.. masses.Select(m => m.LogMass)];
            all.AddRange(logP);
            double mean = logP.Average();
            double se = Math.Sqrt(logP.Sum(v => (v - mean) * (v - mean)) / (logP.Length - 1) / logP.Length);
            Console.WriteLine(FormattableString.Invariant(
                $"  {fold + 1,4} {mean,9:F4} {se,7:F4} {masses.Average(m => m.StandardError),7:F4} {masses.Average(m => m.DequantizedLogDensity),9:F4} {report.Steps,6} {seconds,5:F0}"));
        }

        double overall = all.Average();
        double overallSe = Math.Sqrt(all.Sum(v => (v - overall) * (v - overall)) / (all.Count - 1) / all.Count);
        Console.WriteLine(FormattableString.Invariant($"  all  {overall,9:F4} {overallSe,7:F4}  (nats per flower: density of the measurements × probability of the species)"));
    }
}
