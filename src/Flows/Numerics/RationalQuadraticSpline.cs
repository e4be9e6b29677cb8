using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

/// <summary>
/// The monotone rational-quadratic spline of Gregory &amp; Delbourgo (1982) as used by Durkan et al. (2019) on a batch:
/// values and log-determinants of n rows of d features with per-row (or shared) parameters, and the gradients back to
/// the inputs and the unconstrained parameters. The maths per element is <see cref="SplineLanes{T}"/>.
/// </summary>
/// <remarks>
/// <para>Unconstrained parameters of one feature, 3K − 1 of them: K width logits, K height logits, K − 1 interior
/// derivative pre-activations. Widths are 2B·(m_w + (1 − K m_w)·softmax), heights likewise, interior derivatives
/// m_δ + softplus(u + c) with c = log(expm1(1 − m_δ)), so all-zero parameters give uniform bins with slope 1: the
/// identity. The boundary derivatives are 1, matching the identity tails outside [−B, B] (the map is C¹).</para>
/// <para>In bin k with ξ = (x − x_k)/w, s = h/w, t = ξ(1 − ξ), c = δ₀ + δ₁ − 2s (Eq. 4 and 5 of Durkan et al.):
/// y = y_k + h(sξ² + δ₀t)/(s + ct), dy/dx = s²(δ₁ξ² + 2st + δ₀(1 − ξ)²)/(s + ct)².
/// The inverse solves aξ² + bξ + c' = 0 with a = h(s − δ₀) + Δc, b = hδ₀ − Δc, c' = −sΔ (Δ = y − y_k) as
/// ξ = 2c'/(−b − √(b² − 4ac')), which has no cancellation; the discriminant is clamped at zero.</para>
/// <para>Gradients of the inverse come from the forward partials by the implicit function theorem:
/// ∂x/∂y = 1/F′, ∂x/∂θ = −∂F/∂θ / F′.</para>
/// </remarks>
internal static class RationalQuadraticSpline
{
    // Softmax widths and heights of one vector of lanes up to this many bins live on the stack (4 KiB in double).
    private const int StackBinCount = 64;

    // Padded parameter copies up to this many values live on the stack (K = 8 needs 23 vectors).
    private const int StackPaddedLength = 1024;

    /// <summary>Values that <see cref="Evaluate"/> saves for <see cref="Backpropagate"/>: per row and vector of features,
    /// the softmax widths and heights and the bin, point and derivatives of every lane.</summary>
    public static int SavedLength<T>(int rows, int features, int binCount) where T : unmanaged, IFloatingPointIeee754<T>
        => rows * VectorsPerRow<T>(features) * SplineLanes<T>.SavedLength(binCount) * Vector256<T>.Count;

    /// <summary>Computes <paramref name="output"/> and the row sums of the log-derivatives, <paramref name="logDet"/>.</summary>
    /// <param name="input">n × d, row-major.</param>
    /// <param name="parameters">n × (3K − 1)·d, or one such row shared by all rows; column p·d + j is parameter p of feature j.</param>
    /// <param name="features">d. Range: ≥ 0.</param>
    /// <param name="settings">The spline settings.</param>
    /// <param name="inverse">Whether to run the inverse.</param>
    /// <param name="output">n × d.</param>
    /// <param name="logDet">n.</param>
    /// <param name="saved"><see cref="SavedLength"/> values to keep for <see cref="Backpropagate"/>, or empty.</param>
    public static void Evaluate<T>(ReadOnlySpan<T> input, ReadOnlySpan<T> parameters, int features, in SplineSettings<T> settings,
        bool inverse, Span<T> output, Span<T> logDet, Span<T> saved)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var batch = new SplineBatch<T>(input, parameters, logDet.Length, features, settings.BinCount);
        int k = settings.BinCount;
        bool saving = !saved.IsEmpty;
        Debug.Assert(output.Length == input.Length && (!saving || saved.Length == SavedLength<T>(batch.Rows, features, k)));
        Span<Vector256<T>> scratch = saving ? default : k <= StackBinCount ? stackalloc Vector256<T>[2 * k] : new Vector256<T>[2 * k];
        Span<Vector256<T>> savedVectors = MemoryMarshal.Cast<T, Vector256<T>>(saved);
        int perVector = SplineLanes<T>.SavedLength(k);
        Span<T> padded = !batch.NeedsPadding ? default : batch.PaddedLength <= StackPaddedLength ? stackalloc T[batch.PaddedLength] : new T[batch.PaddedLength];
        if (!saving && features == 1)
        {
            EvaluateAcrossRows(batch, settings, inverse, output, logDet, scratch, padded);
            return;
        }

