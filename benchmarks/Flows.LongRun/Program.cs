// Long runs (issue #12, "faults to inject"): many plain Adam steps of every preset on heavy-tailed data, reporting
// whether the parameters stay finite and how the held-out loss at the end compares with the loss at the start.
//
//   dotnet run -c Release --project benchmarks/Flows.LongRun [-- --steps 100000] [--presets maf,iaf,realnvp,nsf]
//       [--data t2,outliers] [--dimension 4] [--transforms 5] [--hidden 64,64] [--batch 256] [--lr 1e-3] [--clip 5]
//       [--seed 1]
//
// Not a unit test and not run in CI: at the defaults (100,000 steps, zuko's preset sizes) it takes hours on two cores.
// Each step is what Fit does per minibatch (mean negative log-likelihood on a tape in training mode, gradients clipped
// to a global norm, one Adam step) without Fit's safety nets (validation, early stopping, restoring the best epoch,
// stopping on a non-finite loss), so that what the layers and the optimizer do over a long run is seen directly.
using System.Diagnostics;
using System.Globalization;
using Flows.Autodiff;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.LongRun;
using Flows.Training;

var options = LongRunOptions.Parse(args);
Console.WriteLine($"{options}; {Environment.ProcessorCount} cores.");
var rows = new List<string>();
foreach (string dataName in options.Data)
{
    (double[,] train, double[,] heldOut) = HeavyTailedData.Create(dataName, options.Dimension, options.Seed);
    foreach (string preset in options.Presets)
    {
        TransformedDistribution<double> flow = preset switch
        {
            "maf" => MaskedAutoregressiveFlow.Create<double>(options.Dimension, options.Transforms, options.Hidden, seed: options.Seed),
            "iaf" => InverseAutoregressiveFlow.Create<double>(options.Dimension, options.Transforms, options.Hidden, seed: options.Seed),
            "realnvp" => RealNvpFlow.Create<double>(options.Dimension, options.Transforms, options.Hidden, seed: options.Seed),
            "nsf" => NeuralSplineFlow.Create<double>(options.Dimension, options.Transforms, hiddenFeatures: options.Hidden, seed: options.Seed),
            "nsf-coupling" => NeuralSplineFlow.Create<double>(options.Dimension, options.Transforms, hiddenFeatures: options.Hidden, coupling: true, seed: options.Seed),
            _ => throw new ArgumentException($"Unknown preset '{preset}'; choose from maf, iaf, realnvp, nsf, nsf-coupling.", nameof(args)),
        };
        LongRunResult result = LongRun.Train(flow, train, heldOut, options);
        string line = $"| {preset} | {dataName} | {result.Steps:N0} | {result.StartLoss:G5} | {result.FinalLoss:G5} | {result.BestLoss:G5} | " +
            $"{(result.FinalLoss <= result.StartLoss ? "yes" : "NO")} | {(result.ParametersFinite ? "yes" : "NO")} | " +
            $"{result.NonFiniteSteps:N0} | {result.FirstTrainLoss:G4} → {result.LastTrainLoss:G4} | {result.Elapsed.TotalSeconds:F0} s |";
        Console.WriteLine(line);
        rows.Add(line);
    }
}

Console.WriteLine();
Console.WriteLine("Held-out loss = mean negative log-likelihood of the held-out rows (nats per row); 'final ≤ start' = no worse than the untrained flow.");
Console.WriteLine("| preset | data | steps | held-out loss at start | at end | best seen | final ≤ start | parameters finite | non-finite steps | training loss, first step → median of the last 1% | time |");
Console.WriteLine("|---|---|---:|---:|---:|---:|---|---|---:|---|---:|");
rows.ForEach(Console.WriteLine);

