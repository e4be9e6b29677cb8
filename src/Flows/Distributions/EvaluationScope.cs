using System.Numerics;

namespace Flows.Distributions;

/// <summary>
/// The evaluation locks of a flow and of the flows nested in it, held from creation to <see cref="Dispose"/>: taken
/// outermost first and released in reverse, so that no two holders can deadlock.
/// </summary>
internal readonly struct EvaluationScope<T> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IReadOnlyList<TransformedDistribution<T>> _flows;
    private readonly Action? _beforeRelease;

    public EvaluationScope(IReadOnlyList<TransformedDistribution<T>> flows)
    {
        _flows = flows;
        for (int i = 0; i < flows.Count; i++)
        {
            flows[i].EvaluationLock.Enter();
        }
    }

    // Takes over a held scope and runs an action before releasing it.
    public EvaluationScope(EvaluationScope<T> held, Action beforeRelease)
    {
        _flows = held._flows;
        _beforeRelease = beforeRelease;
    }

    public void Dispose()
    {
        _beforeRelease?.Invoke();
        for (int i = _flows.Count - 1; i >= 0; i--)
        {
            _flows[i].EvaluationLock.Exit();
        }
    }
}
