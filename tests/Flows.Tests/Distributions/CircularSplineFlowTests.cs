using System.Runtime.Intrinsics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Persistence;
using Flows.Tests.Testing;
using Flows.Training;
using MathNet.Numerics;
using Xunit.Abstractions;

namespace Flows.Tests.Distributions;

/// <summary>The circular neural spline flow and its base: densities on the circle and the torus, and the torus fit.</summary>
public sealed class CircularSplineFlowTests(ITestOutputHelper output)
{
    private static readonly Support Angle = Support.Angle();
    private static readonly Support Real = Support.Real;

    [Fact]
    public void UniformAngles_DensityLn_IsUniformOnAnglesAndNormalOnReals()
    {
        var circle = new UniformAngles<double>([true, false, true]);
        double[] logDensity = new double[3];
        circle.DensityLn([0.5, 1.2, -3.0, -Math.PI, 0.0, Math.PI, 3.2, 0.0, 0.0], logDensity);
        double expected = (-2 * Math.Log(2 * Math.PI)) - (0.5 * Math.Log(2 * Math.PI));
        Assert.Equal(expected - (0.5 * 1.2 * 1.2), logDensity[0], 1e-14);
        Assert.Equal(expected, logDensity[1], 1e-14);
        Assert.Equal(double.NegativeInfinity, logDensity[2]); // 3.2 > π is outside the circle
    }

    [Fact]
    public void UniformAngles_DensityLnGradient_IsMinusXOnRealsAndZeroOnAngles()
    {
        var circle = new UniformAngles<double>([false, true]);
        var tape = new Tape<double>();
        Node<double> x = tape.Variable([0.7, 1.0, -1.5, -2.0], 2, 2);
        tape.Backward(tape.Sum(circle.DensityLn(tape, x)));
        Assert.Equal([-0.7, 0.0, 1.5, 0.0], x.Gradients.ToArray());
    }

    [Fact]
    public void UniformAngles_Samples_LieOnTheCircle_WithTheUniformsMoments()
    {
        var circle = new UniformAngles<double>([true, false]);
        var x = new double[40000];
        circle.Sample(x, new Random(3));
        double[] angles = [.. Enumerable.Range(0, 20000).Select(i => x[2 * i])];
        double[] reals = [.. Enumerable.Range(0, 20000).Select(i => x[(2 * i) + 1])];
        Assert.All(angles, a => Assert.InRange(a, -Math.PI, Math.BitDecrement(Math.PI)));
        Assert.Equal(0, angles.Average(), 0.05); // SE π/√(3n) = 0.013
        Assert.Equal(Math.PI * Math.PI / 3, angles.Average(a => a * a), 0.1); // SE 0.03
        Assert.Equal(1, reals.Average(r => r * r), 0.05); // SE 0.01
    }

    // The density is one on the torus: midpoint sums over a 200 × 200 grid of a flow with random parameters. (At parameter
    // scale 0.2; at 0.5 the density has spikes narrower than the grid: the same kind of flow on the cylinder below then
    // sums to 0.871 on 200 points per circle and to 1 − 6e-5 on 800.)
    [Fact]
    public void DensityOnTheTorus_IntegratesToOne()
    {
        TransformedDistribution<double> flow = Randomized(CircularSplineFlow.Create<double>([Angle, Angle], transforms: 2, binCount: 6, hiddenFeatures: [16]), seed: 4, scale: 0.2);
        const int N = 200;
        double h = 2 * Math.PI / N;
        var grid = new double[N * N, 2];
        for (int i = 0; i < N; i++)
        {
            for (int j = 0; j < N; j++)
            {
                grid[(i * N) + j, 0] = -Math.PI + ((i + 0.5) * h);
                grid[(i * N) + j, 1] = -Math.PI + ((j + 0.5) * h);
            }
        }

        double mass = flow.DensityLn(grid).Sum(l => Math.Exp(l)) * h * h;
        Assert.Equal(1, mass, 1e-3);
    }

    // An angle and a real column: midpoint sums over [−π, π) × [−12, 12].
    [Fact]
    public void DensityOnTheCylinder_IntegratesToOne()
    {
        TransformedDistribution<double> flow = Randomized(CircularSplineFlow.Create<double>([Angle, Real], transforms: 2, binCount: 6, hiddenFeatures: [16], tailBound: 3), seed: 6, scale: 0.2);
        const int N = 160;
        const int M = 480;
        double h = 2 * Math.PI / N;
        double k = 24.0 / M;
        var grid = new double[N * M, 2];
        for (int i = 0; i < N; i++)
        {
            for (int j = 0; j < M; j++)
            {
                grid[(i * M) + j, 0] = -Math.PI + ((i + 0.5) * h);
                grid[(i * M) + j, 1] = -12 + ((j + 0.5) * k);
            }
        }

        double mass = flow.DensityLn(grid).Sum(l => Math.Exp(l)) * h * k;
        Assert.Equal(1, mass, 1e-3);
    }

