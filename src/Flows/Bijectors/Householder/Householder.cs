using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// A learned orthogonal map, the product of k Householder reflections: <c>x = Q z</c> with
/// <c>Q = H₁H₂⋯H_k</c>, <c>H_i = I − 2 v_i v_iᵀ/‖v_i‖²</c>.
/// </summary>
/// <remarks>
/// <para>Volume-preserving: log|det J| = 0 exactly in both directions, and the inverse is <c>z = Qᵀ x</c>, closed-form.
/// Between autoregressive or coupling layers it takes the place of a fixed permutation with a rotation that training
/// adapts (Tomczak &amp; Welling); k = d reflections reach every orthogonal matrix of determinant (−1)^d.</para>
/// <para>The k × d reflection vectors are the parameters (unconstrained: only their directions matter). They start as
/// seeded N(0, 1) draws, a random orthogonal mixing: all-zero vectors would give the identity (a zero vector is taken as
/// no reflection) but also a zero gradient, so training could never leave it. Q is formed once per call by the
/// Householder product the Sylvester flow uses, with its hand-derived backward pass.</para>
/// <para>Reference: Tomczak &amp; Welling, "Improving Variational Auto-Encoders using Householder Flow", NeurIPS
/// Bayesian Deep Learning workshop 2016, arXiv:1611.09630.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Householder<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T> _reflections;

    /// <summary>Creates the product of <paramref name="reflectionCount"/> reflections with seeded random vectors.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <param name="reflectionCount">k. Default 0, meaning d. Range: ≥ 0.</param>
    /// <param name="seed">Seed of the initial vectors.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive or
    /// <paramref name="reflectionCount"/> is negative.</exception>
    public Householder(int dimension, int reflectionCount = 0, int seed = 0) : base(dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(reflectionCount);
        ReflectionCount = reflectionCount == 0 ? dimension : reflectionCount;
        _reflections = new Parameter<T>("reflections", ReflectionCount, dimension);
        Gaussian.Fill<T>(_reflections.Values, new Random(seed));
        Parameters = [_reflections];
    }

    /// <summary>k, the number of reflections.</summary>
    public int ReflectionCount { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "Householder",
        typeof(Householder<T>),
        (b, w) =>
        {
            w.Int32("dimension", b.Dimension);
            w.Int32("reflectionCount", ((Householder<T>)b).ReflectionCount);
        },
        r => new Householder<T>(r.Int32("dimension", minimum: 1), r.Int32("reflectionCount", minimum: 1)));

    /// <summary>Q, the d × d orthogonal matrix of the current vectors (row-major).</summary>
    /// <returns>A new d × d array.</returns>
    public T[,] Matrix()
    {
        var tape = new Tape<T>(isRecording: false);
        Node<T> q = tape.HouseholderProduct(tape.Use(_reflections), Dimension);
        var result = new T[Dimension, Dimension];
        for (int i = 0; i < Dimension; i++)
        {
            for (int j = 0; j < Dimension; j++)
            {
                result[i, j] = q.Values[(i * Dimension) + j];
            }
        }

        return result;
    }

    /// <inheritdoc/>
    public override string ToString() => $"Householder(dimension: {Dimension}, reflectionCount: {ReflectionCount})";

    // x = Q z per row: the row form x = z Qᵀ is the linear layer with weight Q.
    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => (tape.Linear(z, tape.HouseholderProduct(tape.Use(_reflections), Dimension)), ZeroLogDet(tape, z.Rows));

    // z = Qᵀ x per row: z = x Q.
    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => (tape.MatrixMultiply(x, tape.HouseholderProduct(tape.Use(_reflections), Dimension)), ZeroLogDet(tape, x.Rows));

    private static Node<T> ZeroLogDet(Tape<T> tape, int rows)
    {
        Node<T> logDet = tape.Allocate(rows, 1);
        logDet.Values.Clear();
        return logDet;
    }
}
