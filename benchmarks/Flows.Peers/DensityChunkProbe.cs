using System.Diagnostics;
using Flows.Benchmarks;
using Flows.Distributions;
using TorchSharp;
using static TorchSharp.torch;

namespace Flows.Peers;

/// <summary>Times torch log-density of 65,536 points in one call and in chunks, to pick the faster for the benchmark.</summary>
internal static class DensityChunkProbe
{
    public static void Run(string workload)
    {
        TorchSharp.torch.set_num_threads(1);
        (int d, _, _, _) = FlowWorkload.Shape(workload);
        TransformedDistribution<double> flow = FlowWorkload.CreateFlow<double>(workload);
        using TorchFlow model = TorchFlow.From(flow, ScalarType.Float64);
        using Tensor data = TorchSharp.torch.tensor(PeerWorkload.Data<double>(FlowWorkload.EvaluationPoints, d, seed: 2), [FlowWorkload.EvaluationPoints, d], ScalarType.Float64);
        double[] densities = new double[FlowWorkload.EvaluationPoints];
        foreach (int chunk in new[] { 65_536, 16_384, 4_096, 1_024 })
        {
            var times = new List<double>();
            for (int repeat = 0; repeat < 4; repeat++)
            {
                var watch = Stopwatch.StartNew();
                using (TorchSharp.torch.no_grad())
                {
                    for (int start = 0; start < FlowWorkload.EvaluationPoints; start += chunk)
                    {
                        using DisposeScope scope = TorchSharp.torch.NewDisposeScope();
                        model.LogProb(data.narrow(0, start, chunk)).data<double>().CopyTo(densities, start, 0);
                    }
                }

                times.Add(watch.Elapsed.TotalMilliseconds);
            }

            times.Sort();
            Console.WriteLine($"{workload}: chunks of {chunk,6}: second fastest of 4 runs {times[1]:F1} ms, fastest {times[0]:F1} ms");
        }
    }
}
