using Flows.Autodiff;
using Flows.Benchmarks;
using Flows.Distributions;
using Flows.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flows.Peers;

/// <summary>
/// Checks, in double, that the TorchSharp model computes the same function as Flows: Flows' parameters (perturbed so
/// that no layer is near the identity) are copied into the torch model, then log-densities, sampling transforms,
/// training-step losses and gradients, the parameters and log-densities after three Adam steps on both sides, and the
/// log-densities with Flows' trained parameters copied again are compared. It passes when the masks agree and both
/// copied-parameter log-density deviations are within <see cref="Tolerance"/>.
/// </summary>
internal static class EquivalenceCheck
{
    private const int Points = 512;
    private const double Tolerance = 1e-10;

    public static int Run()
    {
        torch.set_num_threads(1);
        bool passed = true;
        Console.WriteLine($"TorchSharp {torch.__version__}; tolerance on max |Δ log p| {Tolerance:g}");
        Console.WriteLine("| workload | masks differ | max |log p| | max |Δ log p| | max |Δ x| (sampling map) | max |Δ loss| | max rel. |Δ grad| | after 3 Adam steps: max |Δ θ| | and max |Δ log p| | max |Δ log p|, Flows' trained θ copied |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (string workload in FlowWorkload.Names)
        {
            passed &= CheckWorkload(workload);
        }

        Console.WriteLine(passed ? "PASSED" : "FAILED");
        return passed ? 0 : 1;
    }

    private static bool CheckWorkload(string workload)
    {
        (int d, _, int batchSize, _) = FlowWorkload.Shape(workload);
        TransformedDistribution<double> flow = FlowWorkload.CreateFlow<double>(workload);
        // The MADE outputs of a MAF get smaller perturbations: five layers of scales e^{±O(1)} would give |log p| ~ 1e13.
        Perturb(flow, new Random(5), outputScale: workload.StartsWith("MAF", StringComparison.Ordinal) ? 0.3 : 1.0);
        using TorchFlow model = TorchFlow.From(flow, ScalarType.Float64);
        int maskMismatches = CountMaskMismatches(flow, model);

        // Held-out points, and the same points stretched by 2.5 so that many fall in the spline tails (|x| > B).
        double[] heldOut = PeerWorkload.Data<double>(Points / 2, d, seed: 4);
        double[] x = [.. heldOut, .. heldOut.Select(v => 2.5 * v)];
        double[] z = PeerWorkload.Data<double>(Points, d, seed: 6);
        double[] flowsLogP = new double[Points];
        flow.DensityLn(x, flowsLogP);
        double[] torchLogP = TorchLogProb(model, x, d);
        double logPDeviation = MaxAbsoluteDifference(flowsLogP, torchLogP);

        // The sampling direction on given base points: Flows' sequential forward pass against d torch MADE passes.
        var tape = new Tape<double>(isRecording: false);
        double[] flowsX = flow.Bijector.Forward(tape, tape.Constant(z, Points, d)).Output.Values.ToArray();
        double[] torchX;
        using (torch.no_grad())
        using (DisposeScope scope = torch.NewDisposeScope())
        {
            torchX = model.Transform(torch.tensor(z, [Points, d], ScalarType.Float64)).data<double>().ToArray();
        }

        double sampleDeviation = MaxAbsoluteDifference(flowsX, torchX);

        // One training step's loss and gradients, then three Adam steps on both sides.
        double[] data = PeerWorkload.Data<double>(FlowWorkload.EvaluationPoints, d, seed: 2);
        var adam = new Adam<double>(flow.Parameters);
        using optim.Optimizer torchAdam = optim.Adam(model.parameters(), lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8);
        double lossDeviation = 0;
        double gradientDeviation = 0;
        var trainingTape = new Tape<double>();
        for (int step = 0; step < 3; step++)
        {
            ReadOnlySpan<double> batch = data.AsSpan(step * batchSize * d, batchSize * d);
            trainingTape.Reset();
            Node<double> flowsLoss = trainingTape.Negate(trainingTape.Mean(flow.DensityLn(trainingTape, trainingTape.Constant(batch, batchSize, d))));
            adam.ZeroGradients();
            trainingTape.Backward(flowsLoss);
            using (DisposeScope scope = torch.NewDisposeScope())
            {
                Tensor torchLoss = -model.LogProb(torch.tensor(batch.ToArray(), [batchSize, d], ScalarType.Float64)).mean();
                torchAdam.zero_grad();
                torchLoss.backward();
                lossDeviation = Math.Max(lossDeviation, Math.Abs(flowsLoss.Values[0] - torchLoss.item<double>()));
                if (step == 0)
                {
                    IReadOnlyList<Parameter> torchParameters = model.OrderedParameters;
                    for (int i = 0; i < flow.Parameters.Count; i++)
                    {
                        double[] g = flow.Parameters[i].Gradients;
                        double[] torchG = torchParameters[i].grad!.data<double>().ToArray();
                        double scale = Math.Max(g.Max(Math.Abs), 1e-300);
                        gradientDeviation = Math.Max(gradientDeviation, MaxAbsoluteDifference(g, torchG) / scale);
                    }
                }
            }

            adam.Step();
            torchAdam.step();
        }

        double parameterDeviation = 0;
        for (int i = 0; i < flow.Parameters.Count; i++)
        {
            parameterDeviation = Math.Max(parameterDeviation, MaxAbsoluteDifference(flow.Parameters[i].Values, model.OrderedParameters[i].data<double>().ToArray()));
        }

        flow.DensityLn(x, flowsLogP);
        double trainedDeviation = MaxAbsoluteDifference(flowsLogP, TorchLogProb(model, x, d));
        // Adam divides by √v̂ + ε, so a gradient near ε = 1e-8 turns a rounding difference of 1e-14 into a step difference of
        // 1e-9: the trajectories part at that level. The same trained parameters copied again must agree as before.
        double recopiedDeviation;
        using (TorchFlow recopied = TorchFlow.From(flow, ScalarType.Float64))
        {
            recopiedDeviation = MaxAbsoluteDifference(flowsLogP, TorchLogProb(recopied, x, d));
        }

        double largest = flowsLogP.Max(Math.Abs);
        Console.WriteLine($"| {workload} | {maskMismatches} | {largest:F1} | {logPDeviation:E2} | {sampleDeviation:E2} | {lossDeviation:E2} | {gradientDeviation:E2} | {parameterDeviation:E2} | {trainedDeviation:E2} | {recopiedDeviation:E2} |");
        return maskMismatches == 0 && logPDeviation <= Tolerance && recopiedDeviation <= Tolerance;
    }

    private static double[] TorchLogProb(TorchFlow model, double[] x, int d)
    {
        using (torch.no_grad())
        using (DisposeScope scope = torch.NewDisposeScope())
        {
            return model.LogProb(torch.tensor(x, [x.Length / d, d], ScalarType.Float64)).data<double>().ToArray();
        }
    }

    // Weights that are not masked get N(0, 1)/√inputs added, biases N(0, 1): every layer, the MADE outputs included,
    // then carries O(1) parameters, so the splines use all their bins and the affine scales are far from 1.
    private static void Perturb(TransformedDistribution<double> flow, Random random, double outputScale)
    {
        foreach (Parameter<double> parameter in flow.Parameters)
        {
            bool weight = parameter.Name.EndsWith(".weight", StringComparison.Ordinal);
            bool output = parameter.Name.Contains(".layer2.", StringComparison.Ordinal);
            double scale = (output ? outputScale : 1) * (weight ? 1 / Math.Sqrt(parameter.Columns) : 1);
            for (int i = 0; i < parameter.Values.Length; i++)
            {
                if (!weight || parameter.Values[i] != 0)
                {
                    parameter.Values[i] += scale * Normal(random);
                }
            }
        }
    }

    // Flows multiplies its initial weights by the mask, so its nonzero pattern is its mask (the draws are nonzero almost
    // surely); the torch masks were built independently and must match it exactly.
    private static int CountMaskMismatches(TransformedDistribution<double> flow, TorchFlow model)
    {
        MaskedLinear[] linears = [.. model.Layers.SelectMany(l => l.Made.Layers)];
        int mismatches = 0;
        for (int l = 0; l < linears.Length; l++)
        {
            double[] weights = flow.Parameters[2 * l].Values;
            double[] mask = linears[l].Mask.data<double>().ToArray();
            for (int i = 0; i < weights.Length; i++)
            {
                mismatches += (weights[i] != 0) == (mask[i] != 0) ? 0 : 1;
            }
        }

        return mismatches;
    }

    private static double MaxAbsoluteDifference(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            max = Math.Max(max, Math.Abs(a[i] - b[i]));
        }

        return double.IsNaN(max) ? double.PositiveInfinity : max;
    }

    private static double Normal(Random random)
        => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
