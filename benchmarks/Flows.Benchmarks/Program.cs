using BenchmarkDotNet.Running;
using Flows.Benchmarks;

if (args is ["--allocations"])
{
    AllocationCheck.Run();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
