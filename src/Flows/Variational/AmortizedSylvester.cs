using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Neural;
using Flows.Numerics;

namespace Flows.Variational;

/// <summary>
/// The Sylvester map of van den Berg et al. (2018) with R, R̃ and b given per row by a context, as in their VAEs, where
/// the flow's parameters are outputs of the encoder: <c>[R | R̃ | b] = A h + c</c>,
/// <c>x = z + Q R tanh(R̃ Qᵀz + b)</c> with row i's own R, R̃, b from its context hᵢ.
/// </summary>
/// <remarks>
/// <para>log|det J| = Σᵢ log|1 + rᵢᵢr̃ᵢᵢ tanh′((R̃Qᵀz + b)ᵢ)| per row; the diagonals are constrained as in
/// <see cref="Sylvester{T}"/> (rᵢᵢ = (1 − 1e-6) tanh(raw)), so the map is invertible, and the same fused kernels run
/// with one set of factors per row (with the numerical inverse by back substitution to 1e-12).</para>
/// <para>Q: the <see cref="SylvesterVariant.Triangular"/> variant uses a fixed identity or reversal permutation (the
/// paper's T-SNF; alternate <c>reversed</c> between layers); <see cref="SylvesterVariant.Orthogonal"/> and
/// <see cref="SylvesterVariant.Householder"/> learn one Q shared by every row or, with <c>amortizeQ</c>, take row i's
/// own Q from its context as the paper's O-SNF and H-SNF do: the head also outputs a D × M matrix that is
/// orthogonalized per row (the iteration of <see cref="Sylvester{T}"/>, Q = A(AᵀA)^(−1/2)), or K Householder vectors
/// whose reflections' product gives Q per row.</para>
/// <para>The head A (2·M(M + 1)/2 + M outputs, then D·M or K·D for an amortized Q) draws its weights as PyTorch's
/// default; its bias c starts as a new <see cref="Sylvester{T}"/> does (R = 0, b = 0, R̃ ~ N(0, 1/M), Q's source
/// N(0, 1)), so a zero context gives the identity, which is where an <see cref="AmortizedPosterior{T}"/> starts.</para>
/// <para>Reference: van den Berg, Hasenclever, Tomczak &amp; Welling, "Sylvester normalizing flows for variational
/// inference", UAI 2018, arXiv:1803.05649.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class AmortizedSylvester<T> : Bijector<T>, IHasSavedForm<T, IBijector<T>> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Linear<T> _head;
    private readonly Parameter<T>? _q;
    private readonly Parameter<T>? _householder;
    private readonly T[]? _permutation;

    /// <summary>Creates the layer; a zero context gives the identity.</summary>
    /// <param name="dimension">Features per row, D. Range: &gt; 0.</param>
    /// <param name="contextDimension">Context features, the head's inputs. Range: &gt; 0.</param>
    /// <param name="variant">How Q is built. Default <see cref="SylvesterVariant.Triangular"/>.</param>
    /// <param name="columnCount">M, the columns of Q. Range: 1 to <paramref name="dimension"/>, or 0 for
    /// <paramref name="dimension"/>. The triangular variant needs M = D.</param>
    /// <param name="reflectionCount">K, the Householder reflections (Householder variant only). Range: ≥ 1, or 0 for M.</param>
    /// <param name="reversed">Whether the triangular variant's permutation reverses the features.</param>
    /// <param name="seed">Seed of the head's weights and of the starting R̃ and Q source.</param>
    /// <param name="amortizeQ">Whether Q too comes per row from the context (orthogonal and Householder variants only;
    /// the paper's O-SNF and H-SNF). Default false: one learned Q shared by every row.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range, or <paramref name="variant"/> is not defined.</exception>
    /// <exception cref="ArgumentException">An option is given for a variant it does not apply to.</exception>
    public AmortizedSylvester(int dimension, int contextDimension, SylvesterVariant variant = SylvesterVariant.Triangular, int columnCount = 0,
        int reflectionCount = 0, bool reversed = false, int seed = 0, bool amortizeQ = false)
        : base(dimension, CheckedContext(contextDimension))
    {
        int m = SylvesterSettings.Validate(dimension, variant, columnCount, reflectionCount, reversed);
        if (variant == SylvesterVariant.Triangular && m != dimension)
        {
            throw new ArgumentException($"The Triangular variant permutes all {dimension} features; columnCount must be {dimension} or 0, not {columnCount}.", nameof(columnCount));
        }

        if (amortizeQ && variant == SylvesterVariant.Triangular)
        {
            throw new ArgumentException("amortizeQ applies to the Orthogonal and Householder variants only; the Triangular variant's Q is a fixed permutation.", nameof(amortizeQ));
        }

        Variant = variant;
        ColumnCount = m;
        Reversed = reversed;
        AmortizesQ = amortizeQ;
        ReflectionCount = variant == SylvesterVariant.Householder ? (reflectionCount == 0 ? m : reflectionCount) : 0;
        var random = new Random(seed);
        int packed = m * (m + 1) / 2;
        int qOutputs = !amortizeQ ? 0 : variant == SylvesterVariant.Orthogonal ? dimension * m : ReflectionCount * dimension;
        _head = new Linear<T>("head", contextDimension, (2 * packed) + m + qOutputs, random.Next());
        var parameters = new List<Parameter<T>>(_head.Parameters);
        switch (variant)
        {
            case SylvesterVariant.Orthogonal or SylvesterVariant.Householder when amortizeQ:
                // Q's source at a zero context: N(0, 1), as the shared Q starts.
                Gaussian.Fill<T>(_head.Bias!.Values.AsSpan((2 * packed) + m, qOutputs), random);
                break;
            case SylvesterVariant.Orthogonal:
                _q = new Parameter<T>("q", dimension, m);
                Gaussian.Fill<T>(_q.Values, random);
                parameters.Add(_q);
                break;
            case SylvesterVariant.Householder:
                _householder = new Parameter<T>("householder", ReflectionCount, dimension);
                Gaussian.Fill<T>(_householder.Values, random);
                parameters.Add(_householder);
                break;
            default:
                _permutation = new T[dimension * m];
                for (int j = 0; j < m; j++)
                {
                    _permutation[((reversed ? dimension - 1 - j : j) * m) + j] = T.One;
                }

                break;
        }

        // R = 0 and b = 0 at a zero context (the identity); R̃ random so that R receives a gradient.
        Span<T> rTilde = _head.Bias!.Values.AsSpan(packed, packed);
        Gaussian.Fill<T>(rTilde, random);
        T scale = T.One / T.Sqrt(T.CreateTruncating(m));
        for (int k = 0; k < packed; k++)
        {
            rTilde[k] *= scale;
        }

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

    /// <summary>Whether Q comes per row from the context (O-SNF, H-SNF) rather than being one learned Q for every row.</summary>
    public bool AmortizesQ { get; }

    /// <summary>The head's weights A, rows in the order R (packed upper triangle), R̃ (likewise), b, then Q's source
    /// when Q is amortized (D × M row-major for the orthogonal variant, K vectors of D for the Householder one).</summary>
    public Parameter<T> HeadWeight => _head.Weight;

    /// <summary>The head's bias c: the raw R, R̃, b at a zero context.</summary>
    public Parameter<T> HeadBias => _head.Bias!;

    /// <summary>The head's parameters, then Q's source (for the orthogonal and Householder variants with a shared Q).</summary>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    static SavedForm<T, IBijector<T>> IHasSavedForm<T, IBijector<T>>.SavedForm => new(
        "AmortizedSylvester",
        typeof(AmortizedSylvester<T>),
        (b, w) =>
        {
            var sylvester = (AmortizedSylvester<T>)b;
            w.Int32("dimension", sylvester.Dimension);
            w.Int32("contextDimension", sylvester.ContextDimension);
            SylvesterSettings.Write(w, sylvester.Variant, sylvester.ColumnCount, sylvester.ReflectionCount, sylvester.Reversed);
            w.Boolean("amortizeQ", sylvester.AmortizesQ);
        },
        r =>
        {
            (SylvesterVariant variant, bool reversed) = SylvesterSettings.Read(r);
            return new AmortizedSylvester<T>(
                r.Int32("dimension", minimum: 1),
                r.Int32("contextDimension", minimum: 1),
                variant,
                r.Int32("columnCount", minimum: 1),
                r.Int32("reflectionCount", minimum: 0),
                reversed,
                amortizeQ: r.Has("amortizeQ") && r.Boolean("amortizeQ")); // absent in files saved before Q was amortized
        });

    /// <inheritdoc/>
    public override string ToString() => Variant switch
    {
        SylvesterVariant.Householder => $"AmortizedSylvester(dimension: {Dimension}, contextDimension: {ContextDimension}, variant: Householder, columnCount: {ColumnCount}, reflectionCount: {ReflectionCount}{AmortizedQText})",
        SylvesterVariant.Triangular => $"AmortizedSylvester(dimension: {Dimension}, contextDimension: {ContextDimension}, variant: Triangular, reversed: {(Reversed ? "true" : "false")})",
        _ => $"AmortizedSylvester(dimension: {Dimension}, contextDimension: {ContextDimension}, variant: {Variant}, columnCount: {ColumnCount}{AmortizedQText})",
    };

    private string AmortizedQText => AmortizesQ ? ", amortizeQ: true" : "";

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The orthogonal variant's iteration did not converge.</exception>
    protected override (Node<T> Output, Node<T> LogDet) ForwardCore(Tape<T> tape, Node<T> z, Node<T>? context)
    {
        Node<T> raw = _head.Apply(tape, context!);
        return tape.Sylvester(z, BuildQ(tape, raw), RowTriangles(tape, raw), inverse: false);
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The orthogonal variant's iteration or the root solve did not converge.</exception>
    protected override (Node<T> Output, Node<T> LogDet) InverseCore(Tape<T> tape, Node<T> x, Node<T>? context)
    {
        Node<T> raw = _head.Apply(tape, context!);
        return tape.Sylvester(x, BuildQ(tape, raw), RowTriangles(tape, raw), inverse: true);
    }

    // Row i's R, R̃, b from the head's outputs: the constrained triangles, one block per row.
    private Node<T> RowTriangles(Tape<T> tape, Node<T> raw)
    {
        int m = ColumnCount;
        int packed = m * (m + 1) / 2;
        return tape.SylvesterTriangles(tape.SliceColumns(raw, 0, packed), tape.SliceColumns(raw, packed, packed), tape.SliceColumns(raw, 2 * packed, m));
    }

    // Q: shared (D × M), or row i's own from the head's last outputs (n·D × M, one block per row).
    private Node<T> BuildQ(Tape<T> tape, Node<T> raw)
    {
        int n = raw.Rows;
        int d = Dimension;
        int m = ColumnCount;
        int offset = (m * (m + 1)) + m;
        return Variant switch
        {
            SylvesterVariant.Orthogonal when AmortizesQ =>
                tape.Orthogonalize(tape.Reshape(tape.SliceColumns(raw, offset, d * m), n * d, m), blockCount: n),
            SylvesterVariant.Householder when AmortizesQ =>
                tape.HouseholderProduct(tape.Reshape(tape.SliceColumns(raw, offset, ReflectionCount * d), n * ReflectionCount, d), m, blockCount: n),
            SylvesterVariant.Orthogonal => tape.Orthogonalize(tape.Use(_q!)),
            SylvesterVariant.Householder => tape.HouseholderProduct(tape.Use(_householder!), m),
            _ => tape.Constant(_permutation, d, m),
        };
    }

    private static int CheckedContext(int contextDimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(contextDimension);
        return contextDimension;
    }
}
