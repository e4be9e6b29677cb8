using Flows.Distributions.Presets;
using Flows.Distributions;
using Flows.Training;

namespace Flows.Tests.Training;

public sealed class RobustnessTests
{
    public static TheoryData<string> Flows => ["MAF", "NSF"];

    // 2,000 Adam steps on heavy-tailed, unstandardized data (Student-t with ν = 2, values in the hundreds and beyond):
    // Fit throws on the first non-finite loss or gradient, so finishing is the property.
    [Theory]
    [MemberData(nameof(Flows))]
    public void Fit_OnStudentTData_RunsTwoThousandStepsWithoutANonFiniteLossOrGradient(string kind)
    {
        var random = new Random(21);
        var data = new double[10_000, 2];
        for (int i = 0; i < 10_000; i++)
        {
            for (int j = 0; j < 2; j++)
            {
                double z = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                data[i, j] = z / Math.Sqrt(-Math.Log(1 - random.NextDouble())); // χ²₂/2 = −log U
            }
        }

        Assert.True(data.Cast<double>().Max(Math.Abs) > 100, "the data should be heavy-tailed");
        TransformedDistribution<double> flow = kind == "MAF"
            ? MaskedAutoregressiveFlow.Create<double>(2, transforms: 3, hiddenFeatures: [16, 16], seed: 1)
            : NeuralSplineFlow.Create<double>(2, transforms: 3, hiddenFeatures: [16, 16], seed: 1);

        FitReport report = flow.Fit(data, new FitOptions { Epochs = 50, BatchSize = 225, ValidationFraction = 0.1, Patience = 1000, Seed = 3 });

        Assert.Equal(50, report.History.Count); // 40 batches of 225 per epoch: 2,000 steps
        Assert.All(report.History, r => Assert.True(double.IsFinite(r.TrainLoss) && double.IsFinite(r.ValidationLoss!.Value)));
    }
}
