using System.Numerics;
using Flows.Autodiff;

namespace Flows.Training;

/// <summary>A copy of a set of parameters' values, taken and put back in place without allocating after construction.</summary>
/// <typeparam name="T">The element type.</typeparam>
internal sealed class ParameterSnapshot<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IReadOnlyList<Parameter<T>> _parameters;
    private readonly T[][] _values;

    /// <summary>Takes a first snapshot of <paramref name="parameters"/>.</summary>
    public ParameterSnapshot(IReadOnlyList<Parameter<T>> parameters)
    {
        _parameters = parameters;
        _values = [.. parameters.Select(p => (T[])p.Values.Clone())];
    }

    /// <summary>Copies the parameters' current values into the snapshot.</summary>
    public void Take()
    {
        for (int i = 0; i < _parameters.Count; i++)
        {
            _parameters[i].Values.CopyTo(_values[i], 0);
        }
    }

    /// <summary>Copies the snapshot back into the parameters.</summary>
    public void Restore()
    {
        for (int i = 0; i < _parameters.Count; i++)
        {
            _values[i].CopyTo(_parameters[i].Values, 0);
        }
    }
}
