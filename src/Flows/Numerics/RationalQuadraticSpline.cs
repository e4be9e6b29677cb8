using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

/// <summary>
/// The monotone rational-quadratic spline of Gregory &amp; Delbourgo (1982) as used by Durkan et al. (2019) on a batch:
/// values and log-determinants of n rows of d features with per-row (or shared) parameters, and the gradients back to
/// the inputs and the unconstrained parameters. The maths per element is <see cref="SplineLanes{T, TV}"/>, at 256 or 512 bits.
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
/// <para>Circular mode (<see cref="SplineSettings{T}.Circular"/>, Rezende et al. 2020, arXiv:2002.02428): 3K parameters
/// per feature, the last derivative pre-activation giving the one derivative at both ends (so the map of [−B, B] onto
/// itself is C¹ on the circle) in place of the boundary derivatives 1; everything else is unchanged.</para>
/// </remarks>
internal static class RationalQuadraticSpline
{
    // Softmax widths and heights of one vector of lanes up to this many bins live on the stack (8 KiB in double at 512 bits).
    private const int StackBinCount = 64;

    // Padded parameter copies up to this many bytes live on the stack: (3K − 1) vectors, so 64 bins at either width.
    private const int StackPaddedBytes = 12 * 1024;

    /// <summary>
    /// Whether the calls for rows of <paramref name="features"/> features run 512-bit lanes: where the vector width is 512
    /// (<see cref="VectorWidth"/>) and a row fills at least one such vector. Narrower rows would leave more lanes idle
    /// in a 512-bit vector than in a 256-bit one, for the same number of vectors per row. (One feature per row without
    /// recording lays rows across the lanes instead, so it runs at the full width whatever this says; it saves nothing.)
    /// </summary>
    public static bool UsesWideLanes<T>(int features) where T : unmanaged, IFloatingPointIeee754<T>
        => VectorWidth.Current == 512 && Vector512<T>.IsSupported && features >= Vector512<T>.Count;

    /// <summary>Values that <see cref="Evaluate"/> saves for <see cref="Backpropagate"/>: per row and vector of features,
    /// the softmax widths and heights and the bin, point and derivatives of every lane.</summary>
    /// <param name="rows">n.</param>
    /// <param name="features">d.</param>
    /// <param name="binCount">K.</param>
    /// <param name="wide">Whether the lanes are 512 bits wide (<see cref="UsesWideLanes"/>).</param>
    public static int SavedLength<T>(int rows, int features, int binCount, bool wide) where T : unmanaged, IFloatingPointIeee754<T>
        => wide ? SavedLengthAt<T, Lanes512<T>>(rows, features, binCount) : SavedLengthAt<T, Lanes256<T>>(rows, features, binCount);

    /// <summary>Computes <paramref name="output"/> and the row sums of the log-derivatives, <paramref name="logDet"/>.</summary>
    /// <param name="input">n × d, row-major.</param>
    /// <param name="parameters">n × (3K − 1)·d, or one such row shared by all rows; column p·d + j is parameter p of feature j.</param>
    /// <param name="features">d. Range: ≥ 0.</param>
    /// <param name="settings">The spline settings.</param>
    /// <param name="inverse">Whether to run the inverse.</param>
    /// <param name="wide">Whether to run 512-bit lanes (<see cref="UsesWideLanes"/>; only a 512-bit capable element type).</param>
    /// <param name="output">n × d.</param>
    /// <param name="logDet">n.</param>
    /// <param name="saved"><see cref="SavedLength"/> values to keep for <see cref="Backpropagate"/>, or empty.</param>
    public static void Evaluate<T>(ReadOnlySpan<T> input, ReadOnlySpan<T> parameters, int features, in SplineSettings<T> settings,
        bool inverse, bool wide, Span<T> output, Span<T> logDet, Span<T> saved)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (saved.IsEmpty && features == 1)
        {
            // One feature per row takes rows across the lanes, so any width fills its vectors.
            if (VectorWidth.Current == 512 && Vector512<T>.IsSupported)
            {
                EvaluateAcrossRows<T, Lanes512<T>>(input, parameters, settings, inverse, output, logDet);
            }
            else
            {
                EvaluateAcrossRows<T, Lanes256<T>>(input, parameters, settings, inverse, output, logDet);
            }

            return;
        }

