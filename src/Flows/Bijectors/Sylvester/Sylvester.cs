using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// The Sylvester map <c>x = z + Q R tanh(R̃ Qᵀz + b)</c> of van den Berg et al. (2018): a planar layer generalized
/// to M hidden units, with Q a Dimension × M matrix with orthonormal columns and R, R̃ upper-triangular M × M.
/// </summary>
/// <remarks>
/// <para>log|det J| = Σᵢ log|1 + rᵢᵢr̃ᵢᵢ tanh′((R̃Qᵀz + b)ᵢ)| on every row, by Sylvester's determinant identity
/// det(I_D + QRHR̃Qᵀ) = det(I_M + HR̃R) and the triangularity of R̃R.</para>
/// <para>Parameters are stored unconstrained: R's and R̃'s upper triangles packed row by row ("r", "rTilde",
/// 1 × M(M + 1)/2), b ("bias", 1 × M) and, by <see cref="SylvesterVariant"/>, Q's source: a Dimension × M matrix
/// ("q", orthogonalized by <see cref="SylvesterOps.Orthogonalize{T}"/>, which throws if ‖QᵀQ − I‖_max ≤ 1e-12 is not reached
/// in 100 iterations), K × Dimension Householder vectors ("householder"), or nothing (a fixed identity or reversal
/// permutation). The diagonals are rᵢᵢ = (1 − 1e-6) tanh(raw) and r̃ᵢᵢ likewise (as tanh in the paper's code), so
/// rᵢᵢr̃ᵢᵢ &gt; −1 and every factor 1 + rᵢᵢr̃ᵢᵢ tanh′ is ≥ 2e-6: the map is invertible.</para>
/// <para>R = 0 gives the identity for every Q, R̃ and b, and the constructor starts there: R = 0 and b = 0, with R̃'s
/// raw values drawn from N(0, 1/M) and Q's source from N(0, 1) with the seed. All-zero parameters would be the identity
/// too but a saddle point (no gradient reaches R when R̃ = 0 and b = 0), an all-zero matrix cannot be orthogonalized, and
/// zero Householder vectors would be no reflections.</para>
/// <para>Inverse: Qᵀ reduces the map to the M-dimensional system c = y + R tanh(R̃y + b), y = Qᵀz, c = Qᵀx, which is
/// triangular and is solved by back substitution, each coordinate a monotone scalar equation solved by bracketed
/// Newton with bisection fallback to 1e-12·(1 + |yᵢ|) in double (64 ulp in float); then z = x − QR tanh(R̃y + b).
/// A coordinate that does not converge throws <see cref="InvalidOperationException"/> naming the row, residual and
/// tolerance. Gradients of the inverse use the implicit function theorem.</para>
/// <para>Reference: van den Berg, Hasenclever, Tomczak &amp; Welling, "Sylvester normalizing flows for variational
/// inference", UAI 2018, arXiv:1803.05649.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class Sylvester<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>? _q;
    private readonly Parameter<T>? _householder;
    private readonly Parameter<T> _r;
    private readonly Parameter<T> _rTilde;
    private readonly Parameter<T> _bias;
    private readonly T[]? _permutation;

    /// <summary>Creates a Sylvester layer that starts as the identity (R = 0, b = 0, R̃ and Q's source random).</summary>
    /// <param name="dimension">Features per row, D. Range: &gt; 0.</param>
    /// <param name="variant">How Q is built.</param>
    /// <param name="columnCount">M, the columns of Q (hidden units). Range: 1 to <paramref name="dimension"/>, or 0 for
    /// <paramref name="dimension"/>.</param>
    /// <param name="reflectionCount">K, the Householder reflections (Householder variant only). Range: ≥ 1, or 0 for M.</param>
    /// <param name="reversed">Whether the triangular variant's permutation reverses the features (Triangular variant
    /// only; alternate it between layers).</param>
    /// <param name="seed">Seed of the initial R̃ and Q source.</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is out of range, or <paramref name="variant"/> is not defined.</exception>
    /// <exception cref="ArgumentException">An option is given for a variant it does not apply to.</exception>
    public Sylvester(int dimension, SylvesterVariant variant, int columnCount = 0, int reflectionCount = 0, bool reversed = false, int seed = 0)
        : base(dimension)
    {
        int m = SylvesterSettings.Validate(dimension, variant, columnCount, reflectionCount, reversed);
        Variant = variant;
        ColumnCount = m;
        Reversed = reversed;
        var random = new Random(seed);
        var parameters = new List<Parameter<T>>();
        switch (variant)
        {
            case SylvesterVariant.Orthogonal:
                _q = new Parameter<T>("q", dimension, m);
                Gaussian.Fill<T>(_q.Values, random);
                parameters.Add(_q);
                break;
            case SylvesterVariant.Householder:
                ReflectionCount = reflectionCount == 0 ? m : reflectionCount;
                _householder = new Parameter<T>("householder", ReflectionCount, dimension);
                Gaussian.Fill<T>(_householder.Values, random);
                parameters.Add(_householder);
                break;
            default:
                _permutation = new T[dimension * m];
                for (int j = 0; j < m; j++)
                {
                    int k = reversed ? dimension - 1 - j : j;
                    _permutation[(k * m) + j] = T.One;
                }

                break;
        }

        _r = new Parameter<T>("r", 1, m * (m + 1) / 2);
        _rTilde = new Parameter<T>("rTilde", 1, m * (m + 1) / 2);
        _bias = new Parameter<T>("bias", 1, m);
        Gaussian.Fill<T>(_rTilde.Values, random);
        T scale = T.One / T.Sqrt(T.CreateTruncating(m));
        for (int k = 0; k < _rTilde.Values.Length; k++)
        {
            _rTilde.Values[k] *= scale;
        }

        parameters.Add(_r);
        parameters.Add(_rTilde);
        parameters.Add(_bias);
        Parameters = parameters;
    }

    /// <summary>How Q is built.</summary>
    public SylvesterVariant Variant { get; }

    /// <summary>M, the number of columns of Q.</summary>
    public int ColumnCount { get; }

    /// <summary>K, the number of Householder reflections (0 for the other variants).</summary>
    public int ReflectionCount { get; }

    /// <summary>Whether the triangular variant's permutation reverses the features.</summary>
    public bool Reversed { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>The current Q, Dimension × M with orthonormal columns.</summary>
    /// <exception cref="InvalidOperationException">The orthogonal variant's iteration did not converge.</exception>
    public T[,] GetQ()
    {
        var tape = new Tape<T>(isRecording: false);
        return ToArray(BuildQ(tape));
    }

    /// <summary>The current constrained R and R̃, M × M upper-triangular.</summary>
    public (T[,] R, T[,] RTilde) GetTriangles()
    {
        var tape = new Tape<T>(isRecording: false);
        Node<T> triangles = tape.SylvesterTriangles(tape.Use(_r), tape.Use(_rTilde), tape.Use(_bias));
        int m = ColumnCount;
        var r = new T[m, m];
        var rTilde = new T[m, m];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < m; j++)
            {
                r[i, j] = triangles[i, j];
                rTilde[i, j] = triangles[m + i, j];
            }
        }

        return (r, rTilde);
    }

    // Determined by the variant, M, K and, for the triangular variant, the fixed permutation (identity or reversal).
    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "Sylvester",
        typeof(Sylvester<T>),
        (b, w) =>
        {
            var sylvester = (Sylvester<T>)b;
            w.Int32("dimension", sylvester.Dimension);
            SylvesterSettings.Write(w, sylvester.Variant, sylvester.ColumnCount, sylvester.ReflectionCount, sylvester.Reversed);
        },
        r =>
        {
            (SylvesterVariant variant, bool reversed) = SylvesterSettings.Read(r);
            return new Sylvester<T>(
                r.Int32("dimension", minimum: 1),
                variant,
                r.Int32("columnCount", minimum: 1),
                r.Int32("reflectionCount", minimum: 0),
                reversed);
        });

    /// <inheritdoc/>
    public override string ToString() => Variant switch
    {
        SylvesterVariant.Householder => $"Sylvester(dimension: {Dimension}, variant: Householder, columnCount: {ColumnCount}, reflectionCount: {ReflectionCount})",
        SylvesterVariant.Triangular => $"Sylvester(dimension: {Dimension}, variant: Triangular, columnCount: {ColumnCount}, reversed: {(Reversed ? "true" : "false")})",
        _ => $"Sylvester(dimension: {Dimension}, variant: {Variant}, columnCount: {ColumnCount})",
    };

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The orthogonal variant's iteration did not converge.</exception>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
        => tape.Sylvester(z, BuildQ(tape), Triangles(tape), inverse: false);

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The orthogonal variant's iteration or the root solve did not converge.</exception>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
        => tape.Sylvester(x, BuildQ(tape), Triangles(tape), inverse: true);

    private Node<T> Triangles(Tape<T> tape) => tape.SylvesterTriangles(tape.Use(_r), tape.Use(_rTilde), tape.Use(_bias));

    private Node<T> BuildQ(Tape<T> tape) => Variant switch
    {
        SylvesterVariant.Orthogonal => tape.Orthogonalize(tape.Use(_q!)),
        SylvesterVariant.Householder => tape.HouseholderProduct(tape.Use(_householder!), ColumnCount),
        _ => tape.Constant(_permutation, Dimension, ColumnCount),
    };

    private static T[,] ToArray(Node<T> node)
    {
        var result = new T[node.Rows, node.Columns];
        for (int i = 0; i < node.Rows; i++)
        {
            for (int j = 0; j < node.Columns; j++)
            {
                result[i, j] = node[i, j];
            }
        }

        return result;
    }
}
