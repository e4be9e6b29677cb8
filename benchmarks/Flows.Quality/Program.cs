// Flows.Quality: held-out log-likelihood of the Gaussian, MAF and NSF presets on small tables (and two moons), over seeds.
//
//   dotnet run -c Release --project benchmarks/Flows.Quality                        # the small tables, 5 seeds, double (a few minutes)
//   dotnet run -c Release --project benchmarks/Flows.Quality -- --data all          # also two moons at 20,000 rows and sinh8-400
//   dotnet run -c Release --project benchmarks/Flows.Quality -- --data iris,mixture8-120 --seeds 3 --float --start full
//   dotnet run -c Release --project benchmarks/Flows.Quality -- --data supports --seeds 3   # issue 15: per-column supports at 20,000 rows
//   dotnet run -c Release --project benchmarks/Flows.Quality -- --data iris-species         # issue 15: species as an integer column
//   dotnet run -c Release --project benchmarks/Flows.Quality -- --models maf --defensive none   # the flows without the defensive Gaussian share
//   dotnet run -c Release --project benchmarks/Flows.Quality -- --data gmm4-20000 --models maf --base gmm4 --transforms 1   # issue 15's bases
//   dotnet run -c Release --project benchmarks/Flows.Quality -- --data moons --models sospf,bpf,unaf,naf --seeds 3   # issue 19's monotone flows
//   dotnet run -c Release --project benchmarks/Flows.Quality -- --data moons --models maf-householder --seeds 1   # issue 19's MAF with Householder layers
//   dotnet run -c Release --project benchmarks/Flows.Quality -- --data moons --models unaf --first-seed 1 --seeds 2 --verbose   # seeds 1 and 2 only
//   dotnet run -c Release --project benchmarks/Flows.Quality -- --data moons --models bnaf --seeds 1 --transforms 3 --hidden 16,16   # issue 19's BNAF
//   dotnet run -c Release --project benchmarks/Flows.Quality -- --data student2-5000 --models maf --base studentt --patience-steps 10000 --max-steps 10000
//
// The protocol is issue 13's, the one zuko's figures were measured with: standardize with the training split's mean and
// standard deviation; presets at their defaults (5 transforms, hidden [64, 64]); Adam 1e-3; batch 256 or the whole
// training split if smaller; no gradient clipping; 20 % of the training split held out for validation, checked every
// epoch (every step when the split fits in one batch), stopping after about 1000 steps without improvement, best
// parameters restored. Log-likelihoods are per held-out row, in the data's own units; "worst row − Gaussian" is the
// lowest, over every held-out row and seed, of the row's log-density minus its log-density under the Gaussian fitted to
// the same training rows (a collapse shows there first).
//
// Issue 20's continuous flows: --models cnf-fm,cnf-ml (the ContinuousNormalizingFlow preset fitted by flow matching or by
// maximum likelihood with adjoint gradients; each fit prints its time and the vector-field evaluations per scored row):
//   dotnet run -c Release --project benchmarks/Flows.Quality -- --data moons --models cnf-fm --seeds 1
//   (--hidden 128,128 widens the vector field's hidden layers; --time-frequencies K and --activation tanh|softplus|swish
//   override the field's other defaults; --time-limit S cancels each fit after S seconds and scores the best checked
//   parameters, which the cancelled fit restored; --progress K prints every K-th epoch's losses)
//
// Data sets: iris (Fisher's 150 × 4, 5-fold cross-validation); moons-300 (300 rows of the two-moons training file);
// sinh8-N (x = sinh(Az + b) in 8 dimensions: skewed, heavy-tailed, correlated); banana8-N (four curved pairs);
// mixture8-N (three Gaussian clusters in 8 dimensions); moons (20,000 training rows); gmm4-N (four well-separated
// Gaussian modes in 2-D); student2-N (x = A t, t with independent Student-t(2) features, in 4 dimensions).
// --base swaps the flows' standard normal base ("normal", the default) for a K-component GaussianMixture ("gmmK") or a
// StudentT ("studentt"), keeping each preset's bijector; --transforms sets the number of flow layers (default 5). The synthetic sets are scored on
// 5,000 fresh rows and print their true mean log-density ("truth").
using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using Flows.Quality;

