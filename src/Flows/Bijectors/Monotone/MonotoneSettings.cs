namespace Flows.Bijectors;

/// <summary>The setting checks the transforms on <see cref="MonotoneOps"/> share.</summary>
internal static class MonotoneSettings
{
    public static void CheckBoundAndSlope(double tailBound, double minimumSlope)
    {
        if (!(tailBound > 0 && tailBound <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(tailBound), tailBound,
                "tailBound must be > 0 and at most 100: the maps are evaluated on [−B, B] (in powers of x up to B for the polynomials), whose rounding grows with B.");
        }

        if (!(minimumSlope > 0 && minimumSlope < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(minimumSlope), minimumSlope, "minimumSlope must lie in (0, 1).");
        }
    }
}