namespace Flows.LongRun
{
    /// <summary>The command line, with the defaults of the issue: 100,000 steps of zuko-sized presets.</summary>
    internal sealed record LongRunOptions(int Steps, string[] Presets, string[] Data, int Dimension, int Transforms, int[] Hidden,
        int Batch, double LearningRate, double? Clip, int Seed)
    {
        public static LongRunOptions Parse(string[] args)
        {
            string? Option(string name)
            {
                int i = Array.IndexOf(args, name);
                return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
            }

            static int Int(string text) => int.Parse(text, CultureInfo.InvariantCulture);
            double clip = double.Parse(Option("--clip") ?? "5", CultureInfo.InvariantCulture);
            return new LongRunOptions(
                Int(Option("--steps") ?? "100000"),
                (Option("--presets") ?? "maf,iaf,realnvp,nsf").Split(','),
                (Option("--data") ?? "t2,outliers").Split(','),
                Int(Option("--dimension") ?? "4"),
                Int(Option("--transforms") ?? "5"),
                [.. (Option("--hidden") ?? "64,64").Split(',').Select(Int)],
                Int(Option("--batch") ?? "256"),
                double.Parse(Option("--lr") ?? "1e-3", CultureInfo.InvariantCulture),
                clip > 0 ? clip : null,
                Int(Option("--seed") ?? "1"));
        }

        public override string ToString()
            => $"{Steps:N0} Adam steps (learning rate {LearningRate}, gradient clipping {(Clip is { } c ? c.ToString(CultureInfo.InvariantCulture) : "off")}) " +
               $"of batch {Batch}; presets {string.Join(", ", Presets)} at dimension {Dimension}, {Transforms} transforms, hidden [{string.Join(", ", Hidden)}]; " +
               $"data {string.Join(", ", Data)}; seed {Seed}";
    }

    /// <summary>The outcome of one long run.</summary>
    internal sealed record LongRunResult(int Steps, double StartLoss, double FinalLoss, double BestLoss, bool ParametersFinite,
        int NonFiniteSteps, double FirstTrainLoss, double LastTrainLoss, TimeSpan Elapsed);

    /// <summary>The two data sets: Student-t with 2 degrees of freedom, and Gaussian data with a few 1e6 outliers.</summary>
    internal static class HeavyTailedData
    {
        private const int TrainRows = 10_000;
        private const int HeldOutRows = 2_000;

        // Coordinates are mixed by this lower-triangular matrix (its top-left block for smaller dimensions), so that the
        // features are dependent and the flow has something to learn beyond the marginals.
        private static readonly double[,] Mixing = { { 1, 0, 0, 0 }, { 0.5, 1, 0, 0 }, { 0, 0.3, 1, 0 }, { 0.2, 0, 0.4, 1 } };

        /// <summary>Training and held-out rows of the named data set.</summary>
        /// <remarks><c>t2</c>: every coordinate an independent Student-t with ν = 2 (infinite variance), then mixed; the
        /// held-out rows are drawn the same way. <c>outliers</c>: mixed standard normal rows, of which 5 training rows
        /// have one coordinate set to ±1e6; the held-out rows are clean, so the held-out loss says whether the fit still
        /// describes the bulk of the data.</remarks>
        public static (double[,] Train, double[,] HeldOut) Create(string name, int dimension, int seed)
        {
            var random = new Random(seed);
            Func<double> draw = name switch
            {
                // t = z / sqrt(χ²₂/2), and χ²₂/2 is a unit exponential, −ln U.
                "t2" => () => Normal(random) / Math.Sqrt(-Math.Log(1 - random.NextDouble())),
                "outliers" => () => Normal(random),
                _ => throw new ArgumentException($"Unknown data set '{name}'; choose t2 or outliers.", nameof(name)),
            };
            double[,] train = Rows(TrainRows, dimension, draw);
            double[,] heldOut = Rows(HeldOutRows, dimension, draw);
            if (name == "outliers")
            {
                for (int k = 0; k < 5; k++)
                {
                    train[random.Next(TrainRows), random.Next(dimension)] = k % 2 == 0 ? 1e6 : -1e6;
                }
            }

            return (train, heldOut);
        }

