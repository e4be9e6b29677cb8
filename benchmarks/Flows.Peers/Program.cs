using BenchmarkDotNet.Running;
using Flows.Peers;

if (args is ["--check"])
{
    return EquivalenceCheck.Run();
}

if (args is ["--check-cnf"])
{
    return ContinuousFlowCheck.Run();
}

if (args is ["--density-chunks", ..])
{
    DensityChunkProbe.Run(args.Length > 1 ? args[1] : "MAF-8");
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
