using System.Numerics;

namespace Flows.Autodiff;

/// <summary>A trainable rows × columns array of values with a gradient buffer of the same shape.</summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Parameter<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates a zero-initialized parameter.</summary>
    /// <param name="name">A dotted path naming it within its owner, such as <c>"logScale"</c>.</param>
    /// <param name="rows">Rows. Range: &gt; 0.</param>
    /// <param name="columns">Columns. Range: &gt; 0.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive dimension.</exception>
    public Parameter(string name, int rows, int columns)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        Name = name;
        Rows = rows;
        Columns = columns;
        Values = new T[rows * columns];
        Gradients = new T[rows * columns];
        Node = new Node<T>(Values, Gradients, rows, columns, isParameter: true);
    }

    /// <summary>The name, a dotted path within its owner.</summary>
    public string Name { get; }

    /// <summary>Rows.</summary>
    public int Rows { get; }

    /// <summary>Columns.</summary>
    public int Columns { get; }

    /// <summary>The unconstrained values, row-major. Writable: optimizers and loaders update them in place.</summary>
    public T[] Values { get; }

    /// <summary>The accumulated gradient of the loss with respect to <see cref="Values"/>.</summary>
    public T[] Gradients { get; }

    /// <summary>
    /// Whether decoupled weight decay (<c>AdamOptions.WeightDecay</c>) leaves this parameter alone. Default false. Set for
    /// parameters whose zero is not a neutral value to shrink towards: the shift and scale of a data-initialized layer
    /// (<c>ActNorm</c>, a <c>LowerTriangularAffine</c> built with <c>initializeFromData</c>), where decay would pull
    /// the flow from the data's Gaussian back towards the standard normal.
    /// </summary>
    public bool ExemptFromWeightDecay { get; init; }

    internal Node<T> Node { get; }

    /// <summary>Sets <see cref="Gradients"/> to zero.</summary>
    public void ZeroGradients() => Array.Clear(Gradients);

    /// <inheritdoc/>
    public override string ToString() => $"Parameter({Name}: {Rows} × {Columns})";
}
