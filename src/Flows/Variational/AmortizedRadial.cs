using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Neural;

namespace Flows.Variational;

/// <summary>
/// The radial map of Rezende &amp; Mohamed (2015) with its parameters given per row by a context, as in their deep latent
/// Gaussian models: <c>[z₀ | α̂ | β̂] = A h + c</c>, <c>x = z + β/(α + r)·(z − z₀)</c>, r = ‖z − z₀‖, with row i's own
/// z₀, α, β from its context hᵢ.
/// </summary>
/// <remarks>
/// <para>log|det J| = (d − 1) log(1 + βh) + log(1 + βh + βh′r), h = 1/(α + r), per row; α and β are constrained as in
/// <see cref="Radial{T}"/> (α &gt; 0, β &gt; −α), and the same fused kernels run with one parameter row per input row,
/// with the closed-form inverse.</para>
/// <para>The head A (d + 2 outputs) draws its weights as PyTorch's default; its bias c starts at zero, the identity of
/// <see cref="Radial{T}"/> (β = 0), so a zero context gives the identity, which is where an
/// <see cref="AmortizedPosterior{T}"/> starts.</para>
/// <para>Reference: Rezende &amp; Mohamed, "Variational inference with normalizing flows", ICML 2015, arXiv:1505.05770.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class AmortizedRadial<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Linear<T> _head;

    /// <summary>Creates the layer; a zero context gives the identity.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <param name="contextDimension">Context features, the head's inputs. Range: &gt; 0.</param>
    /// <param name="seed">Seed of the head's weights.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public AmortizedRadial(int dimension, int contextDimension, int seed = 0) : base(dimension, CheckedContext(contextDimension))
    {
        _head = new Linear<T>("head", contextDimension, dimension + 2, seed);
    }

    /// <summary>The head's weights A, (d + 2) × ContextDimension, rows in the order z₀, α̂, β̂.</summary>
    public Parameter<T> HeadWeight => _head.Weight;

    /// <summary>The head's bias c, 1 × (d + 2): [z₀ | α̂ | β̂] at a zero context.</summary>
    public Parameter<T> HeadBias => _head.Bias!;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => _head.Parameters;

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "AmortizedRadial",
        typeof(AmortizedRadial<T>),
        (b, w) =>
        {
            w.Int32("dimension", b.Dimension);
            w.Int32("contextDimension", b.ContextDimension);
        },
        r => new AmortizedRadial<T>(r.Int32("dimension", minimum: 1), r.Int32("contextDimension", minimum: 1)));

    /// <inheritdoc/>
    public override string ToString() => $"AmortizedRadial(dimension: {Dimension}, contextDimension: {ContextDimension})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => tape.Radial(z, RowParameters(tape, context!), inverse: false);

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => tape.Radial(x, RowParameters(tape, context!), inverse: true);

    // Row i's [z₀ | α | γ] from its context: the head, then the radial constraints row by row.
    private Node<T> RowParameters(Tape<T> tape, Node<T> context)
    {
        int d = Dimension;
        Node<T> raw = _head.Apply(tape, context);
        return tape.RadialParameters(tape.SliceColumns(raw, 0, d), tape.SliceColumns(raw, d, 1), tape.SliceColumns(raw, d + 1, 1));
    }

    private static int CheckedContext(int contextDimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(contextDimension);
        return contextDimension;
    }
}
