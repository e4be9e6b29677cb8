using System.Numerics;

namespace Flows.Numerics;

/// <summary>Standard normal draws from a caller's <see cref="Random"/>.</summary>
internal static class Gaussian
{
    /// <summary>Fills <paramref name="destination"/> with independent N(0, 1) draws (Box–Muller, both outputs used).</summary>
    public static void Fill<T>(Span<T> destination, Random random) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < destination.Length; i += 2)
        {
            // 1 − NextDouble() lies in (0, 1], so the logarithm is finite.
            double radius = Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble()));
            (double sin, double cos) = Math.SinCos(2.0 * Math.PI * random.NextDouble());
            destination[i] = T.CreateTruncating(radius * cos);
            if (i + 1 < destination.Length)
            {
                destination[i + 1] = T.CreateTruncating(radius * sin);
            }
        }
    }
}
