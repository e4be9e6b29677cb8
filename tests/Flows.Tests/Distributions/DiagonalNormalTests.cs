using Flows.Autodiff;
using Flows.Distributions;
using Flows.Tests.Testing;
using MathNet.Numerics.Distributions;

namespace Flows.Tests.Distributions;

public sealed class DiagonalNormalTests
{
    private static DiagonalNormal<double> Randomized(int dimension, int seed)
    {
        var distribution = new DiagonalNormal<double>(dimension);
        TestData.StandardNormal(dimension, seed).CopyTo(distribution.Mean.Values, 0);
        TestData.StandardNormal(dimension, seed + 1, scale: 0.5).CopyTo(distribution.LogStandardDeviation.Values, 0);
        return distribution;
    }

    private static double[] DensityLn(IDistribution<double> distribution, double[,] z)
    {
        var tape = new Tape<double>(isRecording: false);
        return tape.Constant(TestData.Flatten(z), z.GetLength(0), z.GetLength(1)) is var node
            ? distribution.DensityLn(tape, node).Values.ToArray()
            : [];
    }

    [Fact]
    public void DensityLn_IsTheSumOfMathNetNormalLogDensities()
    {
        DiagonalNormal<double> distribution = Randomized(3, seed: 1);
        double[,] z = TestData.StandardNormal(32, 3, seed: 3, scale: 2);

        double[] logDensity = DensityLn(distribution, z);

        for (int i = 0; i < 32; i++)
        {
            double expected = Enumerable.Range(0, 3).Sum(j =>
                Normal.PDFLn(distribution.Mean.Values[j], Math.Exp(distribution.LogStandardDeviation.Values[j]), z[i, j]));
            AssertClose.Relative(expected, logDensity[i], Tolerance.ClosedForm, $"row {i}");
        }
    }

    [Fact]
    public void ZeroParameters_GiveTheStandardNormal()
    {
        double[,] z = TestData.StandardNormal(16, 2, seed: 4);
        AssertClose.All(DensityLn(new StandardNormal<double>(2), z), DensityLn(new DiagonalNormal<double>(2), z), Tolerance.ClosedForm, "log-density");
    }

    [Fact]
    public void StandardNormal_DensityLn_IsTheSumOfMathNetNormalLogDensities()
    {
        double[,] z = TestData.StandardNormal(16, 4, seed: 5, scale: 3);
        double[] logDensity = DensityLn(new StandardNormal<double>(4), z);
        for (int i = 0; i < 16; i++)
        {
            AssertClose.Relative(TestData.Row(z, i).Sum(v => Normal.PDFLn(0, 1, v)), logDensity[i], Tolerance.ClosedForm, $"row {i}");
        }
    }

    [Fact]
    public void Sample_IsMeanPlusScaleTimesStandardNormalDrawsFromTheSameGenerator()
    {
        DiagonalNormal<double> distribution = Randomized(3, seed: 6);
        var tape = new Tape<double>(isRecording: false);

        double[] samples = distribution.Sample(tape, 20, new Random(7)).Values.ToArray();
        double[] standard = new StandardNormal<double>(3).Sample(tape, 20, new Random(7)).Values.ToArray();

        for (int k = 0; k < samples.Length; k++)
        {
            int j = k % 3;
            double expected = distribution.Mean.Values[j] + (Math.Exp(distribution.LogStandardDeviation.Values[j]) * standard[k]);
            AssertClose.Relative(expected, samples[k], Tolerance.ClosedForm, $"sample {k}");
        }
    }

    [Fact]
    public void DensityLnParameterGradients_EqualCentralDifferences()
    {
        DiagonalNormal<double> distribution = Randomized(3, seed: 8);
        double[,] z = TestData.StandardNormal(12, 3, seed: 9, scale: 2);
        var tape = new Tape<double>();
        Node<double> loss = tape.Sum(distribution.DensityLn(tape, tape.Constant(TestData.Flatten(z), 12, 3)));
        tape.Backward(loss);

        foreach (var parameter in distribution.Parameters)
        {
            double[] expected = FiniteDifference.GradientOfSum(() => DensityLn(distribution, z), parameter.Values, Tolerance.FiniteDifferenceGradientStep);
            AssertClose.All(expected, parameter.Gradients, Tolerance.Gradient, parameter.Name);
        }
    }

    [Fact]
    public void Sample_GradientsFlowIntoTheParameters()
    {
        DiagonalNormal<double> distribution = Randomized(2, seed: 10);
        var tape = new Tape<double>();
        Node<double> samples = distribution.Sample(tape, 8, new Random(11));
        tape.Backward(tape.Sum(samples));

        // ∂Σx/∂μⱼ = rows; ∂Σx/∂sⱼ = Σᵢ σⱼ εᵢⱼ = Σᵢ (xᵢⱼ − μⱼ).
        Assert.All(distribution.Mean.Gradients, g => Assert.Equal(8.0, g));
        for (int j = 0; j < 2; j++)
        {
            double expected = Enumerable.Range(0, 8).Sum(i => samples[i, j] - distribution.Mean.Values[j]);
            Assert.Equal(expected, distribution.LogStandardDeviation.Gradients[j], 1e-12);
        }
    }

    [Fact]
    public void Constructor_ThrowsForNonPositiveDimension()
    {
        Assert.Throws<ArgumentOutOfRangeException>("dimension", () => new DiagonalNormal<double>(0));
        Assert.Throws<ArgumentOutOfRangeException>("dimension", () => new StandardNormal<double>(0));
    }

    [Fact]
    public void Sample_ThrowsForANegativeCount()
    {
        var tape = new Tape<double>(isRecording: false);
        Assert.Throws<ArgumentOutOfRangeException>("count", () => new DiagonalNormal<double>(2).Sample(tape, -1, new Random(1)));
    }
}
