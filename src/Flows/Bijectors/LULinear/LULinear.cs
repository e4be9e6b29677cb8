using System.Numerics;
using Flows.Autodiff;
using Flows.Neural;

namespace Flows.Bijectors;

/// <summary>
/// The invertible linear map <c>x = W z + b</c> with <c>W = P L U</c> (Glow's LU parameterization): P a fixed
/// permutation, L unit lower-triangular, U upper-triangular with a positive diagonal.
/// </summary>
/// <remarks>
/// <para>L and U are packed in one d × d parameter <see cref="LowerUpper"/> (as LAPACK packs an LU factorization):
/// below the diagonal the strictly lower part of L, above it the strictly upper part of U, on the diagonal raw values
/// rᵢ with <c>uᵢᵢ = softplus(rᵢ + c) + ε</c>, ε = 1e-3 (as nflows) and c = softplus⁻¹(1 − ε), so that rᵢ = 0 gives
/// uᵢᵢ = 1. W is therefore never singular: |det W| ≥ ε^d. The shift b is <see cref="Shift"/>.</para>
/// <para>log|det J| = Σᵢ log uᵢᵢ on every row (forward); the inverse <c>z = U⁻¹ L⁻¹ Pᵀ (x − b)</c> is one forward and
/// one back substitution per row, with log|det J| = −Σᵢ log uᵢᵢ. All-zero parameters give <c>x = P z</c>: the
/// identity when P is (the default), a permutation otherwise. The permutation is not trainable; it is saved.</para>
/// <para>The triangular solves are exact up to rounding: the round trip error grows with cond(W) (≤ 1e-10 relative
/// for cond(W) ≤ 1e6 in the tests).</para>
/// <para>Reference: D. P. Kingma and P. Dhariwal, "Glow: Generative Flow with Invertible 1x1 Convolutions", 2018,
/// arXiv:1807.03039, section 3.2.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class LULinear<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int[] _permutation;
    private readonly Parameter<T> _lowerUpper;
    private readonly Parameter<T> _shift;

    /// <summary>Creates <c>x = P z</c> (all-zero parameters) with the identity as P.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public LULinear(int dimension) : this(Orders.Natural(CheckedDimension(dimension)))
    {
    }

    /// <summary>Creates <c>x = P z</c> (all-zero parameters) with a uniformly random P drawn from a generator seeded by <paramref name="seed"/>.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <param name="seed">Seed of the permutation.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public LULinear(int dimension, int seed) : this(Orders.Random(CheckedDimension(dimension), seed))
    {
    }

    /// <summary>Creates <c>x = P z</c> (all-zero parameters) with the given permutation, <c>(P v)ᵢ = v[permutation[i]]</c>.</summary>
    /// <param name="permutation">A permutation of 0..d−1; copied.</param>
    /// <exception cref="ArgumentException"><paramref name="permutation"/> is empty or not a permutation.</exception>
    public LULinear(IReadOnlyList<int> permutation) : base(CheckedLength(permutation))
    {
        Orders.Check(permutation, permutation.Count, nameof(permutation));
        _permutation = [.. permutation];
        _lowerUpper = new Parameter<T>("lowerUpper", Dimension, Dimension);
        _shift = new Parameter<T>("shift", 1, Dimension);
        Parameters = [_lowerUpper, _shift];
    }

    /// <summary>The fixed permutation, <c>(P v)ᵢ = v[Permutation[i]]</c>.</summary>
    public IReadOnlyList<int> Permutation => _permutation;

    /// <summary>L and U packed in one Dimension × Dimension array (raw diagonal of U on the diagonal); see the remarks.</summary>
    public Parameter<T> LowerUpper => _lowerUpper;

    /// <summary>The shift b, 1 × Dimension.</summary>
    public Parameter<T> Shift => _shift;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>The current unit lower-triangular L as a dense Dimension × Dimension array.</summary>
    public T[,] GetLower()
    {
        int d = Dimension;
        var result = new T[d, d];
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < i; j++)
            {
                result[i, j] = _lowerUpper.Values[(i * d) + j];
            }

            result[i, i] = T.One;
        }

        return result;
    }

    /// <summary>The current upper-triangular U (diagonal <c>softplus(rᵢ + c) + ε</c>) as a dense Dimension × Dimension array.</summary>
    public T[,] GetUpper()
    {
        int d = Dimension;
        var result = new T[d, d];
        for (int i = 0; i < d; i++)
        {
            result[i, i] = LULinearOps.LUDiagonal(_lowerUpper.Values[(i * d) + i]);
            for (int j = i + 1; j < d; j++)
            {
                result[i, j] = _lowerUpper.Values[(i * d) + j];
            }
        }

        return result;
    }

    // The fixed permutation is part of the architecture.
    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "LULinear",
        typeof(LULinear<T>),
        (b, w) => w.Int32Array("permutation", ((LULinear<T>)b).Permutation),
        r => new LULinear<T>(r.Int32Array("permutation")));

    /// <inheritdoc/>
    public override string ToString() => $"LULinear(permutation: [{string.Join(", ", _permutation)}])";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => tape.LULinear(z, tape.Use(_lowerUpper), tape.Use(_shift), _permutation, inverse: false);

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => tape.LULinear(x, tape.Use(_lowerUpper), tape.Use(_shift), _permutation, inverse: true);

    private static int CheckedDimension(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        return dimension;
    }

    private static int CheckedLength(IReadOnlyList<int> permutation)
    {
        ArgumentNullException.ThrowIfNull(permutation);
        if (permutation.Count == 0)
        {
            throw new ArgumentException("permutation is empty; the map needs at least one feature.", nameof(permutation));
        }

        return permutation.Count;
    }
}
