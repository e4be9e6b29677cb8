using Flows.Autodiff;
using Flows.Benchmarks;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Neural;
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
/// copied-parameter log-density deviations are within <see cref="Tolerance"/>, or within <see cref="SensitivityFactor"/>
/// times what a one-ulp nudge of the inputs does to Flows' log p where that is larger (the trained flow's nudge for the
/// trained parameters), and every log p is finite. The opt-in workloads (SOSPF-8) are checked too.
/// </summary>
internal static class EquivalenceCheck
{
    private const int Points = 512;
    private const double Tolerance = 1e-10;

    // Rounding moves log p by about its change under a one-ulp nudge of the inputs (for CNSF-8, whose 32 context
    // features feed every output, 7e-11 in one run), a wrong mask or formula by O(1): the tolerance is the larger of
    // Tolerance and this factor times that change.
    private const double SensitivityFactor = 10;

    // A SOSPF's MADE outputs are its polynomials' coefficients, and the cubic's one multiplies B³ = 125 inside qᵢ(B): at the
    // MAF's 0.3 the five layers stretch the stretched held-out points to |log p| ~ 1e36, at 0.01 to ~1e11 after three
    // Adam steps, still finite everywhere.
    private const double SumOfSquaresOutputScale = 0.01;

    public static int Run()
    {
        torch.set_num_threads(1);
        bool passed = true;
        Console.WriteLine($"TorchSharp {torch.__version__}; tolerance on max |Δ log p| the larger of {Tolerance:g} and {SensitivityFactor} × its change from a one-ulp nudge of the inputs");
        Console.WriteLine("| workload | masks differ | max |log p| | max |Δ log p| from one ulp | max |Δ log p| | max |Δ x| (sampling map) | max |Δ loss| | max rel. |Δ grad| | after 3 Adam steps: max |Δ θ| | and max |Δ log p| | max |Δ log p|, Flows' trained θ copied |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (string workload in FlowWorkload.Names.Concat(FlowWorkload.OptInNames))
        {
            passed &= CheckWorkload(workload);
        }

        Console.WriteLine(passed ? "PASSED" : "FAILED");
        return passed ? 0 : 1;
    }

    private static bool CheckWorkload(string workload)
    {
        (int d, _, int batchSize, _) = FlowWorkload.Shape(workload);
        int c = FlowWorkload.ContextFeatures(workload);
        TransformedDistribution<double> flow = FlowWorkload.CreateFlow<double>(workload);
        // The MADE outputs of a MAF get smaller perturbations: five layers of scales e^{±O(1)} would give |log p| ~ 1e13. A
        // SOSPF's get smaller ones still: coefficients of O(1) in its degree-7 polynomials stretch [−5, 5] by ~5⁷ per layer.
        Perturb(flow, new Random(5), outputScale: workload switch
        {
            _ when workload.StartsWith("MAF", StringComparison.Ordinal) => 0.3,
            _ when workload.StartsWith("SOSPF", StringComparison.Ordinal) => SumOfSquaresOutputScale,
            _ => 1.0,
        });
        using TorchFlow model = TorchFlow.From(flow, ScalarType.Float64);
        int maskMismatches = CountMaskMismatches(flow, model);

        // Held-out points, and the same points stretched by 2.5 so that many fall in the spline tails (|x| > B), each
        // with a context row (an empty one for an unconditional workload).
        double[] heldOut = PeerWorkload.Data<double>(Points / 2, d, seed: 4);
        double[] x = [.. heldOut, .. heldOut.Select(v => 2.5 * v)];
        double[] context = PeerWorkload.Data<double>(Points, c, seed: 8);
        double[] z = PeerWorkload.Data<double>(Points, d, seed: 6);
        double[] flowsLogP = new double[Points];
        flow.DensityLn(x, flowsLogP, context);
        double[] torchLogP = TorchLogProb(model, x, d, context);
        double logPDeviation = MaxAbsoluteDifference(flowsLogP, torchLogP);
        // How far rounding alone can move log p: every input and context value moved up by one ulp.
        double[] nudgedLogP = new double[Points];
        flow.DensityLn([.. x.Select(Math.BitIncrement)], nudgedLogP, [.. context.Select(Math.BitIncrement)]);
        double sensitivity = MaxAbsoluteDifference(flowsLogP, nudgedLogP);
        double tolerance = Math.Max(Tolerance, SensitivityFactor * sensitivity);

        // The sampling direction on given base points: Flows' sequential forward pass against d torch MADE passes.
        var tape = new Tape<double>(isRecording: false);
        double[] flowsX = flow.Bijector.Forward(tape, tape.Constant(z, Points, d), c == 0 ? null : tape.Constant(context, Points, c)).Output.Values.ToArray();
        double[] torchX;
        using (torch.no_grad())
        using (DisposeScope scope = torch.NewDisposeScope())
        {
            torchX = model.Transform(torch.tensor(z, [Points, d], ScalarType.Float64), TorchContext(context, c)).data<double>().ToArray();
        }

        double sampleDeviation = MaxAbsoluteDifference(flowsX, torchX);

        // One training step's loss and gradients, then three Adam steps on both sides.
        double[] data = PeerWorkload.Data<double>(FlowWorkload.EvaluationPoints, d, seed: 2);
        double[] trainingContext = PeerWorkload.Data<double>(FlowWorkload.EvaluationPoints, c, seed: 7);
        var adam = new Adam<double>(flow.Parameters);
        using optim.Optimizer torchAdam = optim.Adam(model.parameters(), lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8);
        double lossDeviation = 0;
        double gradientDeviation = 0;
        var trainingTape = new Tape<double>();
        for (int step = 0; step < 3; step++)
        {
            ReadOnlySpan<double> batch = data.AsSpan(step * batchSize * d, batchSize * d);
            double[] batchContext = trainingContext.AsSpan(step * batchSize * c, batchSize * c).ToArray();
            trainingTape.Reset();
            Node<double> flowsLoss = trainingTape.Negate(trainingTape.Mean(flow.DensityLn(trainingTape, trainingTape.Constant(batch, batchSize, d),
                c == 0 ? null : trainingTape.Constant(batchContext, batchSize, c))));
            adam.ZeroGradients();
            trainingTape.Backward(flowsLoss);
            using (DisposeScope scope = torch.NewDisposeScope())
            {
                Tensor torchLoss = -model.LogProb(torch.tensor(batch.ToArray(), [batchSize, d], ScalarType.Float64), TorchContext(batchContext, c)).mean();
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

        flow.DensityLn(x, flowsLogP, context);
        double trainedDeviation = MaxAbsoluteDifference(flowsLogP, TorchLogProb(model, x, d, context));
        // Adam divides by √v̂ + ε, so a gradient near ε = 1e-8 turns a rounding difference of 1e-14 into a step difference of
        // 1e-9: the trajectories part at that level. The same trained parameters copied again must agree as before.
        double recopiedDeviation;
        using (TorchFlow recopied = TorchFlow.From(flow, ScalarType.Float64))
        {
            recopiedDeviation = MaxAbsoluteDifference(flowsLogP, TorchLogProb(recopied, x, d, context));
        }

        // Training can move log p's scale (a SOSPF's polynomials stretch far points by 1e5 more after three steps): the
        // copied trained parameters are judged by the same rule against a one-ulp nudge of the trained flow.
        flow.DensityLn([.. x.Select(Math.BitIncrement)], nudgedLogP, [.. context.Select(Math.BitIncrement)]);
        double trainedTolerance = Math.Max(tolerance, SensitivityFactor * MaxAbsoluteDifference(flowsLogP, nudgedLogP));

        double largest = flowsLogP.Max(Math.Abs);
        Console.WriteLine($"| {workload} | {maskMismatches} | {largest:F1} | {sensitivity:E2} | {logPDeviation:E2} | {sampleDeviation:E2} | {lossDeviation:E2} | {gradientDeviation:E2} | {parameterDeviation:E2} | {trainedDeviation:E2} | {recopiedDeviation:E2} |");
        // Finite everywhere, too: an infinite log p would make every deviation and tolerance infinite and pass.
        return maskMismatches == 0 && double.IsFinite(largest) && logPDeviation <= tolerance && recopiedDeviation <= trainedTolerance;
    }

    private static double[] TorchLogProb(TorchFlow model, double[] x, int d, double[] context)
    {
        using (torch.no_grad())
        using (DisposeScope scope = torch.NewDisposeScope())
        {
            return model.LogProb(torch.tensor(x, [x.Length / d, d], ScalarType.Float64), TorchContext(context, context.Length / (x.Length / d)))
                .data<double>().ToArray();
        }
    }

    // The context as an n × c tensor, or null without one.
    private static Tensor? TorchContext(double[] context, int c)
        => c == 0 ? null : torch.tensor(context, [context.Length / c, c], ScalarType.Float64);

    // Flows' masked layers, layer by layer, each MADE's input side first.
    private static IEnumerable<Linear<double>> MaskedLayers(TransformedDistribution<double> flow)
        => ((Chain<double>)flow.Bijector).Parts.Cast<MaskedAutoregressive<double>>().SelectMany(layer => layer.Conditioner.Layers);

    // Weights that are not masked get N(0, 1)/√inputs added, biases N(0, 1): every layer, the MADE outputs (zero at the
    // start) included, then carries O(1) parameters, so the splines use all their bins and the affine scales are far from 1.
    private static void Perturb(TransformedDistribution<double> flow, Random random, double outputScale)
    {
        // Biases and the context's weights have no mask.
        Dictionary<Parameter<double>, double[]> masks = MaskedLayers(flow).ToDictionary(linear => linear.Weight, linear => linear.Mask.ToArray());
        foreach (Parameter<double> parameter in flow.Parameters)
        {
            bool weight = parameter.Name.EndsWith(".weight", StringComparison.Ordinal);
            bool output = parameter.Name.Contains(".layer2.", StringComparison.Ordinal) || parameter.Name.Contains("contextToOutput", StringComparison.Ordinal);
            double scale = (output ? outputScale : 1) * (weight ? 1 / Math.Sqrt(parameter.Columns) : 1);
            double[]? mask = masks.GetValueOrDefault(parameter);
            for (int i = 0; i < parameter.Values.Length; i++)
            {
                if (mask is null || mask[i] != 0)
                {
                    parameter.Values[i] += scale * Normal(random);
                }
            }
        }
    }

    // The torch masks were built independently and must match Flows' exactly.
    private static int CountMaskMismatches(TransformedDistribution<double> flow, TorchFlow model)
    {
        double[][] flowsMasks = [.. MaskedLayers(flow).Select(linear => linear.Mask.ToArray())];
        MaskedLinear[] linears = [.. model.Layers.SelectMany(l => l.Made.Layers)];
        int mismatches = 0;
        for (int l = 0; l < linears.Length; l++)
        {
            double[] mask = linears[l].Mask.data<double>().ToArray();
            for (int i = 0; i < mask.Length; i++)
            {
                mismatches += flowsMasks[l][i] == mask[i] ? 0 : 1;
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
