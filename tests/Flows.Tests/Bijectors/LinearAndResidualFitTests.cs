using Flows.Bijectors;
using Flows.Distributions;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Bijectors;

/// <summary>Each of LULinear, ActNorm, BatchNorm and InvertibleResidual, trained inside a small flow, scores held-out
/// data with a log-density that integrates to 1 (midpoint rule on a grid holding all but ~1e-9 of the mass).</summary>
public sealed class LinearAndResidualFitTests
{
    public static TheoryData<string> Names => ["LULinear", "ActNorm", "BatchNorm", "InvertibleResidual"];

    [Theory]
    [MemberData(nameof(Names))]
    public void FittedFlow_ScoresHeldOutData_AndIntegratesToOne(string name)
    {
        IBijector<double> layer = name switch
        {
            "LULinear" => new LULinear<double>(2, 1),
            "ActNorm" => new ActNorm<double>(2),
            "BatchNorm" => new BatchNorm<double>(2),
            _ => new InvertibleResidual<double>(2, 8, coefficient: 0.9, seed: 2),
        };
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new Chain<double>(layer, new Affine<double>(2)));
        double[,] data = InvertibleResidualTests.Banana(1200, seed: 3);
        flow.Fit(data, new FitOptions { Epochs = 4, BatchSize = 100, ValidationFraction = 0.2, Optimizer = new AdamOptions { LearningRate = 0.01 } });
        if (layer is BatchNorm<double> batchNorm)
        {
            batchNorm.IsTraining = false;
        }

        double[] heldOut = flow.DensityLn(InvertibleResidualTests.Banana(200, seed: 4));
        AssertClose.Finite(heldOut, $"{name}: held-out log-densities");

        const double half = 9;
        const int cells = 300;
        const double h = 2 * half / cells;
        var grid = new double[cells * cells, 2];
        for (int i = 0; i < cells; i++)
        {
            for (int j = 0; j < cells; j++)
            {
                grid[(i * cells) + j, 0] = -half + ((i + 0.5) * h);
                grid[(i * cells) + j, 1] = -half + ((j + 0.5) * h);
            }
        }

        double integral = flow.DensityLn(grid).Sum(Math.Exp) * h * h;

        Assert.True(Math.Abs(integral - 1) <= 1e-3, $"{name}: ∫p = {integral:R}");
    }
}
