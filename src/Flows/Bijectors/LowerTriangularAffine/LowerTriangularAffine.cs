using System.Numerics;
using Flows.Autodiff;
using Flows.Neural;

namespace Flows.Bijectors;

/// <summary>
/// The affine map <c>x = μ + L z</c> with L lower-triangular and positive on the diagonal: on a standard normal base
/// it gives the multivariate normal N(μ, L Lᵀ).
/// </summary>
/// <remarks>
/// L is built from d(d+1)/2 unconstrained values packed row by row: below the diagonal as they are, on the diagonal
/// through exp, so log|det J| = Σᵢ log Lᵢᵢ on every row. The inverse is one forward substitution per row.
/// All-zero parameters give the identity.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class LowerTriangularAffine<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T> _shift;
    private readonly Parameter<T> _packedScale;

    /// <summary>Creates the identity map on <paramref name="dimension"/> features.</summary>
    /// <param name="dimension">Features per row. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not positive.</exception>
    public LowerTriangularAffine(int dimension) : base(dimension)
    {
        _shift = new Parameter<T>("shift", 1, dimension);
        _packedScale = new Parameter<T>("scaleTril", 1, dimension * (dimension + 1) / 2);
        Parameters = [_shift, _packedScale];
    }

    /// <summary>μ, 1 × Dimension.</summary>
    public Parameter<T> Shift => _shift;

    /// <summary>The unconstrained lower triangle of L, packed row by row (diagonal entries are log Lᵢᵢ).</summary>
    public Parameter<T> PackedScale => _packedScale;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>The current L as a dense Dimension × Dimension array.</summary>
    public T[,] GetScaleMatrix()
    {
        var tape = new Tape<T>(isRecording: false);
        Node<T> l = tape.LowerTriangularFromPacked(tape.Use(_packedScale), Dimension);
        var result = new T[Dimension, Dimension];
        for (int i = 0; i < Dimension; i++)
        {
            for (int j = 0; j < Dimension; j++)
            {
                result[i, j] = l[i, j];
            }
        }

        return result;
    }

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => SavedForm<T, IBijector<T>>.ForDimension("LowerTriangularAffine", d => new LowerTriangularAffine<T>(d));

    /// <inheritdoc/>
    public override string ToString() => $"LowerTriangularAffine(dimension: {Dimension})";

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
    {
        Node<T> l = tape.LowerTriangularFromPacked(tape.Use(_packedScale), Dimension);
        Node<T> x = tape.Linear(z, l, tape.Use(_shift)); // z Lᵀ + μ: each row is L z + μ
        return (x, tape.RepeatRows(tape.LogAbsDiagonalSum(l), z.Rows));
    }

    /// <inheritdoc/>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
    {
        Node<T> l = tape.LowerTriangularFromPacked(tape.Use(_packedScale), Dimension);
        Node<T> z = tape.SolveLowerTransposed(tape.Subtract(x, tape.Use(_shift)), l);
        return (z, tape.RepeatRows(tape.Negate(tape.LogAbsDiagonalSum(l)), x.Rows));
    }
}
