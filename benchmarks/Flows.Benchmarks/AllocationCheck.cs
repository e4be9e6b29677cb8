using System.Numerics;

namespace Flows.Benchmarks;

/// <summary>
/// An exact, single-thread count of the bytes the measured paths allocate after warm-up, as a companion to the
/// MemoryDiagnoser column (which counts every thread of the process, so runtime background work such as tiered
/// compilation can show up as a few bytes per operation). Run with <c>-- --allocations</c>.
/// </summary>
internal static class AllocationCheck
{
    public static void Run()
    {
        Console.WriteLine("| Type | Flow | Path | Operations | Bytes allocated on this thread |");
        Console.WriteLine("|---|---|---|---:|---:|");
        Measure<double>();
        Measure<float>();
    }

    private static void Measure<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (FlowKind flow in Enum.GetValues<FlowKind>())
        {
            var benchmarks = new TrainingStepBenchmarks<T> { Flow = flow };
            benchmarks.Setup();
            Report<T>(flow, "TrainingStep", 1000, () => benchmarks.TrainingStep());
            Report<T>(flow, "ParallelTrainingStep", 1000, () => benchmarks.ParallelTrainingStep());
            Report<T>(flow, "DensityLnSpan", 5, () => benchmarks.DensityLnSpan());
            Report<T>(flow, "SampleSpan", 5, () => benchmarks.SampleSpan());
        }
    }

    private static void Report<T>(FlowKind flow, string path, int operations, Action operation)
    {
        for (int i = 0; i < 50 && i < operations; i++)
        {
            operation();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < operations; i++)
        {
            operation();
        }

        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Console.WriteLine($"| {typeof(T).Name} | {flow} | {path} | {operations} | {bytes} |");
    }
}
