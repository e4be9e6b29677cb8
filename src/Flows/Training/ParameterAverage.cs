using System.Numerics;
using System.Numerics.Tensors;
using Flows.Autodiff;

namespace Flows.Training;

/// <summary>
/// An exponential moving average of a set of parameters, θ̄ ← θ̄ + (1 − β)(θ − θ̄) after each optimizer step, with
/// β = min(decay, (1 + k)/(10 + k)) at step k so that the average forgets its start quickly; and an exchange of the
/// average with the parameters' values, so that checks score the average. Allocates nothing after construction.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal sealed class ParameterAverage<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IReadOnlyList<Parameter<T>> _parameters;
    private readonly T[][] _average;
    private readonly double _decay;
    private int _updates;

    /// <summary>Starts the average at the parameters' current values.</summary>
    public ParameterAverage(IReadOnlyList<Parameter<T>> parameters, double decay)
    {
        _parameters = parameters;
        _decay = decay;
        _average = [.. parameters.Select(p => (T[])p.Values.Clone())];
    }

    /// <summary>Whether the parameters hold the average (between two <see cref="Exchange"/> calls).</summary>
    public bool IsExchanged { get; private set; }

    /// <summary>Moves the average towards the parameters' current values.</summary>
    public void Update()
    {
        double beta = Math.Min(_decay, (1.0 + _updates) / (10.0 + _updates));
        _updates++;
        T rate = T.CreateTruncating(1 - beta);
        for (int i = 0; i < _parameters.Count; i++)
        {
            TensorPrimitives.Lerp(_average[i], _parameters[i].Values, rate, _average[i]);
        }
    }

    /// <summary>Swaps the average and the parameters' values (a second call swaps them back).</summary>
    public void Exchange()
    {
        for (int i = 0; i < _parameters.Count; i++)
        {
            Span<T> values = _parameters[i].Values;
            Span<T> average = _average[i];
            for (int k = 0; k < values.Length; k++)
            {
                (values[k], average[k]) = (average[k], values[k]);
            }
        }

        IsExchanged = !IsExchanged;
    }
}