        if (wide)
        {
            EvaluateAt<T, Lanes512<T>>(input, parameters, features, settings, inverse, output, logDet, saved);
        }
        else
        {
            EvaluateAt<T, Lanes256<T>>(input, parameters, features, settings, inverse, output, logDet, saved);
        }
    }

    /// <summary>
    /// Sums each row's log-derivatives into <paramref name="logDet"/> as <see cref="Evaluate"/> sums a row of
    /// <paramref name="features"/> features (<see cref="RowSum{T, TV}"/>, at the width <see cref="UsesWideLanes"/> picks),
    /// so a row evaluated one feature at a time gets the log-det bits of the whole row.
    /// </summary>
    /// <param name="logDerivatives">n × d, row-major.</param>
    /// <param name="features">d. Range: &gt; 0.</param>
    /// <param name="logDet">n.</param>
    public static void SumLogDerivatives<T>(ReadOnlySpan<T> logDerivatives, int features, Span<T> logDet)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(features > 0 && logDerivatives.Length == logDet.Length * features);
        if (UsesWideLanes<T>(features))
        {
            SumLogDerivativesAt<T, Lanes512<T>>(logDerivatives, features, logDet);
        }
        else
        {
            SumLogDerivativesAt<T, Lanes256<T>>(logDerivatives, features, logDet);
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
    /// <param name="wide">Whether <see cref="Evaluate"/> ran 512-bit lanes.</param>
    /// <param name="saved">What <see cref="Evaluate"/> saved.</param>
    /// <param name="outputGradient">n × d.</param>
    /// <param name="logDetGradient">n.</param>
    /// <param name="inputGradient">n × d, or empty when the input needs no gradient.</param>
    /// <param name="parameterGradient">Shaped like the parameters, or empty when they need no gradient.</param>
    public static void Backpropagate<T>(int features, bool sharedParameters, in SplineSettings<T> settings, bool inverse, bool wide,
        Span<T> saved, ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> logDetGradient, Span<T> inputGradient, Span<T> parameterGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (wide)
        {
            BackpropagateAt<T, Lanes512<T>>(features, sharedParameters, settings, inverse, saved, outputGradient, logDetGradient, inputGradient,
                parameterGradient);
        }
        else
        {
            BackpropagateAt<T, Lanes256<T>>(features, sharedParameters, settings, inverse, saved, outputGradient, logDetGradient, inputGradient,
                parameterGradient);
        }
    }

    private static int SavedLengthAt<T, TV>(int rows, int features, int binCount)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : unmanaged, ISimdLanes<TV, T>
        => rows * VectorsPerRow<T, TV>(features) * SplineLanes<T, TV>.SavedLength(binCount) * TV.Count;

    private static void EvaluateAt<T, TV>(ReadOnlySpan<T> input, ReadOnlySpan<T> parameters, int features, in SplineSettings<T> settings,
        bool inverse, Span<T> output, Span<T> logDet, Span<T> saved)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : unmanaged, ISimdLanes<TV, T>
    {
        var batch = new SplineBatch<T>(input, parameters, logDet.Length, features, settings.ParametersPerFeature, TV.Count);
        int k = settings.BinCount;
        bool saving = !saved.IsEmpty;
        Debug.Assert(output.Length == input.Length && (!saving || saved.Length == SavedLengthAt<T, TV>(batch.Rows, features, k)));
        Span<TV> scratch = saving ? default : k <= StackBinCount ? stackalloc TV[2 * k] : new TV[2 * k];
        Span<TV> savedVectors = MemoryMarshal.Cast<T, TV>(saved);
        int perVector = SplineLanes<T, TV>.SavedLength(k);
        Span<T> padded = !batch.NeedsPadding ? default : batch.PaddedLength * Unsafe.SizeOf<T>() <= StackPaddedBytes ? stackalloc T[batch.PaddedLength] : new T[batch.PaddedLength];
        Span<T> paddedInput = stackalloc T[TV.Count];
        ref T x = ref MemoryMarshal.GetReference(input);
        ref T y = ref MemoryMarshal.GetReference(output);
        int width = TV.Count;
        int slot = 0;
        for (int i = 0; i < batch.Rows; i++)
        {
            var sum = new RowSum<T, TV>();
            for (int j = 0; j < features; j += width)
            {
                // When saving, the softmax is computed straight into its saved place.
                Span<TV> kept = saving ? savedVectors.Slice(slot++ * perVector, perVector) : default;
                Span<TV> probabilities = saving ? kept[..(2 * k)] : scratch;
                if (j + width <= features)
                {
                    nuint at = (nuint)((i * features) + j);
                    var lanes = new SplineLanes<T, TV>(ref batch.Parameter(i, j), (nuint)features, TV.Load(ref x, at), settings, inverse, probabilities);
                    lanes.Output.Store(ref y, at);
                    sum.Add(lanes.LogDerivative);
                    if (saving)
                    {
                        lanes.Save(kept);
                    }
                }
                else
                {
                    // The last features of the row, fewer than a vector, through a padded copy whose spare lanes are tails.
                    paddedInput.Fill(T.PositiveInfinity);
                    input.Slice((i * features) + j, features - j).CopyTo(paddedInput);
                    var lanes = new SplineLanes<T, TV>(ref batch.PadParameters(i, j, padded), (nuint)width, TV.Create(paddedInput),
                        settings, inverse, probabilities);
                    for (int l = 0; j + l < features; l++)
                    {
                        output[(i * features) + j + l] = lanes.Output[l];
                    }

                    sum.Add(lanes.LogDerivative);
                    if (saving)
                    {
                        lanes.Save(kept);
                    }
                }
            }

            logDet[i] = sum.Total;
        }
    }

    private static void SumLogDerivativesAt<T, TV>(ReadOnlySpan<T> logDerivatives, int features, Span<T> logDet)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : unmanaged, ISimdLanes<TV, T>
    {
        int width = TV.Count;
        Span<T> padded = stackalloc T[width];
        ref T source = ref MemoryMarshal.GetReference(logDerivatives);
        for (int i = 0; i < logDet.Length; i++)
        {
            var sum = new RowSum<T, TV>();
            int j = 0;
            for (; j + width <= features; j += width)
            {
                sum.Add(TV.Load(ref source, (nuint)((i * features) + j)));
            }

            if (j < features)
            {
                // The last features of the row in a zero-padded vector: the zeros of Evaluate's spare (tail) lanes.
                padded.Clear();
                logDerivatives.Slice((i * features) + j, features - j).CopyTo(padded);
                sum.Add(TV.Create(padded));
            }

            logDet[i] = sum.Total;
        }
    }

    // One feature per row (a sequential autoregressive pass): W rows share a vector instead of one row padding it with
    // tails. The lanes are independent, and a row's log-det is its one log-derivative (the per-row path adds zeros to
    // it), so each row gets the same bits either way.
    private static void EvaluateAcrossRows<T, TV>(ReadOnlySpan<T> input, ReadOnlySpan<T> parameters, in SplineSettings<T> settings, bool inverse,
        Span<T> output, Span<T> logDet)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : unmanaged, ISimdLanes<TV, T>
    {
        int k = settings.BinCount;
        var batch = new SplineBatch<T>(input, parameters, logDet.Length, 1, settings.ParametersPerFeature, TV.Count);
        Span<TV> scratch = k <= StackBinCount ? stackalloc TV[2 * k] : new TV[2 * k];
        int width = TV.Count;
        Span<T> padded = batch.PaddedLength * Unsafe.SizeOf<T>() <= StackPaddedBytes ? stackalloc T[batch.PaddedLength] : new T[batch.PaddedLength];
        Span<T> inputs = stackalloc T[width];
        for (int first = 0; first < batch.Rows; first += width)
        {
            int filled = Math.Min(width, batch.Rows - first);
            inputs.Fill(T.PositiveInfinity); // spare lanes are tails
            padded.Clear();
            for (int lane = 0; lane < filled; lane++)
            {
                ref T raw = ref batch.Parameter(first + lane, 0);
                for (int p = 0; p < batch.PerFeature; p++)
                {
                    padded[(p * width) + lane] = Unsafe.Add(ref raw, p);
                }

                inputs[lane] = input[first + lane];
            }

            var lanes = new SplineLanes<T, TV>(ref MemoryMarshal.GetReference(padded), (nuint)width, TV.Create(inputs), settings, inverse, scratch);
            for (int lane = 0; lane < filled; lane++)
            {
                output[first + lane] = lanes.Output[lane];
                logDet[first + lane] = lanes.LogDerivative[lane] + T.Zero;
            }
        }
    }

    private static void BackpropagateAt<T, TV>(int features, bool sharedParameters, in SplineSettings<T> settings, bool inverse, Span<T> saved,
        ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> logDetGradient, Span<T> inputGradient, Span<T> parameterGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : unmanaged, ISimdLanes<TV, T>
    {
        int k = settings.BinCount;
        int rows = logDetGradient.Length;
        int perFeature = settings.ParametersPerFeature;
        int parameterRowStride = sharedParameters ? 0 : perFeature * features;
        bool toInput = !inputGradient.IsEmpty;
        bool toParameters = !parameterGradient.IsEmpty;
        Debug.Assert(outputGradient.Length == rows * features && saved.Length == SavedLengthAt<T, TV>(rows, features, k));
        Debug.Assert((!toInput || inputGradient.Length == rows * features)
            && (!toParameters || parameterGradient.Length == (sharedParameters ? 1 : rows) * perFeature * features));
        Span<TV> savedVectors = MemoryMarshal.Cast<T, TV>(saved);
        int perVector = SplineLanes<T, TV>.SavedLength(k);
        int width = TV.Count;
        int paddedLength = features % width == 0 ? 0 : perFeature * width;
        Span<T> paddedGradient = paddedLength * Unsafe.SizeOf<T>() <= StackPaddedBytes ? stackalloc T[paddedLength] : new T[paddedLength];
        Span<T> gPadded = stackalloc T[width];
        ref T g = ref MemoryMarshal.GetReference(outputGradient);
        ref T dInput = ref MemoryMarshal.GetReference(inputGradient);
        ref T dParameters = ref MemoryMarshal.GetReference(parameterGradient);
        int slot = 0;
        for (int i = 0; i < rows; i++)
        {
            TV gLogDet = TV.Create(logDetGradient[i]);
            ref T dRow = ref Unsafe.Add(ref dParameters, i * parameterRowStride);
            for (int j = 0; j < features; j += width)
            {
                var lanes = new SplineLanes<T, TV>(savedVectors.Slice(slot++ * perVector, perVector), k);
                if (j + width <= features)
                {
                    nuint at = (nuint)((i * features) + j);
                    TV dx = lanes.Backpropagate(TV.Load(ref g, at), gLogDet, inverse, toParameters, ref Unsafe.Add(ref dRow, j), (nuint)features, settings);
                    if (toInput)
                    {
                        (TV.Load(ref dInput, at) + dx).Store(ref dInput, at);
                    }

                    continue;
                }

                // The padded last features of the row: gradients into a scratch laid out as the padded parameters.
                int count = features - j;
                paddedGradient.Clear();
                gPadded.Clear();
                outputGradient.Slice((i * features) + j, count).CopyTo(gPadded);
                TV dxPadded = lanes.Backpropagate(TV.Create(gPadded), gLogDet, inverse, toParameters,
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

    private static int VectorsPerRow<T, TV>(int features)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : unmanaged, ISimdLanes<TV, T>
        => (features + TV.Count - 1) / TV.Count;

    // A row's log-det as the spline sums it: its log-derivatives a vector of features at a time, added lane by lane in
    // feature order from zero (the spare lanes of a padded last vector hold zeros, as a tail's log-derivative is), then
    // the lanes by TV.Sum. Evaluate adds the vectors it computes, SumLogDerivatives the vectors it loads: one order.
    private struct RowSum<T, TV>()
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : unmanaged, ISimdLanes<TV, T>
    {
        private TV _lanes = TV.Zero;

        public readonly T Total => _lanes.Sum();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(TV logDerivatives) => _lanes += logDerivatives;
    }

    // Addresses into one batch's parameters (one shared row when there is only one), and the padded copies of the last
    // features of a row when d is not a whole number of vectors of the given width.
    private readonly ref struct SplineBatch<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly ReadOnlySpan<T> _parameters;
        private readonly int _features;
        private readonly int _parameterRowStride;
        private readonly int _width;

        public SplineBatch(ReadOnlySpan<T> input, ReadOnlySpan<T> parameters, int rows, int features, int perFeature, int width)
        {
            _parameters = parameters;
            _features = features;
            _width = width;
            PerFeature = perFeature;
            Rows = rows;
            _parameterRowStride = parameters.Length == PerFeature * features ? 0 : PerFeature * features;
            Debug.Assert(input.Length == Rows * features && (parameters.Length == PerFeature * features || parameters.Length == Rows * PerFeature * features));
        }

        public int Rows { get; }

        public int PerFeature { get; }

        public bool NeedsPadding => _features % _width != 0;

        // One lane group of parameters, parameter-major: PerFeature vectors.
        public int PaddedLength => PerFeature * _width;

        public ref T Parameter(int row, int feature)
            => ref Unsafe.Add(ref MemoryMarshal.GetReference(_parameters), (row * _parameterRowStride) + feature);

        // Copies parameters of features feature..d − 1 into lanes 0..; spare lanes hold zeros (any finite value would do).
        public ref T PadParameters(int row, int feature, Span<T> padded)
        {
            padded[..PaddedLength].Clear();
            ReadOnlySpan<T> source = _parameters.Slice(row * _parameterRowStride, PerFeature * _features);
            for (int p = 0; p < PerFeature; p++)
            {
                source.Slice((p * _features) + feature, _features - feature).CopyTo(padded.Slice(p * _width, _width));
            }

            return ref MemoryMarshal.GetReference(padded);
        }
    }
}

/// <summary>The fixed settings of a rational-quadratic spline, with derived constants.</summary>
internal readonly struct SplineSettings<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public SplineSettings(int binCount, double bound, double minimumWidth, double minimumHeight, double minimumDerivative, bool circular = false)
    {
        BinCount = binCount;
        Circular = circular;
        Bound = T.CreateTruncating(bound);
        MinimumWidth = T.CreateTruncating(minimumWidth);
        MinimumHeight = T.CreateTruncating(minimumHeight);
        MinimumDerivative = T.CreateTruncating(minimumDerivative);
        DerivativeOffset = T.CreateTruncating(Math.Log(Math.Exp(1 - minimumDerivative) - 1));
        WidthScale = T.CreateTruncating(2 * bound * (1 - (binCount * minimumWidth)));
        HeightScale = T.CreateTruncating(2 * bound * (1 - (binCount * minimumHeight)));
    }

    /// <summary>Rebuilds the settings that <see cref="CopyTo"/> wrote, bit for bit.</summary>
    public SplineSettings(int binCount, bool circular, ReadOnlySpan<T> values)
    {
        BinCount = binCount;
        Circular = circular;
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

    /// <summary>
    /// Whether the spline is circular (Rezende et al. 2020): the two boundary derivatives are one learned value,
    /// m_δ + softplus(u + c) with u the last of K derivative pre-activations, instead of 1; 3K parameters per feature.
    /// </summary>
    public bool Circular { get; }

    /// <summary>3K − 1, or 3K when <see cref="Circular"/>.</summary>
    public int ParametersPerFeature => (3 * BinCount) - (Circular ? 0 : 1);

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