        ref T y = ref MemoryMarshal.GetReference(output);
        int width = Vector256<T>.Count;
        int slot = 0;
        for (int i = 0; i < batch.Rows; i++)
        {
            Vector256<T> sum = Vector256<T>.Zero;
            for (int j = 0; j < features; j += width)
            {
                // When saving, the softmax is computed straight into its saved place.
                Span<Vector256<T>> kept = saving ? savedVectors.Slice(slot++ * perVector, perVector) : default;
                Span<Vector256<T>> probabilities = saving ? kept[..(2 * k)] : scratch;
                if (j + width <= features)
                {
                    var lanes = new SplineLanes<T>(ref batch.Parameter(i, j), (nuint)features, batch.Input(i, j), settings, inverse, probabilities);
                    lanes.Output.StoreUnsafe(ref y, (nuint)((i * features) + j));
                    sum += lanes.LogDerivative;
                    if (saving)
                    {
                        lanes.Save(kept);
                    }
                }
                else
                {
                    // The last features of the row, fewer than a vector, through a padded copy whose spare lanes are tails.
                    var lanes = new SplineLanes<T>(ref batch.PadParameters(i, j, padded), (nuint)width, batch.PaddedInput(i, j, T.PositiveInfinity),
                        settings, inverse, probabilities);
                    for (int l = 0; j + l < features; l++)
                    {
                        output[(i * features) + j + l] = lanes.Output[l];
                    }

                    sum += lanes.LogDerivative;
                    if (saving)
                    {
                        lanes.Save(kept);
                    }
                }
            }

            logDet[i] = Vector256.Sum(sum);
        }
    }

    // One feature per row (a sequential autoregressive pass): W rows share a vector instead of one row padding it with
    // tails. The lanes are independent, and a row's log-det is the sum of its vector as in the per-row path (its one
    // log-derivative plus zeros), so each row gets the same bits either way.
    private static void EvaluateAcrossRows<T>(in SplineBatch<T> batch, in SplineSettings<T> settings, bool inverse, Span<T> output, Span<T> logDet,
        Span<Vector256<T>> scratch, Span<T> padded)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int width = Vector256<T>.Count;
        Span<T> inputs = stackalloc T[width];
        for (int first = 0; first < batch.Rows; first += width)
        {
            int filled = Math.Min(width, batch.Rows - first);
            inputs.Fill(T.PositiveInfinity); // spare lanes are tails
            padded[..batch.PaddedLength].Clear();
            for (int lane = 0; lane < filled; lane++)
            {
                ref T raw = ref batch.Parameter(first + lane, 0);
                for (int p = 0; p < batch.PerFeature; p++)
                {
                    padded[(p * width) + lane] = Unsafe.Add(ref raw, p);
                }

                inputs[lane] = batch.Input(first + lane);
            }

            var lanes = new SplineLanes<T>(ref MemoryMarshal.GetReference(padded), (nuint)width, Vector256.Create<T>(inputs), settings, inverse, scratch);
            for (int lane = 0; lane < filled; lane++)
            {
                output[first + lane] = lanes.Output[lane];
                logDet[first + lane] = Vector256.Sum(Vector256.CreateScalar(lanes.LogDerivative[lane]));
            }
        }
    }

    /// <summary>
    /// Accumulates into <paramref name="inputGradient"/> and <paramref name="parameterGradient"/> the gradients of a loss
    /// whose gradients with respect to the output and the log-determinant are <paramref name="outputGradient"/> and
    /// <paramref name="logDetGradient"/>, from what <see cref="Evaluate"/> saved (no knot is recomputed).
    /// </summary>
    /// <param name="features">d.</param>
    /// <param name="sharedParameters">Whether one parameter row served all rows.</param>
    /// <param name="settings">The spline settings.</param>
    /// <param name="inverse">Whether the inverse ran.</param>
    /// <param name="saved">What <see cref="Evaluate"/> saved.</param>
    /// <param name="outputGradient">n × d.</param>
    /// <param name="logDetGradient">n.</param>
    /// <param name="inputGradient">n × d, or empty when the input needs no gradient.</param>
    /// <param name="parameterGradient">Shaped like the parameters, or empty when they need no gradient.</param>
    public static void Backpropagate<T>(int features, bool sharedParameters, in SplineSettings<T> settings, bool inverse, Span<T> saved,
        ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> logDetGradient, Span<T> inputGradient, Span<T> parameterGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = settings.BinCount;
        int rows = logDetGradient.Length;
        int perFeature = (3 * k) - 1;
        int parameterRowStride = sharedParameters ? 0 : perFeature * features;
        bool toInput = !inputGradient.IsEmpty;
        bool toParameters = !parameterGradient.IsEmpty;
        Debug.Assert(outputGradient.Length == rows * features && saved.Length == SavedLength<T>(rows, features, k));
        Debug.Assert((!toInput || inputGradient.Length == rows * features)
            && (!toParameters || parameterGradient.Length == (sharedParameters ? 1 : rows) * perFeature * features));
        Span<Vector256<T>> savedVectors = MemoryMarshal.Cast<T, Vector256<T>>(saved);
        int perVector = SplineLanes<T>.SavedLength(k);
        int width = Vector256<T>.Count;
        int paddedLength = features % width == 0 ? 0 : perFeature * width;
        Span<T> paddedGradient = paddedLength <= StackPaddedLength ? stackalloc T[paddedLength] : new T[paddedLength];
        Span<T> gPadded = stackalloc T[width];
        ref T g = ref MemoryMarshal.GetReference(outputGradient);
        ref T dInput = ref MemoryMarshal.GetReference(inputGradient);
        ref T dParameters = ref MemoryMarshal.GetReference(parameterGradient);
        int slot = 0;
        for (int i = 0; i < rows; i++)
        {
            Vector256<T> gLogDet = Vector256.Create(logDetGradient[i]);
            ref T dRow = ref Unsafe.Add(ref dParameters, i * parameterRowStride);
            for (int j = 0; j < features; j += width)
            {
                var lanes = new SplineLanes<T>(savedVectors.Slice(slot++ * perVector, perVector), k);
                if (j + width <= features)
                {
                    nuint at = (nuint)((i * features) + j);
                    Vector256<T> dx = lanes.Backpropagate(Vector256.LoadUnsafe(ref g, at), gLogDet, inverse, toParameters,
                        ref Unsafe.Add(ref dRow, j), (nuint)features, settings);
                    if (toInput)
                    {
                        (Vector256.LoadUnsafe(ref dInput, at) + dx).StoreUnsafe(ref dInput, at);
                    }

                    continue;
                }

                // The padded last features of the row: gradients into a scratch laid out as the padded parameters.
                int count = features - j;
                paddedGradient.Clear();
                gPadded.Clear();
                outputGradient.Slice((i * features) + j, count).CopyTo(gPadded);
                Vector256<T> dxPadded = lanes.Backpropagate(Vector256.Create<T>(gPadded), gLogDet, inverse, toParameters,
                    ref MemoryMarshal.GetReference(paddedGradient), (nuint)width, settings);
                for (int l = 0; l < count; l++)
                {
                    if (toInput)
                    {
                        inputGradient[(i * features) + j + l] += dxPadded[l];
                    }

                    if (toParameters)
                    {
                        for (int p = 0; p < perFeature; p++)
                        {
                            Unsafe.Add(ref dRow, (p * features) + j + l) += paddedGradient[(p * width) + l];
                        }
                    }
                }
            }
        }
    }

    private static int VectorsPerRow<T>(int features) where T : unmanaged, IFloatingPointIeee754<T>
        => (features + Vector256<T>.Count - 1) / Vector256<T>.Count;

    // Addresses into one batch: rows of inputs, rows of parameters (one shared row when there is only one), and the
    // padded copies of the last features of a row when d is not a whole number of vectors.
    private readonly ref struct SplineBatch<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly ReadOnlySpan<T> _input;
        private readonly ReadOnlySpan<T> _parameters;
        private readonly int _features;
        private readonly int _parameterRowStride;

        public SplineBatch(ReadOnlySpan<T> input, ReadOnlySpan<T> parameters, int rows, int features, int binCount)
        {
            _input = input;
            _parameters = parameters;
            _features = features;
            PerFeature = (3 * binCount) - 1;
            Rows = rows;
            _parameterRowStride = parameters.Length == PerFeature * features ? 0 : PerFeature * features;
            Debug.Assert(input.Length == Rows * features && (parameters.Length == PerFeature * features || parameters.Length == Rows * PerFeature * features));
        }

        public int Rows { get; }

        public int PerFeature { get; }

        public bool NeedsPadding => _features % Vector256<T>.Count != 0;

        // One lane group of parameters, parameter-major: PerFeature vectors.
        public int PaddedLength => PerFeature * Vector256<T>.Count;

        public int ParameterRowStart(int row) => row * _parameterRowStride;

        public T Input(int element) => _input[element];

        public Vector256<T> Input(int row, int feature)
            => Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(_input), (nuint)((row * _features) + feature));

        public ref T Parameter(int row, int feature)
            => ref Unsafe.Add(ref MemoryMarshal.GetReference(_parameters), ParameterRowStart(row) + feature);

        public Vector256<T> PaddedInput(int row, int feature, T padding)
        {
            Span<T> lanes = stackalloc T[Vector256<T>.Count];
            lanes.Fill(padding);
            _input.Slice((row * _features) + feature, _features - feature).CopyTo(lanes);
            return Vector256.Create<T>(lanes);
        }

        // Copies parameters of features feature..d − 1 into lanes 0..; spare lanes hold zeros (any finite value would do).
        public ref T PadParameters(int row, int feature, Span<T> padded)
        {
            int width = Vector256<T>.Count;
            padded[..PaddedLength].Clear();
            ReadOnlySpan<T> source = _parameters.Slice(ParameterRowStart(row), PerFeature * _features);
            for (int p = 0; p < PerFeature; p++)
            {
                source.Slice((p * _features) + feature, _features - feature).CopyTo(padded.Slice(p * width, width));
            }

            return ref MemoryMarshal.GetReference(padded);
        }
    }
}

