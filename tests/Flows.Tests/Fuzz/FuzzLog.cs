using System.Numerics;
using Flows.Autodiff;
using Flows.Persistence;

namespace Flows.Tests.Fuzz;

/// <summary>
/// Runs fuzz calls and records what is not allowed: an exception of a type the public API does not document, or a
/// result that is not finite. Findings are collected rather than thrown, so one run lists all of them.
/// </summary>
internal sealed class FuzzLog
{
    private readonly List<string> _findings = [];

    /// <summary>Calls made.</summary>
    public int Cases { get; private set; }

    /// <summary>Calls that threw a documented exception.</summary>
    public int Rejected { get; private set; }

    /// <summary>Calls that returned, by entry point: a fuzz that only ever hits rejections tests little.</summary>
    public Dictionary<string, int> Completed { get; } = [];

    /// <summary>What went wrong, one line per finding (at most 50 kept).</summary>
    public IReadOnlyList<string> Findings => _findings;

    /// <summary>The exception types the public API documents: the argument family, state errors, format errors,
    /// unsupported operations and cancellation.</summary>
    public static bool IsDocumented(Exception e) => e is ArgumentException or InvalidOperationException or FlowFormatException
        or NotSupportedException or OperationCanceledException;

    /// <summary>Runs <paramref name="call"/>; true when it returned, false when it threw a documented exception.</summary>
    /// <param name="entry">The entry point, for <see cref="Completed"/>.</param>
    /// <param name="what">The call and its inputs, for the finding.</param>
    /// <param name="call">The call.</param>
    /// <param name="allowed">The exceptions this call documents; null for <see cref="IsDocumented"/>.</param>
    public bool Try(string entry, string what, Action call, Func<Exception, bool>? allowed = null)
    {
        Cases++;
        try
        {
            call();
            Completed[entry] = Completed.GetValueOrDefault(entry) + 1;
            return true;
        }
        catch (Exception e) when ((allowed ?? IsDocumented)(e))
        {
            Rejected++;
            if (string.IsNullOrWhiteSpace(e.Message))
            {
                Add($"{what}: {e.GetType().Name} without a message");
            }

            return false;
        }
        catch (Exception e)
        {
            string frame = e.StackTrace?.Split('\n').FirstOrDefault()?.Trim() ?? "";
            Add($"{what}: undocumented {e.GetType().Name}: {e.Message} ({frame})");
            return false;
        }
    }

    /// <summary>Records a finding unless <paramref name="condition"/> holds.</summary>
    public void Require(bool condition, string finding)
    {
        if (!condition)
        {
            Add(finding);
        }
    }

    /// <summary>Records a finding for each non-finite value (the first only).</summary>
    public void RequireFinite<T>(ReadOnlySpan<T> values, string what) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!T.IsFinite(values[i]))
            {
                Add($"{what}: value {i} of {values.Length} is {values[i]}");
                return;
            }
        }
    }

    /// <summary>Records a finding when a parameter holds a non-finite value: a call, failed or not, must not corrupt the flow.</summary>
    public void RequireFiniteParameters<T>(IReadOnlyList<Parameter<T>> parameters, string what) where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (Parameter<T> parameter in parameters)
        {
            int bad = FirstNonFinite<T>(parameter.Values);
            if (bad >= 0)
            {
                Add($"{what}: parameter {parameter.Name}[{bad}] is {parameter.Values[bad]}");
                return;
            }
        }
    }

    private static int FirstNonFinite<T>(T[] values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!T.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private void Add(string finding)
    {
        if (_findings.Count < 50)
        {
            _findings.Add(finding);
        }
    }
}
