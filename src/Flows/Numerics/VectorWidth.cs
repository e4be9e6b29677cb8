using System.Runtime.Intrinsics;

namespace Flows.Numerics;

/// <summary>
/// The vector width, in bits, at which the kernels that have several widths run: 512 where the hardware accelerates
/// <see cref="Vector512"/> (AVX-512), else 256 where it accelerates <see cref="Vector256"/> (AVX2), else 128.
/// </summary>
/// <remarks>
/// Chosen once at run time from what the JIT reports, so <c>DOTNET_EnableAVX512F=0</c> or
/// <c>DOTNET_PreferredVectorBitWidth=256</c> select the 256-bit kernels. Tests and benchmarks force a width on their own
/// thread with <see cref="Force"/>: a width the hardware lacks still runs (the JIT emulates <see cref="Vector512"/> in
/// software), slowly but with the same results, so every path is tested on every machine. The override is per thread so
/// that one test forcing a width never changes what tests running beside it compute.
/// </remarks>
internal static class VectorWidth
{
    /// <summary>The width the hardware runs best: 512, 256 or 128.</summary>
    public static readonly int Hardware = Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 128;

    [ThreadStatic]
    private static int t_forced;

    /// <summary>The width kernels called on this thread use: the forced one, if any, else <see cref="Hardware"/>.</summary>
    public static int Current => t_forced != 0 ? t_forced : Hardware;

    /// <summary>Forces <paramref name="bits"/> on this thread until the returned scope is disposed.</summary>
    /// <param name="bits">128, 256 or 512.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bits"/> is not 128, 256 or 512.</exception>
    public static Scope Force(int bits)
    {
        if (bits is not (128 or 256 or 512))
        {
            throw new ArgumentOutOfRangeException(nameof(bits), bits, "The vector width must be 128, 256 or 512 bits.");
        }

        int previous = t_forced;
        t_forced = bits;
        return new Scope(previous);
    }

    /// <summary>Restores the width forced before, when disposed.</summary>
    public readonly struct Scope(int previous) : IDisposable
    {
        /// <summary>Restores the previous width.</summary>
        public void Dispose() => t_forced = previous;
    }
}
