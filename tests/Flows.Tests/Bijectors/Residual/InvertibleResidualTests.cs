using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Neural;
using Flows.Persistence;
using Flows.Tests.Testing;
using Flows.Training;
using MathNet.Numerics.LinearAlgebra;

namespace Flows.Tests.Bijectors;

public sealed class InvertibleResidualTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("InvertibleResidual(d=2, h=8)", s => BijectorCases.Randomized(new InvertibleResidual<double>(2, 8, seed: s), s), OutputRange.Real, 1e3),
        new("InvertibleResidual(d=3, h=5)", s => BijectorCases.Randomized(new InvertibleResidual<double>(3, 5, seed: s), s), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("InvertibleResidual", () => new InvertibleResidual<T>(2, 6, seed: 4)),
    ];

    [Theory]
    [InlineData(1.0)]
    [InlineData(1.5)]
    [InlineData(0.0)]
    [InlineData(double.NaN)]
    public void Constructor_RejectsCoefficientsOutside0To1(double coefficient)
        => Assert.Throws<ArgumentOutOfRangeException>(nameof(coefficient), () => new InvertibleResidual<double>(2, 4, coefficient));

    [Fact]
    public void Constructor_RejectsNonPositiveHiddenFeatures()
        => Assert.Throws<ArgumentOutOfRangeException>("hiddenFeatures", () => new InvertibleResidual<double>(2, 0));

    [Fact]
    public void ZeroParameters_GiveTheIdentity()
    {
        var block = new InvertibleResidual<double>(3, 4);
        foreach (Parameter<double> p in block.Parameters)
        {
            Array.Clear(p.Values);
        }

        double[,] z = TestData.StandardNormal(5, 3, seed: 1);
        (double[,] x, double[] logDet) = block.Forward(z);

        AssertClose.Bitwise(z, x);
        Assert.All(logDet, v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void Inverse_SolvesTheFixedPointTo1e10_On1000Points()
    {
        InvertibleResidual<double> block = BijectorCases.Randomized(new InvertibleResidual<double>(4, 16, seed: 2), seed: 3, scale: 1.0);
        double[,] x = TestData.StandardNormal(1000, 4, seed: 4, scale: 3);

        double[,] z = block.Inverse(x).Output;
        double[,] xAgain = block.Forward(z).Output; // z + g(z)

        AssertClose.All(x, xAgain, 1e-10, "residual z + g(z) − x");
    }

    [Fact]
    public void Inverse_ThrowsNamingTheResidual_WhenItCannotConverge()
    {
        InvertibleResidual<double> block = BijectorCases.Randomized(new InvertibleResidual<double>(2, 8, seed: 5, maxIterations: 2), seed: 6, scale: 2.0);

        var e = Assert.Throws<InvalidOperationException>(() => block.Inverse(TestData.StandardNormal(3, 2, seed: 7, scale: 3)));

        Assert.Contains("did not converge at row", e.Message, StringComparison.Ordinal);
        Assert.Contains("residual", e.Message, StringComparison.Ordinal);
    }

    // TESTING.md item 29: the true spectral norm (MathNet SVD) of every normalized weight stays ≤ c + 1e-3 after every
    // optimizer step, and the warm-started power-iteration estimate is within 1e-3 relative of the raw weight's norm.
    [Fact]
    public void SpectralNorms_StayBelowTheCoefficient_AfterEveryAdamStep()
    {
        const double c = 0.9;
        var block = new InvertibleResidual<double>(2, 12, coefficient: c, seed: 8);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), block);
        var adam = new Adam<double>(flow.Parameters, new AdamOptions { LearningRate = 0.05 });
        double[,] data = Banana(256, seed: 9);
        var tape = new Tape<double>();
        for (int step = 0; step < 30; step++)
        {
            tape.Reset();
            Node<double> loss = tape.Negate(tape.Mean(flow.DensityLn(tape, tape.Constant(TestData.Flatten(data), 256, 2))));
            adam.ZeroGradients();
            tape.Backward(loss);
            adam.Step();

            foreach (SpectralNorm<double> norm in block.SpectralNorms)
            {
                double trueNorm = Matrix<double>.Build.DenseOfArray(norm.GetNormalizedWeight()).L2Norm();
                Assert.True(trueNorm <= c + 1e-3, $"step {step}, {norm.Weight.Name}: ‖Ŵ‖₂ = {trueNorm:R}");
                double rawNorm = Matrix<double>.Build.DenseOfRowMajor(norm.Weight.Rows, norm.Weight.Columns, norm.Weight.Values).L2Norm();
                Assert.True(Math.Abs(norm.EstimatedNorm - rawNorm) <= 1e-3 * rawNorm, $"step {step}: estimate {norm.EstimatedNorm:R}, SVD {rawNorm:R}");
            }
        }
    }

    [Fact]
    public void SeriesLogDet_AgreesWithTheExactLogDet_InExpectation()
    {
        var exact = new InvertibleResidual<double>(3, 6, coefficient: 0.7, seed: 10);
        var series = new InvertibleResidual<double>(3, 6, coefficient: 0.7, seed: 10, exactLogDetMaxDimension: 0);
        BijectorCases.Randomized(exact, seed: 11, scale: 1.0);
        BijectorCases.Randomized(series, seed: 11, scale: 1.0);
        Assert.True(exact.IsLogDetExact && !series.IsLogDetExact, "precondition: one exact, one series block");
        const int probes = 20000;
        var z = new double[probes, 3];
        for (int i = 0; i < probes; i++)
        {
            z[i, 0] = 0.3;
            z[i, 1] = -1.2;
            z[i, 2] = 0.8;
        }

        double expected = exact.Forward(TestData.Rows(z, 0, 1)).LogDet[0];
        double[] estimates = series.Forward(z).LogDet;
        double mean = estimates.Average();
        double standardError = Math.Sqrt(estimates.Sum(v => (v - mean) * (v - mean)) / (probes - 1) / probes);

        Assert.True(Math.Abs(mean - expected) <= 3 * standardError, $"series mean {mean:R} ± {standardError:G3}, exact {expected:R}");
        Assert.True(standardError > 0, "precondition: the estimator is stochastic");
    }

    [Fact]
    public void SaveLoad_AfterTraining_GivesBitIdenticalDensitiesAndSamples_AndKeepsThePowerIterationVectors()
    {
        var block = new InvertibleResidual<double>(2, 8, coefficient: 0.95, seed: 12);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Chain<double>(new Affine<double>(2), block));
        flow.Fit(Banana(400, seed: 13), new FitOptions { Epochs = 3, BatchSize = 100, ValidationFraction = 0, Optimizer = new AdamOptions { LearningRate = 0.02 } });
        using var stream = new MemoryStream();
        flow.Save(stream);
        stream.Position = 0;

        TransformedDistribution<double> loaded = FlowSerializer.Load<double>(stream);
        var loadedBlock = (InvertibleResidual<double>)((Chain<double>)loaded.Bijector).Parts[1];

        double[,] x = TestData.StandardNormal(32, 2, seed: 14, scale: 2);
        AssertClose.Bitwise(flow.DensityLn(x), loaded.DensityLn(x));
        AssertClose.Bitwise(flow.Sample(32, new Random(3)), loaded.Sample(32, new Random(3)));
        Assert.Equal(block.SpectralNorms[0].U.ToArray(), loadedBlock.SpectralNorms[0].U.ToArray());
        Assert.Equal(block.SpectralNorms[1].U.ToArray(), loadedBlock.SpectralNorms[1].U.ToArray());
        Assert.Equal(block.ToString(), loadedBlock.ToString());
    }

    [Fact]
    public void ToString_IsConstructorLike()
        => Assert.Equal("InvertibleResidual(dimension: 2, hiddenFeatures: 4, coefficient: 0.97, seed: 0)", new InvertibleResidual<double>(2, 4).ToString());

    internal static double[,] Banana(int rows, int seed)
    {
        double[,] data = TestData.StandardNormal(rows, 2, seed);
        for (int i = 0; i < rows; i++)
        {
            data[i, 1] = (0.5 * data[i, 1]) + (0.4 * data[i, 0] * data[i, 0]) - 0.4;
        }

        return data;
    }
}
