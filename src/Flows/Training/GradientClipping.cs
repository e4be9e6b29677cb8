using System.Numerics;
using System.Numerics.Tensors;
using Flows.Autodiff;

namespace Flows.Training;

/// <summary>Gradient-norm clipping over a set of parameters.</summary>
public static class GradientClipping
{
    /// <summary>The Euclidean norm of all gradients taken together.</summary>
    /// <param name="parameters">The parameters.</param>
    public static T GlobalNorm<T>(IReadOnlyList<Parameter<T>> parameters) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(parameters);
        T sum = T.Zero;
        for (int i = 0; i < parameters.Count; i++)
        {
            sum += TensorPrimitives.SumOfSquares<T>(parameters[i].Gradients);
        }

        return T.Sqrt(sum);
    }

    /// <summary>Scales all gradients together so that their global norm is at most <paramref name="maxNorm"/>.</summary>
    /// <param name="parameters">The parameters.</param>
    /// <param name="maxNorm">The largest allowed norm. Range: &gt; 0.</param>
    /// <returns>The global norm before clipping.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is not positive.</exception>
    public static T ClipByGlobalNorm<T>(IReadOnlyList<Parameter<T>> parameters, T maxNorm) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!(maxNorm > T.Zero))
        {
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "maxNorm must be > 0.");
        }

        T norm = GlobalNorm(parameters);
        if (norm > maxNorm)
        {
            T factor = maxNorm / norm;
            for (int i = 0; i < parameters.Count; i++)
            {
                TensorPrimitives.Multiply<T>(parameters[i].Gradients, factor, parameters[i].Gradients);
            }
        }

        return norm;
    }
}
