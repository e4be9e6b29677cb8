using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Persistence;
using Flows.Tests.Testing;

namespace Flows.Tests.Distributions;

/// <summary>The MAF preset's Householder option: learned orthogonal layers between its autoregressive layers.</summary>
public sealed class MafHouseholderTests
{
    [Fact]
    public void Create_PutsAHouseholderBetweenConsecutiveLayers_WithNaturalOrders()
    {
        var flow = MaskedAutoregressiveFlow.Create<double>(3, transforms: 3, hiddenFeatures: [8], gaussianStart: GaussianStart.None, householderReflections: 2);
        IReadOnlyList<IBijector<double>> parts = ((Chain<double>)flow.Bijector).Parts;
        Assert.Equal(["MaskedAutoregressive`1", "Householder`1", "MaskedAutoregressive`1", "Householder`1", "MaskedAutoregressive`1"], parts.Select(p => p.GetType().Name));
        Assert.All(parts.OfType<MaskedAutoregressive<double>>(), m => Assert.Equal([0, 1, 2], m.Conditioner.Order));
        Assert.All(parts.OfType<Householder<double>>(), h => Assert.Equal(2 * 3, h.Parameters[0].Values.Length));

        // The MADEs get the seeds they get without the option: the layers in the natural order there (0 and 2) start the same.
        var plain = MaskedAutoregressiveFlow.Create<double>(3, transforms: 3, hiddenFeatures: [8], gaussianStart: GaussianStart.None);
        MaskedAutoregressive<double>[] plainLayers = [.. ((Chain<double>)plain.Bijector).Parts.OfType<MaskedAutoregressive<double>>()];
        MaskedAutoregressive<double>[] layers = [.. parts.OfType<MaskedAutoregressive<double>>()];
        Assert.Equal(plainLayers[0].Parameters[0].Values, layers[0].Parameters[0].Values);
        Assert.Equal(plainLayers[2].Parameters[0].Values, layers[2].Parameters[0].Values);
    }

    [Fact]
    public void Create_ThrowsForNegativeReflections()
        => Assert.Equal("householderReflections",
            Assert.Throws<ArgumentOutOfRangeException>(() => MaskedAutoregressiveFlow.Create<double>(2, householderReflections: -1)).ParamName);

    // Volume-preserving rotations between the layers leave a density that integrates to 1 (midpoint sums on a grid).
    [Fact]
    public void Density_IntegratesToOne()
    {
        var flow = MaskedAutoregressiveFlow.Create<double>(2, transforms: 3, hiddenFeatures: [8], gaussianStart: GaussianStart.None, householderReflections: 2);
        var random = new Random(3);
        foreach (Parameter<double> parameter in flow.Parameters)
        {
            for (int k = 0; k < parameter.Values.Length; k++)
            {
                parameter.Values[k] = 0.3 * TestData.NextNormal(random);
            }
        }

        double[,] grid = TestData.MidpointGrid(300, 9, out double cellArea);
        Assert.Equal(1, flow.DensityLn(grid).Sum(Math.Exp) * cellArea, 1e-3);
    }

    [Fact]
    public void SaveLoad_GivesTheSameDensitiesBitForBit()
    {
        var flow = MaskedAutoregressiveFlow.Create<double>(3, transforms: 2, hiddenFeatures: [8], householderReflections: 3);
        double[,] data = TestData.StandardNormal(50, 3, seed: 2);
        flow.DensityLn(data); // the Gaussian start initializes from the first data it scores
        var stream = new MemoryStream();
        flow.Save(stream);
        stream.Position = 0;
        TransformedDistribution<double> loaded = FlowSerializer.Load<double>(stream);
        AssertClose.Bitwise(flow.DensityLn(data), loaded.DensityLn(data), "loaded");
    }
}