        private static double[,] Rows(int count, int dimension, Func<double> draw)
        {
            var rows = new double[count, dimension];
            var z = new double[dimension];
            for (int i = 0; i < count; i++)
            {
                for (int j = 0; j < dimension; j++)
                {
                    z[j] = draw();
                }

                for (int j = 0; j < dimension; j++)
                {
                    double sum = 0;
                    for (int k = 0; k <= j; k++)
                    {
                        sum += (j < 4 && k < 4 ? Mixing[j, k] : j == k ? 1 : 0) * z[k];
                    }

                    rows[i, j] = sum;
                }
            }

            return rows;
        }

        private static double Normal(Random random)
            => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
    }

    /// <summary>The training loop: Fit's minibatch step, without its safety nets.</summary>
    internal static class LongRun
    {
        public static LongRunResult Train(TransformedDistribution<double> flow, double[,] train, double[,] heldOut, LongRunOptions options)
        {
            var stopwatch = Stopwatch.StartNew();
            int rows = train.GetLength(0);
            int d = train.GetLength(1);
            double startLoss = HeldOutLoss(flow, heldOut);
            double bestLoss = startLoss;
            var adam = new Adam<double>(flow.Parameters, new AdamOptions { LearningRate = options.LearningRate });
            var tape = new Tape<double>(isRecording: true, isTraining: true);
            var random = new Random(options.Seed);
            var batch = new double[options.Batch * d];
            int nonFinite = 0;
            double firstTrainLoss = double.NaN;
            var lastTrainLosses = new List<double>();
            int reportEvery = Math.Max(1, options.Steps / 10);
            bool finite = true;
            for (int step = 1; step <= options.Steps; step++)
            {
                // Rows drawn with replacement: a long run has no epochs to speak of.
                for (int i = 0; i < options.Batch; i++)
                {
                    int row = random.Next(rows);
                    for (int j = 0; j < d; j++)
                    {
                        batch[(i * d) + j] = train[row, j];
                    }
                }

                tape.Reset();
                adam.ZeroGradients();
                Node<double> loss = tape.Negate(tape.Mean(flow.DensityLn(tape, tape.Constant(batch, options.Batch, d))));
                double value = loss.Values[0];
                firstTrainLoss = step == 1 ? value : firstTrainLoss;
                if (!double.IsFinite(value))
                {
                    // Fit would stop here; the long run counts the step and skips it, as a robust loop would.
                    nonFinite++;
                    continue;
                }

                tape.Backward(loss);
                if (options.Clip is { } clip)
                {
                    GradientClipping.ClipByGlobalNorm(flow.Parameters, clip);
                }

                adam.Step();
                if (step > options.Steps - Math.Max(1, options.Steps / 100))
                {
                    lastTrainLosses.Add(value);
                }

                if (step % reportEvery == 0 || step == options.Steps)
                {
                    finite &= flow.Parameters.All(p => p.Values.All(double.IsFinite));
                    double heldOutLoss = finite ? HeldOutLoss(flow, heldOut) : double.NaN;
                    bestLoss = Math.Min(bestLoss, heldOutLoss);
                    Console.WriteLine($"    step {step,7:N0}: training loss {value,10:G5}, held-out loss {heldOutLoss,10:G5}, parameters finite {finite}, {stopwatch.Elapsed.TotalSeconds:F0} s");
                }
            }

            finite &= flow.Parameters.All(p => p.Values.All(double.IsFinite));
            double finalLoss = finite ? HeldOutLoss(flow, heldOut) : double.NaN;
            // The median: with outliers in the data, the few batches that hold one dominate a mean by orders of magnitude.
            lastTrainLosses.Sort();
            double lastTrainLoss = lastTrainLosses.Count > 0 ? lastTrainLosses[lastTrainLosses.Count / 2] : double.NaN;
            return new LongRunResult(options.Steps, startLoss, finalLoss, bestLoss, finite, nonFinite, firstTrainLoss, lastTrainLoss, stopwatch.Elapsed);
        }

        // Mean negative log-likelihood of the held-out rows; +∞ when a row's density underflows, NaN if one is NaN.
        private static double HeldOutLoss(TransformedDistribution<double> flow, double[,] heldOut)
            => -flow.DensityLn(heldOut).Average();
    }
}
