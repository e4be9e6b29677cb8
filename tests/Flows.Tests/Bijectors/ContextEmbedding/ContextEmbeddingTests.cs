using System.Numerics;
using System.Text.Json.Nodes;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Neural;
using Flows.Persistence;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Bijectors;

public sealed class ContextEmbeddingTests : IFamilyCases
{
    // Raw context rows of 4 features around (3, −1, 10, 0) with scales (2, 0.5, 5, 1).
    private static readonly double[] RawMean = [3, -1, 10, 0];
    private static readonly double[] RawScale = [2, 0.5, 5, 1];

    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        // Standardized from raw contexts, then every parameter (the embedding's too) drawn; the context bound to a row.
        new("EmbeddedContext(MaskedAutoregressive+context, MultilayerPerceptronEmbedding)(d=3, c=4)",
            s => BijectorCases.Randomized(new FixedContext(Standardized(Embedded<double>(s)), [4.1, -0.7, 12.0, -0.4]), s, 0.3), OutputRange.Real, 10, 10),
        // A longer chain behind the embedding: autoregressive and coupling layers, affine and spline, sharing the embedded
        // context, with unconditional permutation and LU layers between them.
        new("EmbeddedContext(Chain(MAF+context, Permutation, Coupling(spline)+context, LULinear, MAF(spline)+context), MultilayerPerceptronEmbedding)(d=3, c=4)",
            s => BijectorCases.Randomized(new FixedContext(Standardized(EmbeddedChain<double>(s)), [4.1, -0.7, 12.0, -0.4]), s, 0.3), OutputRange.Real, 10, 10),
        // The context standardized only, with no network: WithContextEmbedding(new IdentityEmbedding(k)).
        new("EmbeddedContext(MaskedAutoregressive+context, IdentityEmbedding)(d=3, c=4)",
            s => BijectorCases.Randomized(new FixedContext(Standardized(new EmbeddedContext<double>(
                new MaskedAutoregressive<double>(3, [8], Orders.Natural(3), contextDimension: 4, seed: s), new IdentityEmbedding<double>(4))),
                [4.1, -0.7, 12.0, -0.4]), s, 0.3), OutputRange.Real, 10, 10),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("EmbeddedContext(standardized)", () => Standardized(Embedded<T>(3))),
        // Not yet standardized when saved: the flag is saved too, and both flows then standardize from the same data.
        new("EmbeddedContext(unstandardized)", () => Embedded<T>(4)),
        new("EmbeddedContext(chain, standardized)", () => Standardized(EmbeddedChain<T>(5))),
        new("EmbeddedContext(IdentityEmbedding, standardized)", () => Standardized(new EmbeddedContext<T>(
            new MaskedAutoregressive<T>(3, [8], Orders.Natural(3), contextDimension: 4, seed: 2), new IdentityEmbedding<T>(4)))),
    ];

    [Fact]
    public void Inverse_IsTheInnerInverseAtTheStandardizedEmbeddedContext()
    {
        EmbeddedContext<double> embedded = BijectorCases.Randomized(Standardized(Embedded<double>(1)), seed: 2, scale: 0.3);
        double[,] x = TestData.StandardNormal(20, 3, seed: 3);
        double[,] context = RawContexts(20, seed: 4);

        // The oracle divides by s where the bijector multiplies by 1/s: equal to rounding, not to the bit.
        var standardized = new double[20, 4];
        for (int i = 0; i < 20; i++)
        {
            for (int j = 0; j < 4; j++)
            {
                standardized[i, j] = (context[i, j] - embedded.ContextMean[j]) / embedded.ContextScale[j];
            }
        }

        var tape = new Tape<double>(isRecording: false);
        double[] embedding = [.. embedded.Embedding.Apply(tape, tape.Constant(TestData.Flatten(standardized), 20, 4)).Values];
        var embeddedContext = new double[20, 2];
        Buffer.BlockCopy(embedding, 0, embeddedContext, 0, embedding.Length * sizeof(double));
        (double[,] expected, double[] expectedLogDet) = embedded.Inner.Inverse(x, embeddedContext);

        (double[,] z, double[] logDet) = embedded.Inverse(x, context);

        AssertClose.All(expected, z, 1e-13);
        AssertClose.All(expectedLogDet, logDet, 1e-13);
    }

    [Fact]
    public void InitializeStandardization_SetsThePopulationMeanAndStandardDeviation()
    {
        EmbeddedContext<double> embedded = Embedded<double>(1);
        double[,] context = { { 1, 5, 7, 0 }, { 3, 5, 8, 0 }, { 8, 5, 9, 0 } };

        embedded.InitializeStandardization(context);

        // Features 1 and 3 are constant: centred, not scaled.
        Assert.True(embedded.IsStandardizationInitialized);
        Assert.Equal([4, 5, 8, 0], embedded.ContextMean.ToArray(), new ToleranceComparer(1e-15));
        Assert.Equal([Math.Sqrt(26.0 / 3), 1, Math.Sqrt(2.0 / 3), 1], embedded.ContextScale.ToArray(), new ToleranceComparer(1e-15));
    }

    [Fact]
    public void FirstInverseOnData_StandardizesOnce()
    {
        EmbeddedContext<double> embedded = Embedded<double>(1);
        double[,] x = TestData.StandardNormal(200, 3, seed: 5);
        double[,] first = RawContexts(200, seed: 6);

        embedded.Inverse(x, first);
        double[] mean = embedded.ContextMean.ToArray();
        embedded.Inverse(x, RawContexts(200, seed: 7));

        Assert.True(embedded.IsStandardizationInitialized);
        Assert.Equal(Enumerable.Range(0, 4).Select(j => Enumerable.Range(0, 200).Average(i => first[i, j])), mean, new ToleranceComparer(1e-12));
        Assert.Equal(mean, embedded.ContextMean.ToArray());
    }

    [Fact]
    public void Forward_DoesNotStandardizeFromItsContexts()
    {
        EmbeddedContext<double> embedded = Embedded<double>(1);

        embedded.Forward(TestData.StandardNormal(50, 3, seed: 8), RawContexts(50, seed: 9));

        Assert.False(embedded.IsStandardizationInitialized);
        Assert.Equal([0, 0, 0, 0], embedded.ContextMean.ToArray());
        Assert.Equal([1, 1, 1, 1], embedded.ContextScale.ToArray());
    }

    // Variational fitting records gradients outside training: its contexts are not training data.
    [Fact]
    public void RecordingTapeOutsideTraining_AdoptsTheCurrentStandardization()
    {
        EmbeddedContext<double> embedded = Embedded<double>(1);
        var tape = new Tape<double>(isRecording: true, isTraining: false);

        embedded.Inverse(tape, tape.Constant(new double[30], 10, 3), tape.Constant(TestData.Flatten(RawContexts(10, seed: 10)), 10, 4));
        embedded.Inverse(TestData.StandardNormal(10, 3, seed: 11), RawContexts(10, seed: 12));

        Assert.True(embedded.IsStandardizationInitialized);
        Assert.Equal([0, 0, 0, 0], embedded.ContextMean.ToArray());
    }

    [Fact]
    public void WithoutStandardization_TheContextIsEmbeddedAsGiven()
    {
        var embedded = new EmbeddedContext<double>(Inner<double>(1), new MultilayerPerceptronEmbedding<double>(4, 2, [6], seed: 1), standardize: false);

        embedded.Inverse(TestData.StandardNormal(10, 3, seed: 13), RawContexts(10, seed: 14));

        Assert.True(embedded.IsStandardizationInitialized);
        Assert.Equal([1, 1, 1, 1], embedded.ContextScale.ToArray());
        Assert.Throws<InvalidOperationException>(() => embedded.InitializeStandardization(RawContexts(5, seed: 15)));
    }

    [Fact]
    public void Fit_TrainsTheEmbeddingAndStandardizesFromTheTrainingData()
    {
        // Ten raw features at 100 ± 50; x₀ = (u₀ + u₁)/2 + 0.1ε₀ depends on two of them, x₁ = ε₁ on none. The flow sees
        // two embedded features. Held-out gaps to the true conditional log-likelihood: 0.047 (seeds 1–3: 0.039 … 0.053).
        (double[,] x, double[,] c) = TenFeatureContexts(8000, new Random(1));
        (double[,] xTest, double[,] cTest) = TenFeatureContexts(2000, new Random(2));
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(2, transforms: 1, hiddenFeatures: [32, 32], contextDimension: 2, seed: 0)
            .WithContextEmbedding(new MultilayerPerceptronEmbedding<double>(10, 2, [32], seed: 0));
        double[] embeddingBefore = [.. flow.Parameters[^1].Values];

        flow.Fit(x, c, new FitOptions { Epochs = 60, BatchSize = 64, Optimizer = new AdamOptions { LearningRate = 3e-3 }, Seed = 0 });

        var embedded = (EmbeddedContext<double>)flow.Bijector;
        Assert.NotEqual(embeddingBefore, flow.Parameters[^1].Values);
        // Set from the first 4,096 training rows: within 4 standard errors of the uniform's mean 100 and sd 50/√3.
        Assert.All(embedded.ContextMean.ToArray(), m => Assert.Equal(100, m, 4 * 50 / Math.Sqrt(3) / 64));
        Assert.All(embedded.ContextScale.ToArray(), s => Assert.Equal(50 / Math.Sqrt(3), s, 1.5));
        double heldOut = flow.DensityLn(xTest, cTest).Average();
        double truth = Enumerable.Range(0, 2000).Average(i =>
            NormalLogDensity((xTest[i, 0] - ((((cTest[i, 0] - 100) / 50) + ((cTest[i, 1] - 100) / 50)) / 2)) / 0.1) - Math.Log(0.1) + NormalLogDensity(xTest[i, 1]));
        Assert.True(truth - heldOut < 0.1, $"held-out {heldOut:F4}, true {truth:F4}, gap {truth - heldOut:F4} ≥ 0.1 nats.");
    }

    // Review finding: the flow's layer list took an embedding for one leaf, so Fit re-initialized only its context
    // standardization and left the wrapped preset's Gaussian start where a probe of the untrained flow had put it, and the
    // data-range check did not see the Standardization next to the data.
    [Fact]
    public void Fit_InitializesTheWrappedGaussianStartFromTheTrainingData_EvenAfterAProbe()
    {
        (double[,] x, double[,] c) = TenFeatureContexts(1000, new Random(1));
        TransformedDistribution<double> flow = NeuralSplineFlow.Create<double>(2, transforms: 1, hiddenFeatures: [8], contextDimension: 2, seed: 0)
            .WithContextEmbedding(new MultilayerPerceptronEmbedding<double>(10, 2, [8], seed: 0));
        double[,] probe = TestData.Rows(x, 0, 20);
        for (int i = 0; i < 20; i++)
        {
            probe[i, 0] += 50;
        }

        flow.DensityLn(probe, TestData.Rows(c, 0, 20));
        flow.Fit(x, c, new FitOptions { Epochs = 1, Seed = 0 });

        var standardization = (Standardization<double>)((Chain<double>)((EmbeddedContext<double>)flow.Bijector).Inner).Parts[^1];
        double mean = Enumerable.Range(0, 1000).Average(i => x[i, 0]);
        Assert.True(Math.Abs(standardization.Mean[0] - mean) < 0.2, $"standardization mean {standardization.Mean[0]:G4}, the data's {mean:G4}");
        double[,] far = (double[,])x.Clone();
        for (int i = 0; i < 1000; i++)
        {
            far[i, 0] *= 1e4;
        }

        Assert.Empty(NeuralSplineFlow.Create<double>(2, transforms: 1, hiddenFeatures: [8], contextDimension: 2, seed: 0)
            .WithContextEmbedding(new MultilayerPerceptronEmbedding<double>(10, 2, [8], seed: 0)).CheckDataRange(far));
    }

    [Fact]
    public void IdentityEmbedding_StandardizesTheContextOnly_TheInnerFlowSeesUnitScaleContexts()
    {
        // Contexts at scale 1e4 around 5e4: through an IdentityEmbedding the inner bijector sees exactly (c − m) ⊘ s.
        double[,] c = TestData.StandardNormal(200, 2, seed: 3, scale: 1e4);
        for (int i = 0; i < 200; i++)
        {
            c[i, 1] += 5e4;
        }

        var inner = BijectorCases.Randomized(new LowerTriangularAffine<double>(2, contextDimension: 2), seed: 4);
        var embedded = new EmbeddedContext<double>(inner, new IdentityEmbedding<double>(2));
        embedded.InitializeStandardization(c);
        double[,] x = TestData.StandardNormal(200, 2, seed: 5);

        var standardized = new double[200, 2];
        for (int i = 0; i < 200; i++)
        {
            for (int j = 0; j < 2; j++)
            {
                standardized[i, j] = (c[i, j] - embedded.ContextMean[j]) / embedded.ContextScale[j];
            }
        }

        AssertClose.All(inner.Inverse(x, standardized).Output, embedded.Inverse(x, c).Output, 1e-12, "inner at the standardized context");
        Assert.Empty(new IdentityEmbedding<double>(2).Parameters);
        Assert.Throws<ArgumentOutOfRangeException>("contextDimension", () => new IdentityEmbedding<double>(0));
    }

    [Fact]
    public void SaveLoad_KeepsTheStandardization_AndTheLoadedFlowNeverRestandardizes()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(3), BijectorCases.Randomized(Standardized(Embedded<double>(5)), seed: 6, scale: 0.3));
        var stream = new MemoryStream();
        flow.Save(stream);
        stream.Position = 0;

        TransformedDistribution<double> loaded = FlowSerializer.Load<double>(stream);
        var embedded = (EmbeddedContext<double>)loaded.Bijector;
        double[] mean = embedded.ContextMean.ToArray();
        loaded.DensityLn(TestData.StandardNormal(10, 3, seed: 16), RawContexts(10, seed: 17));

        Assert.True(embedded.IsStandardizationInitialized);
        Assert.Equal(((EmbeddedContext<double>)flow.Bijector).ContextMean.ToArray(), mean);
        Assert.Equal(((EmbeddedContext<double>)flow.Bijector).ContextScale.ToArray(), embedded.ContextScale.ToArray());
        Assert.Equal(mean, embedded.ContextMean.ToArray());
    }

    [Fact]
    public void Load_RejectsANonPositiveScale()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(3), Standardized(Embedded<double>(5)));
        var stream = new MemoryStream();
        flow.Save(stream);
        JsonNode root = JsonNode.Parse(stream.ToArray())!;
        root["flow"]!["bijector"]!["contextScale"]![2] = 0;
        FlowFormatException e = Assert.Throws<FlowFormatException>(() => FlowSerializer.Load<double>(SavedFiles.Resigned(root)));
        Assert.Contains("contextScale[2]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_TakesARawContextRow()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(3), Standardized(Embedded<double>(5)));
        double[] row = [4.1, -0.7, 12.0, -0.4];
        double[,] x = TestData.StandardNormal(5, 3, seed: 18);
        var repeated = new double[5, 4];
        for (int i = 0; i < 5; i++)
        {
            for (int j = 0; j < 4; j++)
            {
                repeated[i, j] = row[j];
            }
        }

        double[] expected = flow.DensityLn(x, repeated);

        Assert.Equal(4, flow.ContextDimension);
        AssertClose.Bitwise(expected, flow.Given(row).DensityLn(x));
    }

    [Fact]
    public void Constructor_ThrowsForAnUnconditionalInner()
        => Assert.Throws<ArgumentException>("inner", () => new EmbeddedContext<double>(new Affine<double>(3), new MultilayerPerceptronEmbedding<double>(4, 2)));

    [Fact]
    public void Constructor_ThrowsWhenTheEmbeddingWidthDiffersFromTheInnerContext()
    {
        ArgumentException e = Assert.Throws<ArgumentException>("embedding", () => new EmbeddedContext<double>(Inner<double>(1), new MultilayerPerceptronEmbedding<double>(4, 3)));
        Assert.Contains("has ContextDimension 2 but the embedding gives 3 features", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InitializeStandardization_ThrowsForTheWrongWidthOrANonFiniteValue()
    {
        Assert.Throws<ArgumentException>("context", () => Embedded<double>(1).InitializeStandardization(new double[3, 3]));
        ArgumentException e = Assert.Throws<ArgumentException>("context", () => Embedded<double>(1).InitializeStandardization(new double[,] { { 1, 2, 3, 4 }, { 1, double.NaN, 3, 4 } }));
        Assert.Contains("context[1, 1]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithContextEmbedding_ThrowsForAnUnconditionalFlow()
        => Assert.Throws<InvalidOperationException>(() =>
            MaskedAutoregressiveFlow.Create<double>(3, transforms: 1, hiddenFeatures: [4]).WithContextEmbedding(new MultilayerPerceptronEmbedding<double>(4, 2)));

    [Fact]
    public void MultilayerPerceptronEmbedding_ThrowsForANonPositiveSize()
    {
        Assert.Throws<ArgumentOutOfRangeException>("contextDimension", () => new MultilayerPerceptronEmbedding<double>(0, 2));
        Assert.Throws<ArgumentOutOfRangeException>("embeddingDimension", () => new MultilayerPerceptronEmbedding<double>(3, 0));
        Assert.Throws<ArgumentOutOfRangeException>("hiddenFeatures", () => new MultilayerPerceptronEmbedding<double>(3, 2, [8, 0]));
    }

    [Fact]
    public void MultilayerPerceptronEmbedding_WithoutHiddenLayers_IsLinear()
    {
        var embedding = new MultilayerPerceptronEmbedding<double>(3, 2, [], seed: 1);
        var tape = new Tape<double>(isRecording: false);
        double[] c = [0.5, -1.5, 2.0];
        double[] w = [.. embedding.Parameters[0].Values];
        double[] b = [.. embedding.Parameters[1].Values];

        double[] e = [.. embedding.Apply(tape, tape.Constant(c, 1, 3)).Values];

        for (int k = 0; k < 2; k++)
        {
            Assert.Equal(b[k] + (w[(3 * k) + 0] * c[0]) + (w[(3 * k) + 1] * c[1]) + (w[(3 * k) + 2] * c[2]), e[k], 1e-15);
        }
    }

    // A conditional MAF on 3 features taking 2 embedded features, behind a 4 → 2 embedding.
    private static EmbeddedContext<T> Embedded<T>(int seed) where T : unmanaged, IFloatingPointIeee754<T>
        => new(Inner<T>(seed), new MultilayerPerceptronEmbedding<T>(4, 2, [6], seed: seed + 1));

    private static EmbeddedContext<T> EmbeddedChain<T>(int seed) where T : unmanaged, IFloatingPointIeee754<T>
        => new(new Chain<T>(
                Inner<T>(seed),
                Permutation<T>.Reverse(3),
                new Coupling<T>(Coupling<T>.AlternatingMask(3, 0), [8], contextDimension: 2, new RationalQuadraticTransform<T>(binCount: 4), seed: seed + 2),
                new LULinear<T>(3, seed + 3),
                new MaskedAutoregressive<T>(3, [8], Orders.Random(3, seed + 4), contextDimension: 2, transform: new RationalQuadraticTransform<T>(binCount: 4), seed: seed + 4)),
            new MultilayerPerceptronEmbedding<T>(4, 2, [6], seed: seed + 1));

    private static MaskedAutoregressive<T> Inner<T>(int seed) where T : unmanaged, IFloatingPointIeee754<T>
        => new(3, [8], Orders.Random(3, seed), contextDimension: 2, seed: seed);

    private static EmbeddedContext<T> Standardized<T>(EmbeddedContext<T> embedded) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double[,] raw = RawContexts(100, seed: 19);
        var context = new T[100, 4];
        for (int i = 0; i < 100; i++)
        {
            for (int j = 0; j < 4; j++)
            {
                context[i, j] = T.CreateTruncating(raw[i, j]);
            }
        }

        embedded.InitializeStandardization(context);
        return embedded;
    }

    private static double[,] RawContexts(int rows, int seed)
    {
        double[,] values = TestData.StandardNormal(rows, 4, seed);
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < 4; j++)
            {
                values[i, j] = RawMean[j] + (RawScale[j] * values[i, j]);
            }
        }

        return values;
    }

    // c_k = 100 + 50·u_k (k < 10), u ~ U[−1, 1]; x₀ = (u₀ + u₁)/2 + 0.1·ε₀, x₁ = ε₁.
    private static (double[,] X, double[,] Context) TenFeatureContexts(int rows, Random random)
    {
        var x = new double[rows, 2];
        var c = new double[rows, 10];
        for (int i = 0; i < rows; i++)
        {
            double u0 = 0;
            double u1 = 0;
            for (int k = 0; k < 10; k++)
            {
                double u = (2 * random.NextDouble()) - 1;
                u0 = k == 0 ? u : u0;
                u1 = k == 1 ? u : u1;
                c[i, k] = 100 + (50 * u);
            }

            x[i, 0] = ((u0 + u1) / 2) + (0.1 * TestData.NextNormal(random));
            x[i, 1] = TestData.NextNormal(random);
        }

        return (x, c);
    }

    private static double NormalLogDensity(double z) => (-0.5 * z * z) - (0.5 * Math.Log(2 * Math.PI));

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance * (1 + Math.Abs(x));

        public int GetHashCode(double obj) => 0;
    }
}
