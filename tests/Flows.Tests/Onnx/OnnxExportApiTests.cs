using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace Flows.Tests.Onnx;

/// <summary>The export's surface: the files it writes, their documented input and output names, and the refusals.</summary>
public sealed class OnnxExportApiTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("flows-onnx-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void ExportOnnx_WritesBothModelsWithTheDocumentedNamesAndShapes()
    {
        TransformedDistribution<double> flow = Initialized(MaskedAutoregressiveFlow.Create<double>(3, 2, [8, 8], contextDimension: 2, seed: 1), context: 2);
        string path = Path.Combine(_folder, "flow.onnx");

        OnnxExportReport report = flow.ExportOnnx(path);

        Assert.Equal(path, report.DensityPath);
        Assert.Equal(Path.Combine(_folder, "flow.sample.onnx"), report.SamplingPath);
        Assert.Equal(new FileInfo(path).Length, report.DensityBytes);
        Assert.Equal(new FileInfo(report.SamplingPath!).Length, report.SamplingBytes);
        Assert.True(report.DensityNodeCount > 0 && report.SamplingNodeCount > report.DensityNodeCount, report.ToString());
        using (var density = new InferenceSession(path))
        {
            Assert.Equal(["x", "context"], density.InputMetadata.Keys);
            Assert.Equal(["log_prob", "z"], density.OutputMetadata.Keys);
            Assert.Equal([-1, 3], density.InputMetadata["x"].Dimensions);
            Assert.Equal([-1, 2], density.InputMetadata["context"].Dimensions);
            Assert.Equal([-1], density.OutputMetadata["log_prob"].Dimensions);
            Assert.Equal(typeof(double), density.InputMetadata["x"].ElementType);
        }

        using var sampling = new InferenceSession(report.SamplingPath!);
        Assert.Equal(["z", "context"], sampling.InputMetadata.Keys);
        Assert.Equal(["x", "log_prob"], sampling.OutputMetadata.Keys);
    }

    // Review finding: where both the flow's and the defensive Gaussian's log-densities are −∞ (a float row far beyond
    // the data), the graph's mixture took max(a, b) = −∞ and gave (−∞) − (−∞) = NaN; Flows gives −∞.
    [Fact]
    public void DensityGraph_WithADefensiveShare_GivesMinusInfinityNotNaN_WhereBothPartsUnderflow()
    {
        TransformedDistribution<float> flow = Initialized(MaskedAutoregressiveFlow.Create<float>(2, 1, [8], seed: 1,
            defensiveShare: DefensiveShare.Fixed(0.1)));
        float[,] far = { { 1e30f, -1e30f }, { 0.1f, 0.2f } };
        float[] expected = flow.DensityLn(far);

        float[] logProb = OnnxRunner.Run(flow.ToOnnxDensityModel(), ("x", far))["log_prob"];

        Assert.Equal(float.NegativeInfinity, expected[0]);
        Assert.Equal(expected[0], logProb[0]);
        Assert.True(Math.Abs(logProb[1] - expected[1]) <= 1e-4 * Math.Max(1, Math.Abs(expected[1])), $"{logProb[1]} vs {expected[1]}");
    }

    [Fact]
    public void ExportOnnx_WritesOnlyTheGraphAskedFor()
    {
        TransformedDistribution<float> flow = Initialized(RealNvpFlow.Create<float>(2, 2, [8, 8], seed: 1));
        string path = Path.Combine(_folder, "density.onnx");

        OnnxExportReport report = flow.ExportOnnx(path, OnnxGraphs.Density);

        Assert.True(File.Exists(path));
        Assert.Null(report.SamplingPath);
        Assert.False(File.Exists(Path.Combine(_folder, "density.sample.onnx")));
        using var session = new InferenceSession(path);
        Assert.Equal(typeof(float), session.InputMetadata["x"].ElementType);
    }

    [Fact]
    public void ExportOnnx_ThrowsForAPathThatDoesNotEndInOnnx()
    {
        TransformedDistribution<double> flow = Initialized(RealNvpFlow.Create<double>(2, 1, [4], seed: 1));
        Assert.Throws<ArgumentException>("path", () => flow.ExportOnnx(Path.Combine(_folder, "flow.json")));
    }

    [Fact]
    public void ExportOnnx_ThrowsForNoGraph()
    {
        TransformedDistribution<double> flow = Initialized(RealNvpFlow.Create<double>(2, 1, [4], seed: 1));
        Assert.Throws<ArgumentException>("graphs", () => flow.ExportOnnx(Path.Combine(_folder, "flow.onnx"), (OnnxGraphs)0));
    }

    [Fact]
    public void ExportOnnx_RefusesAnIterativeInverseAndWritesNothing()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Chain<double>(new Affine<double>(2), new Planar<double>(2, seed: 1)));
        string path = Path.Combine(_folder, "planar.onnx");

        NotSupportedException error = Assert.Throws<NotSupportedException>(() => flow.ExportOnnx(path));

        Assert.Contains("Planar(dimension: 2)", error.Message, StringComparison.Ordinal);
        Assert.Contains("inverse", error.Message, StringComparison.Ordinal);
        Assert.Contains("solved numerically", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_folder));
        Assert.True(flow.ExportOnnx(path, OnnxGraphs.Sampling).SamplingBytes > 0); // the closed-form direction exports
    }

    // The sampling graph scores a defensive Gaussian's draws under the flow through the flow's inverse: without a graph
    // for it (Planar's is solved numerically) the sampling graph of a flow with a share is refused, saying why.
    [Fact]
    public void ExportOnnx_RefusesTheSamplingGraphOfAShareWhoseFlowInverseHasNoGraph()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Chain<double>(new Affine<double>(2), new Planar<double>(2, seed: 1)),
            DefensiveShare.Fixed(0.05));
        double[,] data = OnnxCases.Normal<double>(32, 2, seed: 3);
        flow.DensityLn(data); // fits the defensive Gaussian's start to data
        Assert.Equal(0.05, flow.DefensiveWeight);

        NotSupportedException error = Assert.Throws<NotSupportedException>(() => flow.ToOnnxSamplingModel());

        Assert.Contains("defensive Gaussian", error.Message, StringComparison.Ordinal);
        Assert.Contains("DefensiveShare.None", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string> Unsupported => ["UserShift", "ContinuousFlow", "CircularShift", "CircularCoupling"];

    [Theory]
    [MemberData(nameof(Unsupported))]
    public void ExportOnnx_NamesABijectorWithoutAGraph(string name)
    {
        IBijector<double> bijector = name switch
        {
            "UserShift" => new UserShift(2),
            "CircularShift" => new CircularShift<double>([true, false]),
            "CircularCoupling" => new CircularCoupling<double>([true, false], new CircularSplineTransform<double>([true, false]), [4]),
            _ => new ContinuousFlow<double>(2, options: new() { HiddenFeatures = [4] }),
        };
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Chain<double>(new Affine<double>(2), bijector));

        NotSupportedException error = Assert.Throws<NotSupportedException>(() => flow.ToOnnxSamplingModel());

        Assert.Contains(bijector.ToString()!, error.Message, StringComparison.Ordinal);
    }

    // Above 16 features a residual block's log-determinant is a fresh stochastic estimate per call: no graph can give it.
    [Fact]
    public void ExportOnnx_RefusesAResidualBlockWithASeriesLogDeterminant()
    {
        var block = new InvertibleResidual<double>(17, 8, seed: 1);
        Assert.False(block.IsLogDetExact);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(17), block);

        NotSupportedException error = Assert.Throws<NotSupportedException>(() => flow.ToOnnxSamplingModel());

        Assert.Contains("stochastic", error.Message, StringComparison.Ordinal);
        Assert.Contains(block.ToString(), error.Message, StringComparison.Ordinal);
    }

    // A user's own bijector: x = z + 1, which the exporter cannot know.
    private sealed class UserShift(int dimension) : Bijector<double>(dimension)
    {
        public override IReadOnlyList<Parameter<double>> Parameters => [];

        public override string ToString() => "UserShift";

        protected override (Node<double> Output, Node<double> LogDet) ForwardCore(Tape<double> tape, Node<double> z, Node<double>? context)
            => (tape.Add(z, tape.Constant(Enumerable.Repeat(1.0, Dimension).ToArray(), 1, Dimension)), tape.Constant(new double[z.Rows], z.Rows, 1));

        protected override (Node<double> Output, Node<double> LogDet) InverseCore(Tape<double> tape, Node<double> x, Node<double>? context)
            => (tape.Subtract(x, tape.Constant(Enumerable.Repeat(1.0, Dimension).ToArray(), 1, Dimension)), tape.Constant(new double[x.Rows], x.Rows, 1));
    }

    [Fact]
    public void ExportOnnx_NamesABaseWithoutAGraph()
    {
        var flow = new TransformedDistribution<double>(new StudentT<double>(2), new Affine<double>(2));

        NotSupportedException error = Assert.Throws<NotSupportedException>(() => flow.ToOnnxDensityModel());

        Assert.Contains("StudentT", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExportOnnx_RefusesADataInitializedLayerThatHasNotSeenData()
    {
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(2, 1, [4], seed: 1);

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => flow.ToOnnxDensityModel());

        Assert.Contains("not initialized", error.Message, StringComparison.Ordinal);
    }

    // Scores a few rows so that the data-initialized layers of a preset take their start.
    private static TransformedDistribution<T> Initialized<T>(TransformedDistribution<T> flow, int context = 0)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        T[,] data = OnnxCases.Data<T>(32, seed: 5);
        T[,] x = new T[32, flow.Dimension];
        for (int i = 0; i < 32; i++)
        {
            for (int j = 0; j < flow.Dimension; j++)
            {
                x[i, j] = data[i, j % data.GetLength(1)];
            }
        }

        flow.DensityLn(x, context == 0 ? null : OnnxCases.Normal<T>(32, context, seed: 6));
        return flow;
    }
}
