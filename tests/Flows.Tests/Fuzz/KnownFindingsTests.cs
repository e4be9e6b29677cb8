using Flows.Distributions.Presets;
using Flows.Training;

namespace Flows.Tests.Fuzz;

/// <summary>
/// Findings of the fuzz suite (<see cref="PresetFuzzTests"/>) recorded in issue #12's report, pinned as tests that
/// failed until fixed.
/// </summary>
/// <remarks>The two density findings were made on the presets' plain chains, before the Gaussian start (a flow with one
/// scores a single row only once fitted), so they build that chain; <c>PresetTests</c> checks the same property with
/// every start.</remarks>
public sealed class KnownFindingsTests
{

    // Found by the fuzz suite: MAF<double>(dimension: 4, transforms: 2, hiddenFeatures: [8], seed: 825312927,
    // randomOrders: true) at (−1.89, 0.024, 111.5, double.MaxValue). The MADE's first layer overflows to +∞ and −∞ in
    // different hidden units, and a later sum of the two is NaN. The density of such a point underflows: −∞ is the answer.
    [Fact]
    public void DensityLn_OfAFiniteRowNearOverflow_IsMinusInfinity_NotNaN_Maf()
    {
        var flow = MaskedAutoregressiveFlow.Create<double>(dimension: 4, transforms: 2, hiddenFeatures: [8], randomOrders: true, seed: 825312927, gaussianStart: GaussianStart.None);

        double logDensity = flow.DensityLn(new[,] { { -1.8910518940037293, 0.02395074379786541, 111.52704718491134, double.MaxValue } })[0];

        Assert.Equal(double.NegativeInfinity, logDensity);
    }

    // Found by the fuzz suite: an NSF with tail bound 1e6 in float at (0.0068, −1e30): the coupling conditioner sees
    // −1e30, its outputs are of that size and the spline's arithmetic on a bound of 1e6 overflows float to NaN.
    [Fact]
    public void DensityLn_OfAHugeRowUnderAWideTailBound_IsMinusInfinity_NotNaN_NsfFloat()
    {
        var flow = NeuralSplineFlow.Create<float>(dimension: 2, transforms: 2, hiddenFeatures: [], tailBound: 1e6, coupling: true, seed: int.MaxValue, gaussianStart: GaussianStart.None);

        float logDensity = flow.DensityLn(new[,] { { 0.0067958934f, -1e30f } })[0];

        Assert.Equal(float.NegativeInfinity, logDensity);
    }

    // tailBound 1e300 is finite in double, but +∞ in float: every log-density of the float flow is NaN. In double, from
    // about 1e155 the spline's squares overflow (−∞ at 1e155, NaN from 1e200). The constructor should refuse such bounds.
    [Theory]
    [InlineData(1e300, true)]
    [InlineData(1e300, false)]
    [InlineData(1e200, false)]
    public void Create_RejectsATailBoundThatOverflowsTheElementType(double tailBound, bool inFloat)
    {
        ArgumentOutOfRangeException error = inFloat
            ? Assert.Throws<ArgumentOutOfRangeException>(nameof(tailBound), () => NeuralSplineFlow.Create<float>(dimension: 2, transforms: 1, tailBound: tailBound, seed: 1))
            : Assert.Throws<ArgumentOutOfRangeException>(nameof(tailBound), () => NeuralSplineFlow.Create<double>(dimension: 2, transforms: 1, tailBound: tailBound, seed: 1));

        // The message gives the largest value allowed for the element type.
        Assert.Contains(inFloat ? "at most 2.81E+14 for Single" : "at most 2.05E+149 for Double", error.Message, StringComparison.Ordinal);
    }

    // Found by the fuzz suite: ε = 1e-300 passes AdamOptions' check (> 0 in double) but is 0 in float; the first Adam
    // step then divides 0 by 0 where a gradient is 0, the step is thrown away, and Fit returns normally with BestEpoch 0
    // and BestLoss +∞ (the start is never scored). Either the setting is refused for float or the fit reports a finite loss.
    [Fact]
    public void Fit_InFloat_WithAnEpsilonThatRoundsToZero_RefusesItOrReportsAFiniteBestLoss()
    {
        var flow = RealNvpFlow.Create<float>(dimension: 3, transforms: 2, hiddenFeatures: [8], contextDimension: 2, seed: int.MaxValue);
        float[,] data = { { 0.3f, -1.2f, 0.8f }, { 1.1f, 0.4f, -0.5f } };
        float[,] context = { { 0.1f, 0.2f }, { -0.3f, 0.9f } };
        var options = new FitOptions { Epochs = 1, BatchSize = 3, ValidationFraction = 0, Optimizer = new AdamOptions { Epsilon = 1e-300 } };

        try
        {
            FitReport report = flow.Fit(data, context, options);
            Assert.True(double.IsFinite(report.BestLoss), $"{report}");
        }
        catch (ArgumentOutOfRangeException e)
        {
            Assert.Contains("Epsilon", e.Message, StringComparison.Ordinal);
        }
    }

    // Found by the fuzz suite on other seeds: a conditional NSF in float whose context holds −3.4e38. Conditioners take
    // the context without a soft clip, so their outputs overflow to ∞ of both signs and the spline's log-density is
    // NaN. A context is not a point whose density underflows, so −∞ is no answer here: a clear exception (or bounded
    // conditioner arithmetic) would be.
    [Fact]
    public void DensityLn_WithAContextNearOverflow_ThrowsNamingTheContextCell_NsfFloat()
    {
        var flow = NeuralSplineFlow.Create<float>(dimension: 3, transforms: 1, hiddenFeatures: [], coupling: true, contextDimension: 3, seed: 0);
        var x = new float[10, 3];
        var context = new float[10, 3];
        for (int i = 0; i < 10; i++)
        {
            (x[i, 0], x[i, 1], x[i, 2]) = (0.1f * i, -0.2f * i, 0.3f - (0.05f * i));
            (context[i, 0], context[i, 1], context[i, 2]) = (0.5f - (0.1f * i), 0.2f * i, -0.1f * i);
        }

        flow.DensityLn(x, context);
        context[0, 1] = -3.4028235e38f;

        var e = Assert.Throws<ArgumentException>("context", () => flow.DensityLn(x, context));
        Assert.Contains("context[0, 1]", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>("context", () => flow.Sample(10, new Random(1), context));
        Assert.Throws<ArgumentException>("context", () => flow.Given(TestContextRow(context, 0)));
        Assert.Throws<ArgumentException>("context", () => flow.Fit(x, context));
    }

    private static float[] TestContextRow(float[,] context, int row) => [.. Enumerable.Range(0, context.GetLength(1)).Select(j => context[row, j])];
}
