// CustomBijector: the two ways to write a bijector outside the library. ShiftScale composes public tape operations;
// TanhWarp records its own fused operations, with hand-derived backward passes, through the public Tape<T>.Record.
// Each is checked numerically; then a flow of both is fitted to synthetic data drawn from known parameters.
// Exits with code 1 if any check fails.
using CustomBijector;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Training;

const string usage = """
    CustomBijector: The two ways to write a bijector outside the library (ShiftScale from public tape operations, TanhWarp with its own
    fused operations), each checked numerically, then a flow of both fitted to synthetic data from known parameters.
    Exits with 1 if a check fails.

    Usage: dotnet run -c Release --project samples/CustomBijector

    Options:
      -h, --help  Show this help and exit. The sample takes no other options.
    """;
if (SampleSupport.Refusal("CustomBijector", args, usage, positional: 0) is int code)
{
    return code;
}

int failures = 0;
IBijector<double>[] bijectors = [Randomized(new ShiftScale<double>(3), seed: 1), Randomized(new TanhWarp<double>(3), seed: 2)];
foreach (IBijector<double> bijector in bijectors)
{
    Console.WriteLine($"{bijector}, random parameters:");
    foreach (Check check in NumericalChecks.Run(bijector, seed: 3))
    {
        Report(check.What, check.Error, check.Tolerance, check.Passed);
    }
}

// Synthetic data from the flow itself, with known parameters: x = μ + σ ⊙ (z + a ⊙ tanh z), z ~ N(0, I). The first
// feature is stretched at the centre (slope 4 at the origin: a flat-topped density), the second squeezed (slope 0.5).
double[] trueLogSlope = [Math.Log(4), Math.Log(0.5)];
double[] trueShift = [1, -2];
double[] trueLogScale = [Math.Log(0.5), Math.Log(2)];
TransformedDistribution<double> truth = WarpThenShiftScale(trueLogSlope, trueShift, trueLogScale);
double[,] train = truth.Sample(4000, new Random(4));
double[,] test = truth.Sample(2000, new Random(5));

TransformedDistribution<double> flow = WarpThenShiftScale([0, 0], [0, 0], [0, 0]);
FitReport report = flow.Fit(train, new FitOptions { Epochs = 200, Patience = 20, Optimizer = new AdamOptions { LearningRate = 0.02 }, Seed = 1 });
var warp = (TanhWarp<double>)((Chain<double>)flow.Bijector).Parts[0];
var shiftScale = (ShiftScale<double>)((Chain<double>)flow.Bijector).Parts[1];
Console.WriteLine();
Console.WriteLine($"Fitted {flow} to {train.GetLength(0)} points: {report}");
Console.WriteLine($"  slope at the origin exp(ρ): {Format(warp.LogSlope.Values, Math.Exp)} (true {Format(trueLogSlope, Math.Exp)})");
Console.WriteLine($"  shift μ:                    {Format(shiftScale.Shift.Values, v => v)} (true {Format(trueShift, v => v)})");
Console.WriteLine($"  scale σ:                    {Format(shiftScale.LogScale.Values, Math.Exp)} (true {Format(trueLogScale, Math.Exp)})");

// Held out: the fitted flow should score the test points as well as the true density does, and beat the Gaussian.
double fitted = flow.DensityLn(test).Average();
double exact = truth.DensityLn(test).Average();
double gaussian = MultivariateNormal.Fit(train).DensityLn(test).Average();
Console.WriteLine($"  held-out mean log-likelihood: fitted {fitted:F4}, true density {exact:F4}, Gaussian {gaussian:F4} nats");
Report("|fitted − true density| (mean log-likelihood)", Math.Abs(fitted - exact), 0.02, Math.Abs(fitted - exact) <= 0.02);
Report("Gaussian − fitted (mean log-likelihood)", gaussian - fitted, -0.05, gaussian - fitted <= -0.05);

Console.WriteLine(failures == 0 ? "All checks passed." : $"{failures} check(s) FAILED.");
return failures == 0 ? 0 : 1;

void Report(string what, double error, double tolerance, bool passed)
{
    Console.WriteLine($"  {what,-52} {error,10:E2}  (bound {tolerance:E0})  {(passed ? "ok" : "FAILED")}");
    failures += passed ? 0 : 1;
}

static TransformedDistribution<double> WarpThenShiftScale(double[] logSlope, double[] shift, double[] logScale)
{
    var warp = new TanhWarp<double>(2);
    var shiftScale = new ShiftScale<double>(2);
    logSlope.CopyTo(warp.LogSlope.Values, 0);
    shift.CopyTo(shiftScale.Shift.Values, 0);
    logScale.CopyTo(shiftScale.LogScale.Values, 0);
    return new TransformedDistribution<double>(new StandardNormal<double>(2), new Chain<double>(warp, shiftScale));
}

// Parameters away from the identity, so that the checks see a general map: N(0, 0.5²) draws.
static TBijector Randomized<TBijector>(TBijector bijector, int seed) where TBijector : IBijector<double>
{
    var random = new Random(seed);
    foreach (Parameter<double> parameter in bijector.Parameters)
    {
        double[,] draws = NumericalChecks.Normal(random, 1, parameter.Values.Length, scale: 0.5);
        for (int k = 0; k < parameter.Values.Length; k++)
        {
            parameter.Values[k] = draws[0, k];
        }
    }

    return bijector;
}

static string Format(IEnumerable<double> values, Func<double, double> map)
    => $"({string.Join(", ", values.Select(v => map(v).ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))})";
