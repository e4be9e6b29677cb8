using System.Diagnostics;
using System.Globalization;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Training;

namespace Flows.Quality;

/// <summary>
/// Issue 15's supports figure: a log-normal column (LogNormal(0.5, 0.6), support Positive(0)), a Beta(2, 5) column
/// (Interval(0, 1)) and a standard normal column (Real), fitted together by a preset with supports on N training rows
/// (default 20,000) at Fit's defaults. Prints, per seed, the held-out mean log-likelihood on 5,000 fresh rows against the
/// true density's (the gap with the standard error of the paired difference), the Kolmogorov–Smirnov distance of 20,000
/// samples to each true marginal, and how many samples left a support.
/// </summary>
/// <remarks>
/// dotnet run -c Release --project benchmarks/Flows.Quality -- --data supports [--seeds 3] [--rows 20000] [--models maf,nsf]
/// </remarks>
internal static class SupportsFigure
{
    public static void Run(string[] args)
    {
        int seeds = 3;
        int rows = 20_000;
        string[] models = ["maf"];
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--data":
                    i++;
                    break;
                case "--seeds":
                    seeds = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--rows":
                    rows = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--models":
                    models = args[++i].Split(',');
                    break;
                default:
                    throw new ArgumentException($"Unknown argument {args[i]} for --data supports.");
            }
        }

        Console.WriteLine($"supports: LogNormal(0.5, 0.6) on Positive(0), Beta(2, 5) on Interval(0, 1), N(0, 1) on Real; {rows} training rows, 5,000 test rows, 20,000 samples");
        Console.WriteLine($"  {"model",-5} {"seed",4} {"fitted",9} {"truth",9} {"gap",7} {"± se",7} {"KS x0",7} {"KS x1",7} {"KS x2",7} {"outside",7} {"steps",6} {"s",6}");
        foreach (string model in models)
        {
            for (int seed = 0; seed < seeds; seed++)
            {
                double[,] train = SupportsTruth.Sample(rows, seed: 1000 + seed);
                double[,] test = SupportsTruth.Sample(5000, seed: 2000 + seed);
                TransformedDistribution<double> flow = model switch
                {
                    "maf" => MaskedAutoregressiveFlow.Create<double>(3, seed: seed, supports: SupportsTruth.Supports),
                    "nsf" => NeuralSplineFlow.Create<double>(3, seed: seed, supports: SupportsTruth.Supports),
                    _ => throw new ArgumentException($"Unknown model {model}; maf or nsf."),
                };
                var clock = Stopwatch.StartNew();
                FitReport report = flow.Fit(train, new FitOptions { Seed = seed });
                double seconds = clock.Elapsed.TotalSeconds;
                double[] fitted = flow.DensityLn(test);
                double[] gaps = [.. Enumerable.Range(0, 5000).Select(i => SupportsTruth.DensityLn(test, i) - fitted[i])];
                double gap = gaps.Average();
                double se = Math.Sqrt(gaps.Sum(g => (g - gap) * (g - gap)) / (gaps.Length - 1) / gaps.Length);
                double[,] samples = flow.Sample(20_000, new Random(seed));
                int outside = 0;
                for (int i = 0; i < 20_000; i++)
                {
                    for (int j = 0; j < 3; j++)
                    {
                        outside += SupportsTruth.Supports[j].Contains(samples[i, j]) ? 0 : 1;
                    }
                }

                double[] ks = SupportsTruth.KolmogorovSmirnov(samples);
                Console.WriteLine(FormattableString.Invariant(
                    $"  {model,-5} {seed,4} {fitted.Average(),9:F4} {gaps.Select((g, i) => g + fitted[i]).Average(),9:F4} {gap,7:F4} {se,7:F4} {ks[0],7:F4} {ks[1],7:F4} {ks[2],7:F4} {outside,7} {report.Steps,6} {seconds,6:F0}"));
            }
        }
    }
}
