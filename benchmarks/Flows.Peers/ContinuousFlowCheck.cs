using Flows.Benchmarks;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Numerics;
using Flows.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Flows.Peers;

/// <summary>
/// Checks, in double, that <see cref="TorchContinuousFlow"/> computes what Flows computes for the same continuous flow
/// (weights copied): the log-density by RK4 with the exact trace, the flow-matching loss and every parameter gradient on
/// Flows' own draws, and the maximum-likelihood loss, each to <see cref="Tolerance"/>. The maximum-likelihood gradients
/// differ by design (Flows: the adjoint system solved by RK4; torch: back-propagation through the RK4 steps), by
/// O(h⁴): <see cref="Run"/> shows the difference falling at least 8-fold when the steps double.
/// </summary>
internal static class ContinuousFlowCheck
{
    /// <summary>The largest deviation allowed on log p, the losses and the flow-matching gradients (relative to
    /// max(1, |value|)).</summary>
    public const double Tolerance = 1e-8;

    private const int Rows = 16;

    /// <summary>The deviations of one comparison: log p, flow-matching loss and gradients, maximum-likelihood loss and
    /// gradients (the last not held to <see cref="Tolerance"/>).</summary>
    public readonly record struct Deviations(double LogP, double MaxAbsLogP, double FlowMatchingLoss, double FlowMatchingGradient,
        double LikelihoodLoss, double LikelihoodGradient)
    {
        public bool WithinTolerance => LogP <= Tolerance && FlowMatchingLoss <= Tolerance && FlowMatchingGradient <= Tolerance && LikelihoodLoss <= Tolerance;
    }

