// OnnxExport: fit a neural spline flow to the two-moons data, export it as ONNX, then score held-out points and draw
// samples with ONNX Runtime alone (the Score and Draw functions below use no Flows type: they are what a C++, Python or
// Java service would do with the two files).
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Onnx;
using Flows.Training;
using Microsoft.ML.OnnxRuntime;

const string usage = """
    OnnxExport: fits a neural spline flow to the two-moons data, exports it as ONNX (a log-density and a sampling graph),
    then scores the held-out points and draws samples with ONNX Runtime alone, checking both against Flows.

    Usage: dotnet run -c Release --project samples/OnnxExport

    Options:
      -h, --help  Show this help and exit.
    """;
if (SampleSupport.Refusal("OnnxExport", args, usage, positional: 0) is int code)
{
    return code;
}

string dataFolder = Path.Combine(AppContext.BaseDirectory, "data");
double[,] train = SampleSupport.ReadCsv(Path.Combine(dataFolder, "moons2d_train.csv"));
double[,] test = SampleSupport.ReadCsv(Path.Combine(dataFolder, "moons2d_test.csv"));

TransformedDistribution<double> flow = NeuralSplineFlow.Create<double>(dimension: 2, seed: 1);
FitReport report = flow.Fit(train, new FitOptions { Epochs = 15, BatchSize = 256, Optimizer = new AdamOptions { LearningRate = 3e-3 }, Seed = 1 });
Console.WriteLine($"Fitted a neural spline flow to {train.GetLength(0)} two-moons points: {report}");

string path = Path.Combine(Path.GetTempPath(), "moons-nsf.onnx");
OnnxExportReport export = flow.ExportOnnx(path);
Console.WriteLine($"Exported (opset {OnnxExport.Opset}): {export.DensityPath} ({export.DensityNodeCount} nodes, {export.DensityBytes:N0} bytes), " +
    $"{export.SamplingPath} ({export.SamplingNodeCount} nodes, {export.SamplingBytes:N0} bytes).");

// Scoring with ONNX Runtime alone, then the same points through Flows for comparison.
double[] onnxLogDensity = Score(export.DensityPath!, test);
double[] flowsLogDensity = flow.DensityLn(test);
double largest = onnxLogDensity.Zip(flowsLogDensity, (a, b) => Math.Abs(a - b)).Max();
Console.WriteLine($"Held-out mean log-likelihood: ONNX Runtime {onnxLogDensity.Average():F6}, Flows {flowsLogDensity.Average():F6} " +
    $"(largest difference over {test.GetLength(0)} points {largest:E1}).");

double[,] samples = Draw(export.SamplingPath!, count: 1000, seed: 2);
Console.WriteLine($"1,000 samples from ONNX Runtime: mean ({Mean(samples, 0):F3}, {Mean(samples, 1):F3}); " +
    $"training data mean ({Mean(train, 0):F3}, {Mean(train, 1):F3}).");
if (largest > 1e-10)
{
    Console.Error.WriteLine("ONNX Runtime and Flows disagree by more than 1e-10.");
    return 1;
}

return 0;

// log p(x) per row: the density model's input "x" (N × d) and output "log_prob" (N).
static double[] Score(string modelPath, double[,] x)
{
    using var session = new InferenceSession(modelPath);
    using OrtValue input = OrtValue.CreateTensorValueFromMemory([.. x.Cast<double>()], [x.GetLength(0), x.GetLength(1)]);
    using var options = new RunOptions();
    using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(options, ["x"], [input], ["log_prob"]);
    return outputs[0].GetTensorDataAsSpan<double>().ToArray();
}

// Samples: standard-normal draws z fed to the sampling model's input "z"; its output "x" holds the samples. A flow with
// a defensive share (a fitted preset's default) also takes "u", N × 1 uniform draws on [0, 1) that choose the component.
static double[,] Draw(string modelPath, int count, int seed)
{
    var random = new Random(seed);
    int d = 2;
    double[] z = new double[count * d];
    for (int i = 0; i < z.Length; i++)
    {
        z[i] = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()); // Box–Muller
    }

    double[] u = [.. Enumerable.Range(0, count).Select(_ => random.NextDouble())];
    using var session = new InferenceSession(modelPath);
    bool takesComponentDraws = session.InputMetadata.ContainsKey("u");
    using OrtValue input = OrtValue.CreateTensorValueFromMemory(z, [count, d]);
    using OrtValue componentDraws = OrtValue.CreateTensorValueFromMemory(u, [count, 1]);
    using var options = new RunOptions();
    using IDisposableReadOnlyCollection<OrtValue> outputs = takesComponentDraws
        ? session.Run(options, ["z", "u"], [input, componentDraws], ["x"])
        : session.Run(options, ["z"], [input], ["x"]);
    ReadOnlySpan<double> x = outputs[0].GetTensorDataAsSpan<double>();
    var result = new double[count, d];
    for (int i = 0; i < count; i++)
    {
        for (int j = 0; j < d; j++)
        {
            result[i, j] = x[(i * d) + j];
        }
    }

    return result;
}

static double Mean(double[,] values, int column)
    => Enumerable.Range(0, values.GetLength(0)).Average(i => values[i, column]);