    // Continuous where an angle wraps (the conditioners see cos and sin), and any period of an angle scores alike.
    [Fact]
    public void DensityLn_IsContinuousAcrossTheSeam_AndPeriodic()
    {
        TransformedDistribution<double> flow = Randomized(CircularSplineFlow.Create<double>([Angle, Angle, Real], transforms: 3, binCount: 5, hiddenFeatures: [16]), seed: 8);
        double[] logDensity = flow.DensityLn(new double[,]
        {
            { Math.PI - 1e-9, 0.4, 0.3 }, { -Math.PI + 1e-9, 0.4, 0.3 },
            { 1.1, -Math.PI + 1e-9, -0.2 }, { 1.1, Math.PI - 1e-9, -0.2 },
            { 0.6, -2.0, 0.5 }, { 0.6 + (2 * Math.PI), -2.0 - (4 * Math.PI), 0.5 },
        });
        Assert.Equal(logDensity[0], logDensity[1], 1e-6);
        Assert.Equal(logDensity[2], logDensity[3], 1e-6);
        Assert.Equal(logDensity[4], logDensity[5], 1e-12);
    }

    [Fact]
    public void Samples_LieOnTheCircle_AndScoreAsTheirDensity()
    {
        TransformedDistribution<double> flow = Randomized(CircularSplineFlow.Create<double>([Angle, Real, Angle], transforms: 2, binCount: 4, hiddenFeatures: [8]), seed: 10);
        double[,] x = flow.Sample(200, new Random(2));
        for (int i = 0; i < 200; i++)
        {
            Assert.InRange(x[i, 0], -Math.PI, Math.BitDecrement(Math.PI));
            Assert.InRange(x[i, 2], -Math.PI, Math.BitDecrement(Math.PI));
        }

        AssertClose.Finite(flow.DensityLn(x), "log-density of samples");
    }

    [Fact]
    public void Float_AgreesWithDouble()
    {
        TransformedDistribution<double> flow = Randomized(CircularSplineFlow.Create<double>([Angle, Real, Angle], transforms: 2, binCount: 5, hiddenFeatures: [8]), seed: 12);
        TransformedDistribution<float> single = CircularSplineFlow.Create<float>([Angle, Real, Angle], transforms: 2, binCount: 5, hiddenFeatures: [8]);
        for (int p = 0; p < flow.Parameters.Count; p++)
        {
            for (int k = 0; k < flow.Parameters[p].Values.Length; k++)
            {
                single.Parameters[p].Values[k] = (float)flow.Parameters[p].Values[k];
            }
        }

        double[,] x = flow.Sample(64, new Random(5));
        var xs = new float[64, 3];
        for (int i = 0; i < 64; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                xs[i, j] = (float)x[i, j];
            }
        }