    /// <summary>Compares both workloads' fields (moved off their start) at 8 and 16 RK4 steps and prints a table; 0
    /// when every deviation is within tolerance and the maximum-likelihood gradients converge at the scheme's order.</summary>
    public static int Run()
    {
        torch.set_num_threads(1);
        bool passed = true;
        Console.WriteLine($"TorchSharp {torch.__version__}; {Rows} rows; tolerance {Tolerance:g} on log p, losses and flow-matching gradients (relative to max(1, |value|))");
        Console.WriteLine("| workload | RK4 steps | max |log p| | max |Δ log p| | |Δ FM loss| | max rel. |Δ FM grad| | |Δ ML loss| | max rel. |Δ ML grad| (adjoint vs back-propagation) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (string workload in ContinuousFlowPeerBenchmarks<double>.Workloads)
        {
            double previous = double.NaN;
            foreach (int steps in (int[])[8, 16])
            {
                TransformedDistribution<double> flow = ContinuousFlowPeerBenchmarks<double>.CreateFlow<double>(workload, steps);
                Perturb(flow, new Random(7));
                double[] x = PeerWorkload.Data<double>(Rows, flow.Dimension, seed: 9);
                Deviations deviations = Compare(flow, x);
                Console.WriteLine(FormattableString.Invariant(
                    $"| {workload} | {steps} | {deviations.MaxAbsLogP:F3} | {deviations.LogP:E2} | {deviations.FlowMatchingLoss:E2} | {deviations.FlowMatchingGradient:E2} | {deviations.LikelihoodLoss:E2} | {deviations.LikelihoodGradient:E2} |"));
                passed &= deviations.WithinTolerance;
                if (steps == 16)
                {
                    // Both gradients approach the exact flow's at order 4: their difference must shrink with h.
                    bool converges = deviations.LikelihoodGradient <= Math.Max(previous / 8, 1e-9);
                    Console.WriteLine(FormattableString.Invariant(
                        $"  {workload}: ML gradient difference {previous:E2} -> {deviations.LikelihoodGradient:E2} ({previous / deviations.LikelihoodGradient:F1}x) when the steps double: {(converges ? "converges" : "DOES NOT CONVERGE")}"));
                    passed &= converges;
                }

                previous = deviations.LikelihoodGradient;
            }
        }

        Console.WriteLine(passed ? "PASSED" : "FAILED");
        return passed ? 0 : 1;
    }

    /// <summary>Throws when the torch copy of <paramref name="flow"/> disagrees with it beyond <see cref="Tolerance"/> on
    /// the first rows of <paramref name="data"/> (the benchmark's setup calls it before timing anything).</summary>
    public static void ThrowIfDifferent(TransformedDistribution<double> flow, double[] data)
    {
        Deviations deviations = Compare(flow, data.AsSpan(0, Rows * flow.Dimension).ToArray());
        if (!deviations.WithinTolerance)
        {
            throw new InvalidOperationException($"The torch continuous flow disagrees with Flows beyond {Tolerance:g}: {deviations}.");
        }
    }

    /// <summary>Copies the flow's field into torch and compares the two on <paramref name="x"/> (rows × d). Leaves the
    /// flow's parameters unchanged (gradients are overwritten).</summary>
    public static Deviations Compare(TransformedDistribution<double> flow, double[] x)
    {
        var continuous = (ContinuousFlow<double>)flow.Bijector;
        if (continuous.Options.Solver.Method != OdeMethod.RungeKutta4)
        {
            throw new ArgumentException("The check compares fixed-step RK4 solves.", nameof(flow));
        }

        int d = flow.Dimension;
        int rows = x.Length / d;
        using TorchContinuousFlow model = TorchContinuousFlow.From(continuous, ScalarType.Float64, continuous.Options.Solver.Steps);
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor xTensor = torch.tensor(x, [rows, d], ScalarType.Float64);

        // Log-density by RK4 with the exact trace.
        double[] flowsLogP = new double[rows];
        flow.DensityLn(x, flowsLogP);
        double[] torchLogP;
        using (torch.no_grad())
        {
            torchLogP = [.. model.LogProb(xTensor, createGraph: false).data<double>()];
        }

        double logP = MaxRelative(flowsLogP, torchLogP);

        // Flow matching on Flows' draws: the loss and every parameter gradient.
        var flowMatching = new FlowMatching<double>(flow, seed: 11);
        flowMatching.Draw(rows, default);
        double flowsLoss = new DataParallelGradient<double>(flow, flowMatching).Run(x, null, 0, rows, 1);
        double[][] flowsGradient = [.. flow.Parameters.Select(p => p.Gradients.ToArray())];
        Tensor z = torch.tensor(flowMatching.DrawnBase[..(rows * d)].ToArray(), [rows, d], ScalarType.Float64);
        Tensor t = torch.tensor(flowMatching.DrawnTimes[..rows].ToArray(), [rows, 1], ScalarType.Float64);
        (double torchLoss, double[][] torchGradient) = LossAndGradients(model, model.FlowMatchingLoss(xTensor, z, t));
        double flowMatchingLoss = Relative(flowsLoss, torchLoss);
        double flowMatchingGradient = MaxRelative(flowsGradient, torchGradient);

        // Maximum likelihood: mean negative log-likelihood, adjoint gradients against back-propagation through RK4.
        double flowsLikelihood = new DataParallelGradient<double>(flow).Run(x, null, 0, rows, 1);
        double[][] flowsLikelihoodGradient = [.. flow.Parameters.Select(p => p.Gradients.ToArray())];
        (double torchLikelihood, double[][] torchLikelihoodGradient) = LossAndGradients(model, -model.LogProb(xTensor, createGraph: true).mean());
        return new Deviations(logP, flowsLogP.Max(Math.Abs), flowMatchingLoss, flowMatchingGradient, Relative(flowsLikelihood, torchLikelihood),
            MaxRelative(flowsLikelihoodGradient, torchLikelihoodGradient));
    }

    // Moves every weight and bias off its start (the last layer starts at zero, which would make f ≡ 0): weights by
    // 0.5 N(0, 1)/√inputs, biases by 0.3 N(0, 1).
    public static void Perturb(TransformedDistribution<double> flow, Random random)
    {
        foreach (Autodiff.Parameter<double> p in flow.Parameters)
        {
            double scale = p.Rows > 1 && p.Columns > 1 ? 0.5 / Math.Sqrt(p.Columns) : 0.3;
            for (int i = 0; i < p.Values.Length; i++)
            {
                p.Values[i] += scale * Gaussian(random);
            }
        }
    }

    private static (double Loss, double[][] Gradients) LossAndGradients(TorchContinuousFlow model, Tensor loss)
    {
        foreach (TorchSharp.Modules.Parameter p in model.Parameters)
        {
            p.grad?.zero_();
        }

        loss.backward();
        return (loss.item<double>(), [.. model.Parameters.Select(p => p.grad!.data<double>().ToArray())]);
    }

    private static double Relative(double a, double b) => Math.Abs(a - b) / Math.Max(1, Math.Abs(a));

    private static double MaxRelative(double[] a, double[] b)
    {
        if (a.Length != b.Length)
        {
            return double.PositiveInfinity;
        }

        double worst = 0;
        for (int i = 0; i < a.Length; i++)
        {
            worst = Math.Max(worst, double.IsFinite(a[i]) && double.IsFinite(b[i]) ? Relative(a[i], b[i]) : double.PositiveInfinity);
        }

        return worst;
    }

    private static double MaxRelative(double[][] a, double[][] b)
        => a.Length != b.Length ? double.PositiveInfinity : a.Zip(b, MaxRelative).DefaultIfEmpty(0).Max();

    private static double Gaussian(Random random)
        => Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2.0 * Math.PI * random.NextDouble());
}
