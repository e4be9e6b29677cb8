namespace Flows.Tests.Testing;

/// <summary>Random seeds derived from a test case's parameters, the same in every process.</summary>
/// <remarks>Not <see cref="HashCode.Combine{T1, T2}"/>: it is randomized per process, so a test seeded by it draws
/// different data on every run and a data-dependent assertion becomes flaky.</remarks>
internal static class Seeds
{
    /// <summary>A seed from the parts, in order (FNV-1a over their values).</summary>
    public static int Of(params object[] parts)
    {
        unchecked
        {
            uint hash = 2166136261;
            foreach (object part in parts)
            {
                long value = part switch
                {
                    bool b => b ? 1 : 0,
                    double x => BitConverter.DoubleToInt64Bits(x),
                    float x => BitConverter.SingleToInt32Bits(x),
                    string text => Of([.. text.Select(ch => (object)(int)ch)]),
                    Type type => type == typeof(double) ? 8 : type == typeof(float) ? 4 : type.Name.Length,
                    Enum e => Convert.ToInt64(e, System.Globalization.CultureInfo.InvariantCulture),
                    IConvertible c => c.ToInt64(System.Globalization.CultureInfo.InvariantCulture),
                    _ => throw new ArgumentException($"Cannot seed from a {part.GetType().Name}.", nameof(parts)),
                };
                for (int shift = 0; shift < 64; shift += 8)
                {
                    hash = (hash ^ (byte)(value >> shift)) * 16777619;
                }
            }

            return (int)(hash & int.MaxValue);
        }
    }
}
