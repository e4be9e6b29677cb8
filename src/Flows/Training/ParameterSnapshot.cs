using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;

namespace Flows.Training;

/// <summary>
/// A copy of a set of parameters' values, and of the running statistics of BatchNorm layers, taken and put back in
/// place without allocating after construction.
/// </summary>
/// <remarks>
/// Validation scores BatchNorm with its running statistics, so they belong to the model a check scored: restoring the
/// parameters of a check without them would give a model that scores differently from the loss that chose it.
/// </remarks>
/// <typeparam name="T">The element type.</typeparam>
internal sealed class ParameterSnapshot<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IReadOnlyList<Parameter<T>> _parameters;
    private readonly T[][] _values;
    private readonly BatchNorm<T>[] _batchNorms;
    private readonly T[][] _statistics;

    /// <summary>Takes a first snapshot of <paramref name="parameters"/> and of the running statistics of <paramref name="batchNorms"/>.</summary>
    public ParameterSnapshot(IReadOnlyList<Parameter<T>> parameters, IEnumerable<BatchNorm<T>>? batchNorms = null)
    {
        _parameters = parameters;
        _values = [.. parameters.Select(p => (T[])p.Values.Clone())];
        _batchNorms = [.. batchNorms ?? []];
        _statistics = [.. _batchNorms.Select(b => new T[2 * b.Dimension])];
        Take();
    }

    /// <summary>Copies the current values into the snapshot.</summary>
    public void Take()
    {
        for (int i = 0; i < _parameters.Count; i++)
        {
            _parameters[i].Values.CopyTo(_values[i], 0);
        }

        for (int k = 0; k < _batchNorms.Length; k++)
        {
            int d = _batchNorms[k].Dimension;
            _batchNorms[k].RunningMean.CopyTo(_statistics[k].AsSpan(0, d));
            _batchNorms[k].RunningVariance.CopyTo(_statistics[k].AsSpan(d, d));
        }
    }

    /// <summary>Copies the snapshot back.</summary>
    public void Restore()
    {
        for (int i = 0; i < _parameters.Count; i++)
        {
            _values[i].CopyTo(_parameters[i].Values, 0);
        }

        for (int k = 0; k < _batchNorms.Length; k++)
        {
            int d = _batchNorms[k].Dimension;
            _statistics[k].AsSpan(0, d).CopyTo(_batchNorms[k].RunningMean);
            _statistics[k].AsSpan(d, d).CopyTo(_batchNorms[k].RunningVariance);
        }
    }
}
