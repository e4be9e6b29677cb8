using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Numerics;
using Flows.Tests.Testing;
using Flows.Tests.Training;
using Flows.Training;

namespace Flows.Tests.Bijectors.Continuous;

/// <summary>
/// The maximum-likelihood (FFJORD) step of a continuous flow allocates nothing in the steady state: the solves' systems,
/// solvers and states, and the adjoint's, are buffers kept per tape. In the collection that runs alone, as the other
/// steady-state tests.
/// </summary>
[Collection(nameof(ParallelismBudgetRunsAlone))]
public sealed class ContinuousFlowAllocationTests
{
    private static TransformedDistribution<double> Create(OdeMethod method, bool hutchinson)
    {
        TransformedDistribution<double> flow = ContinuousNormalizingFlow.Create<double>(2, options: new ContinuousFlowOptions
        {
            HiddenFeatures = [8, 8],
            TimeFrequencies = 2,
            Solver = new OdeOptions { Method = method, Steps = 4 },
            ExactTraceMaxDimension = hutchinson ? 0 : 16,
        }, seed: 1);
        BijectorCases.Randomized(flow.Bijector, seed: 3, scale: 0.3);
        return flow;
    }

    [Theory]
    [InlineData(OdeMethod.DormandPrince54, false, 1)]
    [InlineData(OdeMethod.DormandPrince54, false, 2)]
    [InlineData(OdeMethod.RungeKutta4, false, 1)]
    [InlineData(OdeMethod.RungeKutta4, true, 1)]
    public void MaximumLikelihoodStep_InTheSteadyState_AllocatesNothingOnTheCallingThread(OdeMethod method, bool hutchinson, int degree)
    {
        TransformedDistribution<double> flow = Create(method, hutchinson);
        var gradient = new DataParallelGradient<double>(flow);
        double[] data = FlowMatchingStepTests.Data;
        // Two blocks (one with two rows), so that two tapes each keep their buffers.
        const int Rows = DataParallelGradient<double>.BlockRows + 2;

        // Warm-up: once on the calling thread alone (every block runs there), then at the degree measured until tiered
        // compilation has settled, as the other steady-state tests do (after 4 steps, a CI run saw 7,240 bytes once).
        gradient.Run(data, null, 0, Rows, 1);
        for (int i = 0; i < 30; i++)
        {
            gradient.Run(data, null, 0, Rows, degree);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++)
        {
            gradient.Run(data, null, 0, Rows, degree);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    // The buffers are shared by every solve on one tape: two solves of one flow recorded on the same tape (here the
    // inverse, then the forward of its output) must give the gradients of the same two solves on a tape each.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TwoSolvesOnOneTape_GiveTheGradientsOfSeparateTapes(bool hutchinson)
    {
        TransformedDistribution<double> flow = Create(OdeMethod.RungeKutta4, hutchinson);
        var bijector = (ContinuousFlow<double>)flow.Bijector;
        double[] x = FlowMatchingStepTests.Data.AsSpan(0, 2 * 20).ToArray();

        // One tape: z = T⁻¹(x), x' = T(z), loss Σ x'² + Σ (log-dets).
        var tape = new Tape<double>();
        (Node<double> z, Node<double> inverseLogDet) = bijector.Inverse(tape, tape.Constant(x, 20, 2));
        (Node<double> back, Node<double> forwardLogDet) = bijector.Forward(tape, z);
        Node<double> loss = tape.Add(tape.Sum(tape.Multiply(back, back)), tape.Add(tape.Sum(inverseLogDet), tape.Sum(tape.Multiply(forwardLogDet, forwardLogDet))));
        ZeroGradients(flow);
        tape.Backward(loss);
        double[][] shared = [.. flow.Parameters.Select(p => p.Gradients.ToArray())];

        // Two tapes: the inverse's output enters the second as a leaf whose gradient is carried back by hand.
        // The probes advance per call, so the separate run restarts them from the same seed by rebuilding the flow.
        TransformedDistribution<double> again = Create(OdeMethod.RungeKutta4, hutchinson);
        var second = (ContinuousFlow<double>)again.Bijector;
        var first = new Tape<double>();
        (Node<double> z1, Node<double> inverseLogDet1) = second.Inverse(first, first.Constant(x, 20, 2));
        var later = new Tape<double>();
        var zLeaf = new Parameter<double>("z", 20, 2);
        z1.Values.CopyTo(zLeaf.Values);
        (Node<double> back2, Node<double> forwardLogDet2) = second.Forward(later, later.Use(zLeaf));
        Node<double> loss2 = later.Add(later.Sum(later.Multiply(back2, back2)), later.Sum(later.Multiply(forwardLogDet2, forwardLogDet2)));
        ZeroGradients(again);
        later.Backward(loss2);
        // The first tape's loss: Σ inverse log-dets plus the carried gradient ⟨∂L/∂z, z⟩.
        Node<double> carried = first.Constant(zLeaf.Gradients, 20, 2);
        Node<double> loss1 = first.Add(first.Sum(inverseLogDet1), first.Sum(first.Multiply(z1, carried)));
        first.Backward(loss1);
        double[][] separate = [.. again.Parameters.Select(p => p.Gradients.ToArray())];

        for (int p = 0; p < shared.Length; p++)
        {
            AssertClose.All(separate[p], shared[p], 1e-12, because: flow.Parameters[p].Name);
        }
    }

    private static void ZeroGradients(TransformedDistribution<double> flow)
    {
        foreach (Parameter<double> p in flow.Parameters)
        {
            p.ZeroGradients();
        }
    }
}