if (args.Length >= 2 && args[0] == "--data" && args[1] == "supports")
{
    SupportsFigure.Run(args);
    return;
}

if (args is ["--data", "iris-species"])
{
    IntegerFigure.Run();
    return;
}

var settings = Settings.Parse(args);
Console.WriteLine($"Flows.Quality: {settings}");
Console.WriteLine();
if (settings.Float)
{
    Runner<float>.Run(settings);
}
else
{
    Runner<double>.Run(settings);
}

namespace Flows.Quality
{
    /// <summary>Command-line settings.</summary>
    internal sealed record Settings
    {
        public int Seeds { get; init; } = 5;

        /// <summary>The first seed: the runs take seeds FirstSeed .. FirstSeed + Seeds − 1 (so a slow model's missing seeds
        /// can be run alone, each with the same splits and weights as in a run from seed 0).</summary>
        public int FirstSeed { get; init; }

        public static readonly string[] SmallTables = ["iris", "moons-300", "sinh8-120", "banana8-120", "mixture8-120"];

        public IReadOnlyList<string> Data { get; init; } = SmallTables;

        /// <summary>The presets' start, or null for each preset's default.</summary>
        public Flows.Distributions.Presets.GaussianStart? Start { get; init; }

        public IReadOnlyList<string> Models { get; init; } = ["gaussian", "maf", "nsf"];

        public bool Float { get; init; }

        public double LearningRate { get; init; } = 1e-3;

        /// <summary>A fixed decoupled weight decay, or null for Fit's default (1000 / training rows).</summary>
        public double? WeightDecay { get; init; }

        /// <summary>c in the size-adapted decoupled weight decay λ = c / (training rows), or 0 to use <see cref="WeightDecay"/>.</summary>
        public double WeightDecayRows { get; init; }

        public double? MaxGradientNorm { get; init; }

        public int PatienceSteps { get; init; } = 1000;

        public int MaxSteps { get; init; } = 20_000;

        public bool Verbose { get; init; }

        /// <summary>The flows' base: "normal" (the presets'), "gmmK" (a K-component GaussianMixture) or "studentt".</summary>
        public string Base { get; init; } = "normal";

        /// <summary>Flow layers (the presets' transforms).</summary>
        public int Transforms { get; init; } = 5;

        /// <summary>Hidden widths of the continuous flows' vector field (issue 20), or the BNAF's hidden factors; null for the preset's default.</summary>
        public IReadOnlyList<int>? Hidden { get; init; }

        /// <summary>The continuous flows' time embedding frequencies, or null for the preset's default.</summary>
        public int? TimeFrequencies { get; init; }

        /// <summary>The fit's parameter average decay (FitOptions.AverageDecay), or null for Fit's default.</summary>
        public double? AverageDecay { get; init; }

        /// <summary>A wall-clock budget per fit in seconds, or null for none: the fit is cancelled when it runs out and
        /// the best checked parameters (which cancellation restores) are scored.</summary>
        public double? TimeLimit { get; init; }

        /// <summary>Print every k-th epoch's training and validation loss while fitting (0: none).</summary>
        public int ProgressEvery { get; init; }

        /// <summary>The continuous flows' activation, or null for the preset's default.</summary>
        public Flows.Bijectors.VectorFieldActivation? Activation { get; init; }

        /// <summary>The flows' defensive share (the Gaussian fitted to the training rows mixed in at ε): null for the
        /// presets' default (automatic), else "none", "auto" or a fixed ε.</summary>
        public Flows.Distributions.DefensiveShare? Defensive { get; init; }

