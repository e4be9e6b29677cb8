using System.Numerics;
using Flows.Autodiff;

namespace Flows.Distributions;

/// <summary>A simple distribution a flow starts from, with a log-density and reparameterized sampling on a tape.</summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public interface IBaseDistribution<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Features per sample.</summary>
    int Dimension { get; }

    /// <summary>The trainable parameters (none for a standard normal).</summary>
    IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>The log-density of each row: n × Dimension → n × 1.</summary>
    Node<T> DensityLn(Tape<T> tape, Node<T> z);

    /// <summary>count × Dimension draws, differentiable in the parameters (reparameterized).</summary>
    Node<T> Sample(Tape<T> tape, int count, Random random);
}