/// <summary>The fixed settings of a rational-quadratic spline, with derived constants.</summary>
internal readonly struct SplineSettings<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public SplineSettings(int binCount, double bound, double minimumWidth, double minimumHeight, double minimumDerivative)
    {
        BinCount = binCount;
        Bound = T.CreateTruncating(bound);
        MinimumWidth = T.CreateTruncating(minimumWidth);
        MinimumHeight = T.CreateTruncating(minimumHeight);
        MinimumDerivative = T.CreateTruncating(minimumDerivative);
        DerivativeOffset = T.CreateTruncating(Math.Log(Math.Exp(1 - minimumDerivative) - 1));
        WidthScale = T.CreateTruncating(2 * bound * (1 - (binCount * minimumWidth)));
        HeightScale = T.CreateTruncating(2 * bound * (1 - (binCount * minimumHeight)));
    }

    /// <summary>Rebuilds the settings that <see cref="CopyTo"/> wrote, bit for bit.</summary>
    public SplineSettings(int binCount, ReadOnlySpan<T> values)
    {
        BinCount = binCount;
        Bound = values[0];
        MinimumWidth = values[1];
        MinimumHeight = values[2];
        MinimumDerivative = values[3];
        DerivativeOffset = values[4];
        WidthScale = values[5];
        HeightScale = values[6];
    }

    /// <summary>Values written by <see cref="CopyTo"/>.</summary>
    public const int Length = 7;

    public int BinCount { get; }

    public T Bound { get; }

    public T MinimumWidth { get; }

    public T MinimumHeight { get; }

    public T MinimumDerivative { get; }

    /// <summary>c with m_δ + softplus(0 + c) = 1, so zero parameters give slope 1.</summary>
    public T DerivativeOffset { get; }

    /// <summary>∂W_i/∂p_i = 2B(1 − K m_w).</summary>
    public T WidthScale { get; }

    /// <summary>∂H_i/∂p_i = 2B(1 − K m_h).</summary>
    public T HeightScale { get; }

    /// <summary>Writes the settings (all but K) to <paramref name="destination"/>, <see cref="Length"/> values.</summary>
    public void CopyTo(Span<T> destination)
    {
        destination[0] = Bound;
        destination[1] = MinimumWidth;
        destination[2] = MinimumHeight;
        destination[3] = MinimumDerivative;
        destination[4] = DerivativeOffset;
        destination[5] = WidthScale;
        destination[6] = HeightScale;
    }
}
