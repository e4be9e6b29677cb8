using System.Numerics;

namespace Flows.Distributions;

/// <summary>
/// The evaluation locks of a flow and of the flows nested in it, held from creation to <see cref="Dispose"/>: taken
/// outermost first and released in reverse, so that no two holders can deadlock. Shared (read) scopes let evaluations
/// and saves run together; exclusive (write) scopes are for fits and for evaluations that change the flow (a
/// data-initialized layer's first data).
/// </summary>
internal readonly struct EvaluationScope<T> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IReadOnlyList<TransformedDistribution<T>> _flows;
    private readonly Action? _beforeRelease;
    private readonly bool _exclusive;

    public EvaluationScope(IReadOnlyList<TransformedDistribution<T>> flows, bool exclusive)
    {
        _flows = flows;
        _exclusive = exclusive;
        for (int i = 0; i < flows.Count; i++)
        {
            if (exclusive)
            {
                flows[i].EvaluationLock.EnterWriteLock();
            }
            else
            {
                flows[i].EvaluationLock.EnterReadLock();
            }
        }
    }

    // Takes over a held scope and runs an action before releasing it.
    public EvaluationScope(EvaluationScope<T> held, Action beforeRelease)
    {
        _flows = held._flows;
        _exclusive = held._exclusive;
        _beforeRelease = beforeRelease;
    }

    public void Dispose()
    {
        _beforeRelease?.Invoke();
        for (int i = _flows.Count - 1; i >= 0; i--)
        {
            if (_exclusive)
            {
                _flows[i].EvaluationLock.ExitWriteLock();
            }
            else
            {
                _flows[i].EvaluationLock.ExitReadLock();
            }
        }
    }
}
