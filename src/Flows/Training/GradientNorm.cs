using System.Numerics;
using System.Numerics.Tensors;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Training;

/// <summary>
/// The global norm of a fixed set of gradients, and clipping by it, on up to a given number of threads; a training loop
/// keeps one, so a step allocates nothing.
/// </summary>
/// <remarks>Each parameter is one item: its sum of squares, or its scaling. The sums are added in parameter order, so at
/// any degree the norm has the bits of <see cref="GradientClipping.GlobalNorm{T}"/> and the clipped gradients those of
/// <see cref="GradientClipping.ClipByGlobalNorm{T}"/>, which stay one-thread and allocation-free for custom loops.</remarks>
internal sealed class GradientNorm<T>(IReadOnlyList<Parameter<T>> parameters) : IParallelWork
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _squares = new T[parameters.Count];
    private T _factor;
    private bool _scaling;

    /// <summary>√(Σ over the parameters, in order, of the sum of their squared gradients).</summary>
    /// <param name="maxDegreeOfParallelism">Threads at most.</param>
    public T Compute(int maxDegreeOfParallelism)
    {
        _scaling = false;
        ParallelLoop.For(this, parameters.Count, maxDegreeOfParallelism);
        T sum = T.Zero;
        foreach (T square in _squares)
        {
            sum += square;
        }

        return T.Sqrt(sum);
    }

    /// <summary>Scales every gradient by <paramref name="maxNorm"/> / <paramref name="norm"/> when the norm is above the
    /// limit; leaves them as they are otherwise.</summary>
    /// <param name="maxNorm">The limit. Range: &gt; 0.</param>
    /// <param name="norm">The norm <see cref="Compute"/> gave for the gradients as they are now.</param>
    /// <param name="maxDegreeOfParallelism">Threads at most.</param>
    public void Clip(T maxNorm, T norm, int maxDegreeOfParallelism)
    {
        if (norm > maxNorm)
        {
            _factor = maxNorm / norm;
            _scaling = true;
            ParallelLoop.For(this, parameters.Count, maxDegreeOfParallelism);
        }
    }

    void IParallelWork.Run(int index, int worker)
    {
        T[] gradients = parameters[index].Gradients;
        if (_scaling)
        {
            TensorPrimitives.Multiply<T>(gradients, _factor, gradients);
        }
        else
        {
            _squares[index] = TensorPrimitives.SumOfSquares<T>(gradients);
        }
    }
}