        public static Settings Parse(string[] args)
        {
            var s = new Settings();
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                double Number() => double.Parse(Next(), CultureInfo.InvariantCulture);
                s = args[i] switch
                {
                    "--seeds" => s with { Seeds = (int)Number() },
                    "--first-seed" => s with { FirstSeed = (int)Number() },
                    "--data" => s with { Data = Next() is "all" ? [.. SmallTables, "sinh8-400", "moons"] : args[i].Split(',') },
                    "--start" => s with { Start = Enum.Parse<Flows.Distributions.Presets.GaussianStart>(Next(), ignoreCase: true) },
                    "--models" => s with { Models = Next().Split(',') },
                    "--float" => s with { Float = true },
                    "--lr" => s with { LearningRate = Number() },
                    "--weight-decay" => s with { WeightDecay = Number() },
                    "--weight-decay-rows" => s with { WeightDecayRows = Number() },
                    "--clip" => s with { MaxGradientNorm = Number() },
                    "--patience-steps" => s with { PatienceSteps = (int)Number() },
                    "--max-steps" => s with { MaxSteps = (int)Number() },
                    "--verbose" => s with { Verbose = true },
                    "--time-limit" => s with { TimeLimit = Number() },
                    "--progress" => s with { ProgressEvery = (int)Number() },
                    "--base" => s with { Base = Next() },
                    "--transforms" => s with { Transforms = (int)Number() },
                    "--hidden" => s with { Hidden = [.. Next().Split(',').Select(w => int.Parse(w, CultureInfo.InvariantCulture))] },
                    "--average-decay" => s with { AverageDecay = Number() },
                    "--time-frequencies" => s with { TimeFrequencies = (int)Number() },
                    "--activation" => s with { Activation = Enum.Parse<Flows.Bijectors.VectorFieldActivation>(Next(), ignoreCase: true) },
                    "--defensive" => s with
                    {
                        Defensive = Next() switch
                        {
                            "none" => Flows.Distributions.DefensiveShare.None,
                            "auto" => Flows.Distributions.DefensiveShare.Automatic,
                            string value => Flows.Distributions.DefensiveShare.Fixed(double.Parse(value, CultureInfo.InvariantCulture)),
                        },
                    },
                    _ => throw new ArgumentException($"Unknown argument {args[i]}."),
                };
            }

            return s;
        }

