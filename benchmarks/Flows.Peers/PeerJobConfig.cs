using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Flows.Peers;

/// <summary>
/// Warm-up 3, 10 iterations, in process: BenchmarkDotNet's child process is built from a generated project that copies
/// TorchSharp's native library straight from the NuGet cache, unpatched, and it cannot load on Debian 12 (see
/// native/patch-libtorchsharp.sh); this process loads the patched copy from the build output.
/// </summary>
public sealed class PeerJobConfig : ManualConfig
{
    public PeerJobConfig()
        => AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(10).WithToolchain(InProcessEmitToolchain.Instance).WithId("InProcess"));
}
