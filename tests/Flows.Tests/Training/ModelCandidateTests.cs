using Flows.Distributions;
using Flows.Tests.Distributions;
using Flows.Training;

namespace Flows.Tests.Training;

public sealed class ModelCandidateTests
{
    [Fact]
    public void GaussianMixtureFlow_JoinsCrossValidation_AndWinsOnSeparatedModes()
    {
        double[,] data = GaussianMixtureTests.FourClusters(600, seed: 5);
        var options = new FitOptions { Epochs = 3 };

        ModelSelectionReport<double> report = ModelSelection.CrossValidate(data,
            [ModelCandidate.Gaussian<double>(), ModelCandidate.StudentTFlow<double>(transforms: 1, options), ModelCandidate.GaussianMixtureFlow<double>(4, transforms: 1, options)],
            new ModelSelectionOptions { Folds = 3 });

        Assert.Equal("MAF+GMM4", report.Chosen.Name);
        Assert.True(((GaussianMixture<double>)report.Model!.BaseDistribution).IsInitialized);
        Assert.IsType<StudentT<double>>(ModelCandidate.StudentTFlow<double>(transforms: 1, options).Fit(data, seed: 1).BaseDistribution);
    }

    [Fact]
    public void MixtureOfFlows_JoinsCrossValidation_AndRefitsAMixtureOfItsComponentCount()
    {
        double[,] data = GaussianMixtureTests.FourClusters(300, seed: 7);

        ModelSelectionReport<double> report = ModelSelection.CrossValidate(data,
            [ModelCandidate.Gaussian<double>(), ModelCandidate.MixtureOfFlows<double>(3, transforms: 1, new FitOptions { Epochs = 2 })],
            new ModelSelectionOptions { Folds = 2, RefitBest = false });

        Assert.Equal("MAF×3", report.Scores[1].Name);
        Assert.True(double.IsFinite(report.Scores[1].MeanLogLikelihood));
        TransformedDistribution<double> model = ModelCandidate.MixtureOfFlows<double>(3, transforms: 1, new FitOptions { Epochs = 1 }).Fit(data, seed: 2);
        Assert.Equal(3, Assert.IsType<Mixture<double>>(model.BaseDistribution).Components.Count);
    }

    [Fact]
    public void GaussianMixtureFlow_ThrowsForNonPositiveComponentCount()
        => Assert.Throws<ArgumentOutOfRangeException>("componentCount", () => ModelCandidate.GaussianMixtureFlow<double>(0));
}
