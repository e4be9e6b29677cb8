using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Neural;
using Flows.Numerics;

namespace Flows.Variational;

/// <summary>
/// The planar map of Rezende &amp; Mohamed (2015) with its parameters given per row by a context, as in their deep
/// latent Gaussian models, where the flow's parameters are outputs of the encoder:
/// <c>[u | w | b] = A h + c</c>, <c>x = z + û tanh(wᵀz + b)</c> with row i's own u, w, b from its context hᵢ.
/// </summary>
/// <remarks>
/// <para>log|det J| = log|1 + wᵀû·tanh′(wᵀz + b)| per row, and the invertibility-preserving
/// <c>û = u + (m(wᵀu) − wᵀu) w/‖w‖²</c> is applied row by row: the same fused kernels as <see cref="Planar{T}"/> (with
/// its numerical inverse to 1e-12), run with one parameter row per input row.</para>
/// <para>The head A (2d + 1 outputs from ContextDimension inputs) draws its weights as PyTorch's default; its bias c
/// starts as a new <see cref="Planar{T}"/> does (u = 0, b = 0, w ~ N(0, 1/d)), so a zero context gives the identity.
/// An <see cref="AmortizedPosterior{T}"/>'s encoder starts with a zero context, so a chain of these layers starts as
/// the identity there, and the head's weights pass the encoder a gradient from the first step.</para>
/// <para>Reference: Rezende &amp; Mohamed, "Variational inference with normalizing flows", ICML 2015, arXiv:1505.05770.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class AmortizedPlanar<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Linear<T> _head;

    /// <summary>Creates the layer.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <param name="contextDimension">Context features, the head's inputs. Range: &gt; 0.</param>
    /// <param name="seed">Seed of the head's weights and of w's start.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public AmortizedPlanar(int dimension, int contextDimension, int seed = 0) : base(dimension, CheckedContext(contextDimension))
    {
        var random = new Random(seed);
        _head = new Linear<T>("head", contextDimension, (2 * dimension) + 1, random.Next());
        Span<T> w = _head.Bias!.Values.AsSpan(dimension, dimension);
        Gaussian.Fill<T>(w, random);
        T scale = T.One / T.Sqrt(T.CreateTruncating(dimension));
        for (int j = 0; j < dimension; j++)
        {
            w[j] *= scale;
        }
    }

    /// <summary>The head's weights A, (2d + 1) × ContextDimension, rows in the order u, w, b.</summary>
    public Parameter<T> HeadWeight => _head.Weight;

    /// <summary>The head's bias c, 1 × (2d + 1): the parameters [u | w | b] at a zero context.</summary>
    public Parameter<T> HeadBias => _head.Bias!;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => _head.Parameters;

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "AmortizedPlanar",
        typeof(AmortizedPlanar<T>),
        (b, w) =>
        {
            w.Int32("dimension", b.Dimension);
            w.Int32("contextDimension", b.ContextDimension);
        },
        r => new AmortizedPlanar<T>(r.Int32("dimension", minimum: 1), r.Int32("contextDimension", minimum: 1)));

    /// <inheritdoc/>
    public override string ToString() => $"AmortizedPlanar(dimension: {Dimension}, contextDimension: {ContextDimension})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => tape.Planar(z, RowParameters(tape, context!), inverse: false);

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The root solve did not converge for some row.</exception>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => tape.Planar(x, RowParameters(tape, context!), inverse: true);

    // Row i's [û | w | b] from its context: the head, then the planar reparameterization row by row.
    private Node<T> RowParameters(Tape<T> tape, Node<T> context)
    {
        int d = Dimension;
        Node<T> raw = _head.Apply(tape, context);
        return tape.PlanarParameters(tape.SliceColumns(raw, 0, d), tape.SliceColumns(raw, d, d), tape.SliceColumns(raw, 2 * d, 1));
    }

    private static int CheckedContext(int contextDimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(contextDimension);
        return contextDimension;
    }
}
