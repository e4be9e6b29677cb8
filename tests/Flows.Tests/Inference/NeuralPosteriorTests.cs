using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Inference;
using Flows.Tests.Testing;

namespace Flows.Tests.Inference;

public sealed class NeuralPosteriorTests
{
    private static readonly double[] Observation = [0.3];

    [Fact]
    public void Sample_WithABoundedPrior_KeepsOnlyDrawsInTheSupport_AndReportsTheAcceptanceRate()
    {
        // An unfitted plain MAF is exactly the standard normal, so U[−1, 1]² keeps (2Φ(1) − 1)² = 0.4661 of its draws.
        NeuralPosterior<double> posterior = new(StandardNormalFlow(), new UniformPrior<double>([-1.0, -1.0], [1.0, 1.0]));

        PosteriorSample<double> sample = posterior.Sample(20_000, Observation, new Random(1));

        Assert.Equal(20_000, sample.Draws.GetLength(0));
        Assert.All(TestData.Flatten(sample.Draws), v => Assert.InRange(v, -1.0, 1.0));
        double inside = Math.Pow(MathNet.Numerics.SpecialFunctions.Erf(1 / Math.Sqrt(2)), 2);
        Assert.Equal(inside, sample.AcceptanceRate, 0.01); // binomial standard error 0.0024 with ~43,000 proposals
        Assert.Equal(20_000.0 / sample.Proposals, sample.AcceptanceRate);
    }

    [Fact]
    public void Sample_ThrowsNamingTheRate_WhenTheSupportIsOutOfReach()
    {
        // P(θ ∈ [5, 6]²) ≈ 8e-14 under the standard normal: sampling must stop early and say why.
        NeuralPosterior<double> posterior = new(StandardNormalFlow(), new UniformPrior<double>([5.0, 5.0], [6.0, 6.0]));

        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => posterior.Sample(100, Observation, new Random(1)));

        Assert.Contains("acceptance rate 0,", e.Message, StringComparison.Ordinal);
        Assert.Contains("below the minimum 0.001", e.Message, StringComparison.Ordinal);
    }

    // Review finding: a hard budget of count / floor proposals made Sample(1, …) at twice the floor's acceptance rate fail
    // with probability e⁻² (13.5 %), although the rate is above the minimum it documents.
    [Fact]
    public void Sample_OfOneDrawAtTwiceTheMinimumRate_Succeeds()
    {
        // P(θ₁ ≥ 2.878) = 0.0020 under the standard normal, twice the default minimum of 0.001.
        NeuralPosterior<double> posterior = new(StandardNormalFlow(), new UniformPrior<double>([2.878, -10.0], [12.0, 10.0]));
        long proposals = 0;
        for (int seed = 0; seed < 200; seed++)
        {
            proposals += posterior.Sample(1, Observation, new Random(seed)).Proposals;
        }

        Assert.InRange(proposals / 200.0, 300, 800); // about 1 / 0.002 = 500 proposals a draw
    }

    [Fact]
    public void Sample_WithoutASupport_GivesTheFlowsDraws_BitForBit()
    {
        TransformedDistribution<double> flow = StandardNormalFlow();
        NeuralPosterior<double> posterior = new(flow, NormalPrior<double>.Isotropic(2, 1.0));

        PosteriorSample<double> sample = posterior.Sample(300, Observation, new Random(4));

        AssertClose.Bitwise(flow.Given(Observation).Sample(300, new Random(4)), sample.Draws);
        Assert.Equal(1.0, sample.AcceptanceRate);
    }

    [Fact]
    public void DensityLn_IsTheFlowsInsideTheSupport_AndMinusInfinityOutside()
    {
        TransformedDistribution<double> flow = StandardNormalFlow();
        NeuralPosterior<double> posterior = new(flow, new UniformPrior<double>([-1.0, -1.0], [1.0, 1.0]));
        double[,] theta = { { 0.5, -0.5 }, { 1.5, 0.0 }, { 0.0, -1.0 } };

        double[] logQ = posterior.DensityLn(theta, Observation);

        double[] expected = flow.Given(Observation).DensityLn(theta);
        Assert.Equal(expected[0], logQ[0]);
        Assert.Equal(double.NegativeInfinity, logQ[1]);
        Assert.Equal(expected[2], logQ[2]); // the boundary belongs to the box
    }

    [Fact]
    public void Sample_ThrowsForAnObservationOfTheWrongLength()
        => Assert.Throws<ArgumentException>("observation", () => new NeuralPosterior<double>(StandardNormalFlow()).Sample(5, [1.0, 2.0], new Random(1)));

    [Fact]
    public void Constructor_ThrowsForAnUnconditionalFlow()
        => Assert.Throws<ArgumentException>("flow", () => new NeuralPosterior<double>(MaskedAutoregressiveFlow.Create<double>(2)));

    [Fact]
    public void Constructor_ThrowsForAPriorOfAnotherDimension()
        => Assert.Throws<ArgumentException>("prior", () => new NeuralPosterior<double>(StandardNormalFlow(), NormalPrior<double>.Isotropic(3, 1.0)));

    [Fact]
    public void Constructor_ThrowsForAMinimumAcceptanceRateOutsideTheUnitInterval()
        => Assert.Throws<ArgumentOutOfRangeException>("minimumAcceptanceRate", () => new NeuralPosterior<double>(StandardNormalFlow(), minimumAcceptanceRate: 0));

    // Conditioners' last layers start at zero, so an unfitted plain MAF is the standard normal for every context.
    private static TransformedDistribution<double> StandardNormalFlow()
        => MaskedAutoregressiveFlow.Create<double>(2, transforms: 2, hiddenFeatures: [8], contextDimension: 1, seed: 1, gaussianStart: GaussianStart.None);
}
