using Flows.Autodiff;
using Flows.Distributions;
using Flows.Tests.Testing;

namespace Flows.Tests.Distributions;

public sealed class StudentTTests
{
    private static StudentT<double> Randomized(int dimension = 3)
    {
        var t = new StudentT<double>(dimension, degreesOfFreedom: 2.5);
        TestData.StandardNormal(dimension, 1, scale: 0.5).CopyTo(t.Location.Values, 0);
        TestData.StandardNormal(dimension, 2, scale: 0.5).CopyTo(t.LogScale.Values, 0);
        double[] raw = TestData.StandardNormal(dimension, 3, scale: 1.5);
        raw.CopyTo(t.RawDegreesOfFreedom.Values, 0);
        return t;
    }

    [Fact]
    public void DensityLn_EqualsTheProductOfMathNetStudentTDensities()
    {
        StudentT<double> t = Randomized();
        double[,] x = TestData.StandardNormal(30, 3, seed: 5, scale: 4);

        double[] actual = new double[30];
        t.DensityLn(TestData.Flatten(x), actual);

        double[] nu = t.DegreesOfFreedom;
        for (int i = 0; i < 30; i++)
        {
            double expected = 0;
            for (int j = 0; j < 3; j++)
            {
                var oracle = new MathNet.Numerics.Distributions.StudentT(t.Location.Values[j], Math.Exp(t.LogScale.Values[j]), nu[j]);
                expected += oracle.DensityLn(x[i, j]);
            }

            AssertClose.Relative(expected, actual[i], Tolerance.ClosedForm, $"row {i}");
        }
    }

    [Fact]
    public void DegreesOfFreedom_IsSoftplusOfTheRawParameterPlusTheFloor()
    {
        var t = new StudentT<double>(2, degreesOfFreedom: 7);
        AssertClose.All([7.0, 7.0], t.DegreesOfFreedom, 1e-12, "the constructor's ν");
        t.RawDegreesOfFreedom.Values[0] = -40;
        Assert.Equal(StudentT<double>.MinimumDegreesOfFreedom, t.DegreesOfFreedom[0], 12);
    }

    [Fact]
    public void Gradients_EqualCentralDifferences()
        => DistributionGradients.AssertMatchFiniteDifferences(Randomized(), TestData.StandardNormal(12, 3, seed: 6, scale: 3));

    [Fact]
    public void Gradients_EqualCentralDifferences_AtLargeDegreesOfFreedomAndFarTails()
    {
        StudentT<double> t = Randomized(2);
        t.RawDegreesOfFreedom.Values[0] = 60;
        DistributionGradients.AssertMatchFiniteDifferences(t, new double[,] { { 1e3, -50 }, { 0, 1e-8 }, { -300, 7 } }, tolerance: 1e-5);
    }

    [Fact]
    public void Samples_FollowTheStudentTDistribution()
    {
        var t = new StudentT<double>(1, degreesOfFreedom: 2);
        t.Location.Values[0] = 1;
        t.LogScale.Values[0] = Math.Log(2);
        var values = new double[20_000];
        t.Sample(values, new Random(4));
        Array.Sort(values);

        // Kolmogorov–Smirnov distance to the true CDF; its 99.9 % critical value at n = 20,000 is 1.95/√n ≈ 0.0138.
        var oracle = new MathNet.Numerics.Distributions.StudentT(1, 2, 2);
        double distance = 0;
        for (int i = 0; i < values.Length; i++)
        {
            double cdf = oracle.CumulativeDistribution(values[i]);
            distance = Math.Max(distance, Math.Max(Math.Abs(cdf - ((double)i / values.Length)), Math.Abs(cdf - ((double)(i + 1) / values.Length))));
        }

        Assert.True(distance < 0.0138, $"KS distance {distance:G3}");
    }

    [Fact]
    public void SampleGradient_ReachesLocationAndScaleButNotTheDegreesOfFreedom()
    {
        StudentT<double> t = Randomized(2);
        var tape = new Tape<double>();
        Node<double> x = t.SampleWithDensityLn(tape, 50, new Random(2)).X;
        tape.Backward(tape.Sum(x));

        AssertClose.All([50.0, 50.0], t.Location.Gradients, 1e-12, "∂Σx/∂μ");
        Assert.All(t.LogScale.Gradients, g => Assert.NotEqual(0, g));
        Assert.All(t.RawDegreesOfFreedom.Gradients, g => Assert.Equal(0, g));
    }

    [Fact]
    public void DensityLn_InFloat_AgreesWithDouble()
    {
        StudentT<double> t = Randomized();
        var single = new StudentT<float>(3);
        for (int p = 0; p < 3; p++)
        {
            for (int j = 0; j < 3; j++)
            {
                single.Parameters[p].Values[j] = (float)t.Parameters[p].Values[j];
            }
        }

        double[] x = TestData.Flatten(TestData.StandardNormal(10, 3, seed: 8, scale: 3));
        var expected = new double[10];
        t.DensityLn(x, expected);
        var actual = new float[10];
        single.DensityLn([.. x.Select(v => (float)v)], actual);
        AssertClose.All(expected, [.. actual.Select(v => (double)v)], 1e-5, "float vs double");
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.2)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Constructor_ThrowsForDegreesOfFreedomOutOfRange(double degreesOfFreedom)
        => Assert.Throws<ArgumentOutOfRangeException>(nameof(degreesOfFreedom), () => new StudentT<double>(2, degreesOfFreedom));

    [Fact]
    public void Constructor_ThrowsForNonPositiveDimension()
        => Assert.Throws<ArgumentOutOfRangeException>("dimension", () => new StudentT<double>(0));
}