        public override string ToString()
            => $"{(Float ? "float" : "double")}, seeds {FirstSeed}..{FirstSeed + Seeds - 1}, start {(Start is null ? "the presets' defaults" : Start.ToString())}, lr {LearningRate}, weight decay {(WeightDecayRows > 0 ? $"{WeightDecayRows} / training rows" : WeightDecay is double w ? w.ToString(CultureInfo.InvariantCulture) : "Fit's default (1000 / training rows; none for flow matching)")}, parameter average {(AverageDecay is double a ? a.ToString(CultureInfo.InvariantCulture) : "Fit's default (0.9999 for flow matching)")}, clipping {(MaxGradientNorm is double c ? c.ToString(CultureInfo.InvariantCulture) : "off")}, patience ≈ {PatienceSteps} steps, at most {MaxSteps} steps, base {Base}, {Transforms} transforms, defensive share {(Defensive is null ? "the presets' default" : Defensive.ToString())}";
    }

    /// <summary>One train/test split in the data's own units.</summary>
    internal sealed record Split(double[,] Train, double[,] Test);

    /// <summary>A data set: its splits for a seed, and the mean true log-density of the test rows when it is known.</summary>
    internal sealed record DataSet(string Name, string Description, Func<int, IReadOnlyList<Split>> Splits, Func<int, double>? TrueLogLikelihood = null);

    /// <summary>What one model scored on one data set with one seed, pooled over the splits: the mean held-out
    /// log-likelihood, the lowest row's log-density minus its Gaussian one, the steps run (patience included) and the
    /// seconds per fit.</summary>
    internal sealed record Score(double LogLikelihood, double WorstRowGap, double Steps, double Seconds);

    internal static class Runner<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static void Run(Settings settings)
        {
            var total = Stopwatch.StartNew();
            foreach (string name in settings.Data)
            {
                DataSet data = DataSets.Get(name);
                Console.WriteLine($"{data.Name}: {data.Description}");
                Console.WriteLine($"  {"model",-10} {"mean",9} {"min",9} {"max",9} {"worst row − Gaussian",22} {"steps",7} {"s/fit",7}");
                var scores = new Dictionary<string, List<Score>>();
                var truth = new List<double>();
                for (int seed = settings.FirstSeed; seed < settings.FirstSeed + settings.Seeds; seed++)
                {
                    IReadOnlyList<Split> splits = data.Splits(seed);
                    if (data.TrueLogLikelihood is not null)
                    {
                        truth.Add(data.TrueLogLikelihood(seed));
                    }

                    foreach (string model in settings.Models)
                    {
                        Score score = Models<T>.Evaluate(model, splits, seed, settings);
                        if (!scores.TryGetValue(model, out List<Score>? list))
                        {
                            scores[model] = list = [];
                        }

                        list.Add(score);
                        if (settings.Verbose)
                        {
                            Console.WriteLine($"    seed {seed} {model,-10} {score.LogLikelihood,9:F3} worst row {score.WorstRowGap,9:F2} steps {score.Steps,7:F0} {score.Seconds,6:F1} s");
                        }
                    }
                }

                foreach ((string model, List<Score> list) in scores)
                {
                    double[] ll = [.. list.Select(s => s.LogLikelihood)];
                    string worst = model == "gaussian" ? "" : list.Min(s => s.WorstRowGap).ToString("F2", CultureInfo.InvariantCulture);
                    Console.WriteLine($"  {model,-10} {ll.Average(),9:F3} {ll.Min(),9:F3} {ll.Max(),9:F3} {worst,22} {list.Average(s => s.Steps),7:F0} {list.Average(s => s.Seconds),7:F2}");
                }

                if (truth.Count > 0)
                {
                    Console.WriteLine($"  {"truth",-10} {truth.Average(),9:F3} {truth.Min(),9:F3} {truth.Max(),9:F3}");
                }

                Console.WriteLine();
            }

            Console.WriteLine($"Total {total.Elapsed.TotalMinutes:F1} min.");
        }
    }

    internal static class Models<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Fits the model on each split's training rows (standardized with their own mean and standard deviation) and
        // scores the test rows; the Gaussian of the same training rows is scored too, for the worst-row gap.
        public static Score Evaluate(string model, IReadOnlyList<Split> splits, int seed, Settings settings)
        {
            double sum = 0;
            int count = 0;
            double worst = double.PositiveInfinity;
            double steps = 0;
            var stopwatch = Stopwatch.StartNew();
            for (int k = 0; k < splits.Count; k++)
            {
                (T[,] train, T[,] test, double offset) = Standardize(splits[k]);
                T[] gaussian = Flows.Distributions.MultivariateNormal.Fit(train).DensityLn(test);
                T[] logDensity;
                if (model == "gaussian")
                {
                    logDensity = gaussian;
                }
                else
                {
                    int modelSeed = (1000 * seed) + k;
                    Flows.Distributions.TransformedDistribution<T> flow = WithBase(
                        Create(model, train.GetLength(1), modelSeed, settings), settings.Base, modelSeed);
                    Flows.Training.FitOptions options = Options(train.GetLength(0), modelSeed, settings);
                    if (model == "cnf-fm")
                    {
                        options = options with { Objective = Flows.Training.FitObjective.FlowMatching };
                    }

                    if (settings.ProgressEvery > 0)
                    {
                        var clock = Stopwatch.StartNew();
                        options = options with
                        {
                            Progress = new Progress<Flows.Training.EpochReport>(e =>
                            {
                                if (e.Epoch % settings.ProgressEvery == 0)
                                {
                                    Console.WriteLine(FormattableString.Invariant(
                                        $"        epoch {e.Epoch}: train {e.TrainLoss:F4}, validation {e.ValidationLoss:F4}, {clock.Elapsed.TotalSeconds:F0} s"));
                                }
                            }),
                        };
                    }

                    var fitTime = Stopwatch.StartNew();
                    Flows.Training.FitReport report;
                    using (var budget = settings.TimeLimit is double limit ? new CancellationTokenSource(TimeSpan.FromSeconds(limit)) : new CancellationTokenSource())
                    {
                        try
                        {
                            report = Flows.Training.MaximumLikelihood.Fit(flow, train, options, budget.Token);
                        }
                        catch (Flows.Training.FitCanceledException<Flows.Training.FitReport> canceled)
                        {
                            // The time budget ran out: the fit restored its best checked parameters, which are scored.
                            Console.WriteLine($"      {model}: {canceled.Message}");
                            report = canceled.Report ?? throw new InvalidOperationException("The cancelled fit carries no report.", canceled);
                        }
                    }

                    fitTime.Stop();
                    if (settings.Verbose)
                    {
                        bool finite = report.History.All(e => double.IsFinite(e.TrainLoss)) && report.Status != Flows.Training.FitStatus.Diverged;
                        Console.WriteLine($"      {model} on {settings.Base}: {report}, {report.Steps} steps, every loss finite: {finite}");
                    }

                    steps += report.Steps;
                    long evaluations = flow.Bijector is Flows.Bijectors.ContinuousFlow<T> before ? before.FunctionEvaluations : 0;
                    var scoreTime = Stopwatch.StartNew();
                    logDensity = flow.DensityLn(test);
                    if (flow.Bijector is Flows.Bijectors.ContinuousFlow<T> continuous)
                    {
                        // Issue 20's figure: fitting time and vector-field evaluations per scored row (Dormand–Prince, exact trace).
                        Console.WriteLine(FormattableString.Invariant(
                            $"      {model} seed {seed}: fit {fitTime.Elapsed.TotalSeconds:F1} s ({report.Steps} steps, {report.Status}), scoring {test.GetLength(0)} rows {scoreTime.Elapsed.TotalSeconds:F1} s, {(double)(continuous.FunctionEvaluations - evaluations) / test.GetLength(0):F1} evaluations per row"));
                    }
                }

                for (int i = 0; i < logDensity.Length; i++)
                {
                    double value = double.CreateTruncating(logDensity[i]);
                    sum += value + offset;
                    worst = Math.Min(worst, value - double.CreateTruncating(gaussian[i]));
                }

                count += logDensity.Length;
            }

            return new Score(sum / count, worst, steps / splits.Count, stopwatch.Elapsed.TotalSeconds / splits.Count);
        }

        private static Flows.Distributions.TransformedDistribution<T> Create(string model, int dimension, int seed, Settings settings)
        {
            Flows.Distributions.Presets.GaussianStart? start = settings.Start;
            int transforms = settings.Transforms;
            Flows.Distributions.DefensiveShare? defensive = settings.Defensive;
            // The continuous flows at the preset's defaults, but for what the command line sets.
            var field = new Flows.Bijectors.ContinuousFlowOptions();
            field = field with
            {
                HiddenFeatures = settings.Hidden ?? field.HiddenFeatures,
                TimeFrequencies = settings.TimeFrequencies ?? field.TimeFrequencies,
                Activation = settings.Activation ?? field.Activation,
            };
            return model switch
            {
                "maf" => Flows.Distributions.Presets.MaskedAutoregressiveFlow.Create<T>(dimension, transforms, seed: seed, gaussianStart: start ?? Flows.Distributions.Presets.GaussianStart.Full, defensiveShare: defensive),
                // Issue 19: the MAF with a Householder layer of d reflections between its layers instead of alternating orders.
                "maf-householder" => Flows.Distributions.Presets.MaskedAutoregressiveFlow.Create<T>(dimension, transforms, seed: seed, gaussianStart: start ?? Flows.Distributions.Presets.GaussianStart.Full, defensiveShare: defensive,
                    householderReflections: dimension),
                "nsf" => Flows.Distributions.Presets.NeuralSplineFlow.Create<T>(dimension, transforms, seed: seed, gaussianStart: start ?? Flows.Distributions.Presets.GaussianStart.Diagonal, defensiveShare: defensive),
                "realnvp" => Flows.Distributions.Presets.RealNvpFlow.Create<T>(dimension, transforms, seed: seed, gaussianStart: start ?? Flows.Distributions.Presets.GaussianStart.Full, defensiveShare: defensive),
                "sospf" => Flows.Distributions.Presets.SumOfSquaresPolynomialFlow.Create<T>(dimension, transforms, seed: seed, gaussianStart: start ?? Flows.Distributions.Presets.GaussianStart.Diagonal, defensiveShare: defensive),
                "unaf" => Flows.Distributions.Presets.UnconstrainedNeuralAutoregressiveFlow.Create<T>(dimension, transforms, seed: seed, gaussianStart: start ?? Flows.Distributions.Presets.GaussianStart.Diagonal, defensiveShare: defensive),
                "naf" => Flows.Distributions.Presets.NeuralAutoregressiveFlow.Create<T>(dimension, transforms, seed: seed, gaussianStart: start ?? Flows.Distributions.Presets.GaussianStart.Diagonal, defensiveShare: defensive),
                // Issue 19's BNAF; --hidden sets its hidden factors (units per feature), --transforms its layers.
                "bnaf" => Flows.Distributions.Presets.BlockNeuralAutoregressiveFlow.Create<T>(dimension, transforms, hiddenFactors: settings.Hidden, seed: seed,
                    gaussianStart: start ?? Flows.Distributions.Presets.GaussianStart.Diagonal, defensiveShare: defensive),
                "bpf" => Flows.Distributions.Presets.BernsteinPolynomialFlow.Create<T>(dimension, transforms, seed: seed, gaussianStart: start ?? Flows.Distributions.Presets.GaussianStart.Diagonal, defensiveShare: defensive),
                // Issue 20: the continuous flow at the preset's defaults, fitted by flow matching or by maximum likelihood.
                "cnf-fm" or "cnf-ml" => Flows.Distributions.Presets.ContinuousNormalizingFlow.Create<T>(dimension, seed: seed, options: field),
                _ => throw new ArgumentException($"Unknown model {model}."),
            };
        }

        // The preset's bijector on another base (issue 15): a k-component GaussianMixture, initialized by k-means on the
        // data mapped to base space at the start of Fit, or a StudentT with learned degrees of freedom.
        private static Flows.Distributions.TransformedDistribution<T> WithBase(Flows.Distributions.TransformedDistribution<T> flow, string name, int seed)
            => name switch
            {
                "normal" => flow,
                "studentt" => new(new Flows.Distributions.StudentT<T>(flow.Dimension), flow.Bijector, flow.DefensiveShare),
                _ when name.StartsWith("gmm", StringComparison.Ordinal) && int.TryParse(name[3..], out int k) =>
                    new(new Flows.Distributions.GaussianMixture<T>(flow.Dimension, k, seed), flow.Bijector, flow.DefensiveShare),
                _ => throw new ArgumentException($"Unknown base {name}."),
            };

        // The rows Fit trains on: it holds out 20 % for validation.
        private static int TrainingRows(int rows) => rows - (int)Math.Round(rows * 0.2);

        private static int StepsPerEpoch(int rows) => (TrainingRows(rows) + BatchSize(rows) - 1) / BatchSize(rows);

        private static int BatchSize(int rows) => Math.Min(256, TrainingRows(rows));

        private static Flows.Training.FitOptions Options(int rows, int seed, Settings settings)
        {
            int stepsPerEpoch = StepsPerEpoch(rows);
            return new Flows.Training.FitOptions
            {
                BatchSize = BatchSize(rows),
                ValidationFraction = 0.2,
                MaxGradientNorm = settings.MaxGradientNorm,
                Optimizer = new Flows.Training.AdamOptions
                {
                    LearningRate = settings.LearningRate,
                    WeightDecay = settings.WeightDecayRows > 0 ? settings.WeightDecayRows / TrainingRows(rows) : settings.WeightDecay,
                },
                Patience = Math.Max(10, (settings.PatienceSteps + stepsPerEpoch - 1) / stepsPerEpoch),
                Epochs = Math.Max(1, settings.MaxSteps / stepsPerEpoch),
                Seed = seed,
                AverageDecay = settings.AverageDecay,
            };
        }

        // Standardized with the training rows' mean and population standard deviation; the offset −Σ log σⱼ brings a
        // standardized log-density back to the data's units.
        private static (T[,] Train, T[,] Test, double Offset) Standardize(Split split)
        {
            int n = split.Train.GetLength(0);
            int d = split.Train.GetLength(1);
            var mean = new double[d];
            var sd = new double[d];
            double offset = 0;
            for (int j = 0; j < d; j++)
            {
                mean[j] = Enumerable.Range(0, n).Average(i => split.Train[i, j]);
                sd[j] = Math.Sqrt(Enumerable.Range(0, n).Average(i => Math.Pow(split.Train[i, j] - mean[j], 2)));
                offset -= Math.Log(sd[j]);
            }

            T[,] Apply(double[,] x)
            {
                var result = new T[x.GetLength(0), d];
                for (int i = 0; i < x.GetLength(0); i++)
                {
                    for (int j = 0; j < d; j++)
                    {
                        result[i, j] = T.CreateTruncating((x[i, j] - mean[j]) / sd[j]);
                    }
                }

                return result;
            }

            return (Apply(split.Train), Apply(split.Test), offset);
        }
    }

    internal static class DataSets
    {
        public static DataSet Get(string name) => name switch
        {
            "iris" => new("iris", "Fisher's 150 × 4 under 5-fold cross-validation (120 training rows per fold)", seed => Folds(Load("iris.csv"), 5, seed)),
            "moons" => new("moons", "two moons, 20,000 training rows, 10,000 test rows (the issue's zuko figures: MAF −0.362, NSF −0.319)",
                _ => [new Split(Load("moons2d_train.csv"), Load("moons2d_test.csv"))]),
            "moons-300" => new("moons-300", "300 rows drawn from the two-moons training file, 10,000 test rows",
                seed => [new Split(Subsample(Load("moons2d_train.csv"), 300, seed), Load("moons2d_test.csv"))]),
            _ when name.StartsWith("sinh8-", StringComparison.Ordinal) && int.TryParse(name[6..], out int rows) => Sinh8(rows),
            _ when name.StartsWith("banana8-", StringComparison.Ordinal) && int.TryParse(name[8..], out int rows) => Banana8(rows),
            _ when name.StartsWith("mixture8-", StringComparison.Ordinal) && int.TryParse(name[9..], out int rows) => Mixture8(rows),
            _ when name.StartsWith("gmm4-", StringComparison.Ordinal) && int.TryParse(name[5..], out int rows) => Modes4(rows),
            _ when name.StartsWith("student2-", StringComparison.Ordinal) && int.TryParse(name[9..], out int rows) => Student2(rows),
            _ => throw new ArgumentException($"Unknown data set {name}."),
        };

        // x = sinh(A z + b), z ~ N(0, I₈), a fixed A ~ N(0, 1)/√8 and b ~ 0.5·N(0, 1) (PEERS.md's synthetic workload):
        // skewed and heavy-tailed margins, correlated features, and a log-density known in closed form.
        private static DataSet Sinh8(int rows)
        {
            var generator = new SinhGaussian(8, seed: 2026);
            double[,] test = generator.Sample(5000, new Random(99));
            return new DataSet($"sinh8-{rows}", $"{rows} training rows of x = sinh(Az + b) in 8 dimensions, 5,000 test rows",
                seed => [new Split(generator.Sample(rows, new Random(seed)), test)],
                _ => generator.LogDensity(test).Average());
        }

        // Four curved pairs, (u, 0.4·v + 0.9·(u² − 1)) with u, v ~ N(0, 1): light-tailed like a Gaussian but far from one,
        // with a log-density known in closed form.
        private static DataSet Banana8(int rows)
        {
            double[,] test = Banana.Sample(5000, new Random(99));
            return new DataSet($"banana8-{rows}", $"{rows} training rows of four curved pairs in 8 dimensions, 5,000 test rows",
                seed => [new Split(Banana.Sample(rows, new Random(seed)), test)],
                _ => Banana.LogDensity(test).Average());
        }

        // Three clusters of different shapes and weights, like the species of a field sample: multimodal, with Gaussian
        // tails, and a log-density known in closed form.
        private static DataSet Mixture8(int rows)
        {
            var mixture = new GaussianMixture(8, clusters: 3, seed: 7);
            double[,] test = mixture.Sample(5000, new Random(99));
            return new DataSet($"mixture8-{rows}", $"{rows} training rows of a three-cluster Gaussian mixture in 8 dimensions, 5,000 test rows",
                seed => [new Split(mixture.Sample(rows, new Random(seed)), test)],
                _ => mixture.LogDensity(test).Average());
        }

        // Four well-separated modes in 2-D: N((±3, ±3), 0.5² I) with weights 0.1, 0.2, 0.3, 0.4 (issue 15's mixture-base figure).
        private static DataSet Modes4(int rows)
        {
            double[] weights = [0.1, 0.2, 0.3, 0.4];
            double[,] Sample(int count, Random random)
            {
                var x = new double[count, 2];
                for (int i = 0; i < count; i++)
                {
                    double u = random.NextDouble();
                    int k = u < 0.1 ? 0 : u < 0.3 ? 1 : u < 0.6 ? 2 : 3;
                    x[i, 0] = (k % 2 == 0 ? -3 : 3) + (0.5 * Normal(random));
                    x[i, 1] = (k < 2 ? -3 : 3) + (0.5 * Normal(random));
                }

                return x;
            }

            double LogDensity(double[,] x) => Enumerable.Range(0, x.GetLength(0)).Average(i => Math.Log(Enumerable.Range(0, 4).Sum(k =>
                weights[k] * MathNet.Numerics.Distributions.Normal.PDF(k % 2 == 0 ? -3 : 3, 0.5, x[i, 0])
                    * MathNet.Numerics.Distributions.Normal.PDF(k < 2 ? -3 : 3, 0.5, x[i, 1]))));

            double[,] test = Sample(10_000, new Random(99));
            return new DataSet($"gmm4-{rows}", $"{rows} training rows of four separated 2-D normal modes (σ 0.5 at (±3, ±3), weights 0.1-0.4), 10,000 test rows",
                seed => [new Split(Sample(rows, new Random(seed)), test)],
                _ => LogDensity(test));
        }

        // x = A t in 4 dimensions, tⱼ ~ Student-t(2) independent, A a fixed matrix with N(0, 1)/2 entries plus I:
        // heavy tails (infinite variance) in every direction; log p(x) = Σⱼ log t₂((A⁻¹x)ⱼ) − log|det A|.
        private static DataSet Student2(int rows)
        {
            const int d = 4;
            var generator = new Random(2027);
            var a = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(d, d, (i, j) => (i == j ? 1 : 0) + (0.5 * Normal(generator)));
            var inverse = a.Inverse();
            double logDet = Math.Log(Math.Abs(a.Determinant()));
            double[,] Sample(int count, Random random)
            {
                var x = new double[count, d];
                for (int i = 0; i < count; i++)
                {
                    var t = MathNet.Numerics.LinearAlgebra.Vector<double>.Build.Dense(d, _ => MathNet.Numerics.Distributions.StudentT.Sample(random, 0, 1, 2));
                    var row = a * t;
                    for (int j = 0; j < d; j++)
                    {
                        x[i, j] = row[j];
                    }
                }

                return x;
            }

            double LogDensity(double[,] x) => Enumerable.Range(0, x.GetLength(0)).Average(i =>
            {
                var t = inverse * MathNet.Numerics.LinearAlgebra.Vector<double>.Build.Dense(d, j => x[i, j]);
                return t.Sum(v => MathNet.Numerics.Distributions.StudentT.PDFLn(0, 1, 2, v)) - logDet;
            });

            double[,] test = Sample(10_000, new Random(99));
            return new DataSet($"student2-{rows}", $"{rows} training rows of x = A t, t with Student-t(2) features, in 4 dimensions, 10,000 test rows",
                seed => [new Split(Sample(rows, new Random(seed)), test)],
                _ => LogDensity(test));
        }

        private static double Normal(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

        private static double[,] Load(string file)
        {
            string path = Path.Combine(AppContext.BaseDirectory, "data", file);
            string[] lines = [.. File.ReadLines(path).Where(l => l.Length > 0)];
            bool header = !double.TryParse(lines[0].Split(',')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out _);
            string[] body = header ? lines[1..] : lines;
            string[] first = body[0].Split(',');
            int[] numeric = [.. Enumerable.Range(0, first.Length).Where(j => double.TryParse(first[j], NumberStyles.Float, CultureInfo.InvariantCulture, out _))];
            var result = new double[body.Length, numeric.Length];
            for (int i = 0; i < body.Length; i++)
            {
                string[] cells = body[i].Split(',');
                for (int j = 0; j < numeric.Length; j++)
                {
                    result[i, j] = double.Parse(cells[numeric[j]], NumberStyles.Float, CultureInfo.InvariantCulture);
                }
            }

            return result;
        }

        internal static Split[] Folds(double[,] data, int k, int seed)
        {
            int[] order = [.. Enumerable.Range(0, data.GetLength(0))];
            new Random(seed).Shuffle(order);
            return [.. Enumerable.Range(0, k).Select(fold => new Split(
                Take(data, [.. order.Where((_, i) => i % k != fold)]),
                Take(data, [.. order.Where((_, i) => i % k == fold)])))];
        }

        private static double[,] Subsample(double[,] data, int rows, int seed)
        {
            int[] order = [.. Enumerable.Range(0, data.GetLength(0))];
            new Random(seed).Shuffle(order);
            return Take(data, order[..rows]);
        }

        private static double[,] Take(double[,] data, int[] rows)
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
    }
}