        double[] expected = flow.DensityLn(x);
        float[] actual = single.DensityLn(xs);
        for (int i = 0; i < 64; i++)
        {
            Assert.Equal(expected[i], actual[i], 2e-3);
        }
    }

    [Fact]
    public void SaveLoad_GivesTheSameDensitiesBitForBit()
    {
        TransformedDistribution<double> flow = Randomized(CircularSplineFlow.Create<double>([Angle, Real, Angle], transforms: 2, binCount: 4, hiddenFeatures: [8]), seed: 14);
        var stream = new MemoryStream();
        flow.Save(stream);
        stream.Position = 0;
        TransformedDistribution<double> loaded = FlowSerializer.Load<double>(stream);
        double[,] x = flow.Sample(32, new Random(1));
        AssertClose.Bitwise(flow.DensityLn(x), loaded.DensityLn(x), "loaded");
        Assert.Equal(flow.ToString(), loaded.ToString());
    }

    // A file this version wrote (format 4: a CircularSplineFlow on angles [1, 0, 1], parameters set by
    // PersistenceCases.Randomize, seed 19) must keep loading with the densities it was saved with. Written on an AVX-512
    // machine with the default instruction set, so bit for bit there and to 1e-12 at other widths (as made-v3, made-v4).
    [Fact]
    public void GoldenFile_LoadsAndGivesStoredDensities()
    {
        IReadOnlyList<double[]> rows = SavedFiles.GoldenRows("circular-v4", out TransformedDistribution<double> flow);
        Assert.Equal(8, rows.Count);
        foreach (double[] fields in rows)
        {
            double logDensity = flow.DensityLn(new double[,] { { fields[0], fields[1], fields[2] } })[0];
            AssertClose.StoredDensity(fields[3], logDensity);
        }
    }

    // The torus test of the issue: fitted to 4,000 samples of a known mixture of products of von Mises densities (one
    // component across the seam), the flow scores 2,000 held-out samples close to the true density's own score. Measured:
    // −2.7545 against the truth's −2.7182, a gap of −0.036 nats per row (standard error 0.006), in about 4 s; the uniform
    // density scores −3.676. The margin, 0.06 below and 0.03 above the truth, leaves room for the trajectory to differ at
    // another vector width.
    [Fact]
    public void Fit_ToAVonMisesMixtureOnTheTorus_RecoversItsDensity()
    {
        var mixture = new VonMisesMixture(
            [0.45, 0.35, 0.2],
            [(-2.0, 1.0), (1.0, -1.5), (3.0, 2.9)],
            [(4.0, 2.0), (3.0, 6.0), (5.0, 5.0)]);
        double[,] train = mixture.Sample(4000, new Random(1));
        double[,] test = mixture.Sample(2000, new Random(2));
        TransformedDistribution<double> flow = CircularSplineFlow.Create<double>([Angle, Angle], transforms: 4, binCount: 8, hiddenFeatures: [32, 32], seed: 3);
        flow.Fit(train, new FitOptions { Epochs = 50, BatchSize = 100, Seed = 4, Optimizer = new AdamOptions { LearningRate = 3e-3 } });
        double[] fitted = flow.DensityLn(test);
        double[] truth = [.. Enumerable.Range(0, 2000).Select(i => mixture.DensityLn(test[i, 0], test[i, 1]))];
        double gap = fitted.Average() - truth.Average();
        output.WriteLine($"held-out: flow {fitted.Average():F4}, truth {truth.Average():F4}, gap {gap:F4}");
        Assert.InRange(gap, -0.06, 0.03);
    }

    private static TransformedDistribution<double> Randomized(TransformedDistribution<double> flow, int seed, double scale = 0.5)
    {
        var random = new Random(seed);
        foreach (Parameter<double> parameter in flow.Parameters)
        {
            for (int k = 0; k < parameter.Values.Length; k++)
            {
                parameter.Values[k] = scale * TestData.NextNormal(random);
            }
        }

        return flow;
    }

    /// <summary>A mixture of products of two von Mises densities, p(θ) = Σ w_c Π_k exp(κ cos(θ_k − μ)) / (2π I₀(κ)).</summary>
    private sealed class VonMisesMixture(double[] weights, (double, double)[] means, (double, double)[] concentrations)
    {
        public double DensityLn(double a, double b)
        {
            double density = 0;
            for (int c = 0; c < weights.Length; c++)
            {
                density += weights[c] * VonMises(a, means[c].Item1, concentrations[c].Item1) * VonMises(b, means[c].Item2, concentrations[c].Item2);
            }

            return Math.Log(density);
        }

        public double[,] Sample(int count, Random random)
        {
            var x = new double[count, 2];
            for (int i = 0; i < count; i++)
            {
                double u = random.NextDouble();
                int c = 0;
                while (c + 1 < weights.Length && u >= weights[c])
                {
                    u -= weights[c++];
                }

                x[i, 0] = SampleVonMises(means[c].Item1, concentrations[c].Item1, random);
                x[i, 1] = SampleVonMises(means[c].Item2, concentrations[c].Item2, random);
            }

            return x;
        }

        private static double VonMises(double theta, double mean, double concentration)
            => Math.Exp(concentration * Math.Cos(theta - mean)) / (2 * Math.PI * SpecialFunctions.BesselI0(concentration));

        // Rejection from the uniform on the circle: accept with probability exp(κ(cos(θ − μ) − 1)) ≤ 1, which is exact.
        private static double SampleVonMises(double mean, double concentration, Random random)
        {
            while (true)
            {
                double theta = Math.PI * ((2 * random.NextDouble()) - 1);
                if (random.NextDouble() < Math.Exp(concentration * (Math.Cos(theta - mean) - 1)))
                {
                    return theta;
                }
            }
        }
    }
}
