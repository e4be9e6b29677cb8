using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Distributions;

// The shared door of the unconditional base distributions. Their array-level members run their tape-level ones on a
// tape of their own with recording off, one per call, so concurrent calls share nothing but the parameters they read.
internal static class BaseDistributions
{
    public static void DensityLn<T>(IDistribution<T> distribution, ReadOnlySpan<T> x, Span<T> destination, ReadOnlySpan<T> context)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = distribution.Dimension;
        int rows = Batch.RowCount(x.Length, d, nameof(x));
        Batch.CheckFinite(x, d, nameof(x), "densities");
        CheckNoContext(context.Length, "values", nameof(context));
        if (destination.Length != rows)
        {
            throw new ArgumentException($"destination has {destination.Length} elements but x has {rows} rows.", nameof(destination));
        }

        var tape = new Tape<T>(isRecording: false);
        distribution.DensityLn(tape, tape.Constant(x, rows, d)).Values.CopyTo(destination);
    }

    // Checks the arguments of an array-level Sample and returns the number of rows asked for.
    public static int SampleRows<T>(int dimension, Span<T> destination, Random random, ReadOnlySpan<T> context)
    {
        ArgumentNullException.ThrowIfNull(random);
        CheckNoContext(context.Length, "values", nameof(context));
        return Batch.RowCount(destination.Length, dimension, nameof(destination));
    }

    // An array-level Sample through the distribution's tape-level sampler, on a tape of its own with recording off.
    public static void Sample<T>(IDistribution<T> distribution, Span<T> destination, Random random, ReadOnlySpan<T> context)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = SampleRows(distribution.Dimension, destination, random, context);
        var tape = new Tape<T>(isRecording: false);
        distribution.SampleWithDensityLn(tape, rows, random).X.Values.CopyTo(destination);
    }

    // The checks of a tape-level SampleWithDensityLn of an unconditional base.
    public static void CheckSample<T>(Tape<T> tape, int count, Random random, Node<T>? context)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        CheckNoContext(context);
    }

    // O(1), as a bijector's checks: the data were checked at the entry point.
    public static void CheckBatch<T>(Tape<T> tape, Node<T> x, int dimension, Node<T>? context)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(x);
        if (x.Columns != dimension)
        {
            throw new ArgumentException($"x has {x.Columns} columns but the distribution has Dimension {dimension}.", nameof(x));
        }

        CheckNoContext(context);
    }

    public static void CheckNoContext<T>(Node<T>? context)
        where T : unmanaged, IFloatingPointIeee754<T>
        => CheckNoContext(context?.Columns ?? 0, "columns", nameof(context));

    private static void CheckNoContext(int size, string unit, string name)
    {
        if (size != 0)
        {
            throw new ArgumentException($"{name} has {size} {unit} but this distribution takes no context.", name);
        }
    }
}
