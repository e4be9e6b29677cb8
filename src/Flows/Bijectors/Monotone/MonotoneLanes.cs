using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// The data → base direction of <see cref="MonotoneOps"/> (F itself, with its log-derivative and gradients) for a function
/// with lanes (<see cref="IMonotoneLanes{T}"/>), W elements at a time, W = the lanes of one 256- or 512-bit vector
/// (<see cref="VectorWidth"/>).
/// </summary>
/// <remarks>
/// <para>Blocks of lanes: with d ≥ W, W consecutive features of one row (and the row's last d mod W features padded), whose
/// θ_p are W consecutive values of the parameter row (column p·d + j), so one vector load per parameter, as the spline
/// lanes read theirs; with d &lt; W, W consecutive elements of the row-major batch across rows, gathered one by one, so
/// that no lane idles but in the last vector. Spare lanes compute zero parameters at 0 and are dropped.</para>
/// <para>Tails (|x| &gt; B) evaluate at ±B and extend linearly, exactly as <see cref="MonotoneOps"/>' scalar path does, lane
/// by lane (NaN stays NaN). log F′ is taken per element by the scalar logarithm and summed per row in column order from
/// zero, so outputs, log-determinants and gradients have the scalar path's bits at every width (tested against it and
/// against the papers' formulas).</para>
/// <para>The backward pass uses the rules of <see cref="MonotoneOps"/> for F: inside, ∂x += a·f′ + l·∂log f′/∂x and
/// θ += a·∂f/∂θ + l·∂log f′/∂θ; on a tail at e = ±B, ∂x += a·f′(e) and θ += a·∂f(e)/∂θ + (a·(x − e)·f′(e) + l)·∂log f′(e)/∂θ.</para>
/// </remarks>
internal static class MonotoneLanes
{
    // Vectors of θ, prepared values and their gradients up to this many live on the stack (40 KiB at 512 bits): the
    // largest settings, a sum of 16 squares of degree 8 (2·145 + 2·145) or a Bernstein degree 100 (4·101), stay there.
    private const int StackVectors = 640;

    /// <summary>F (data → base) of <paramref name="function"/> on a batch, recorded with its lane-wise backward pass.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="input">n × d.</param>
    /// <param name="parameters">n × (P·d), or a 1 × (P·d) row shared by every row; column p·d + j is θ_p of feature j.</param>
    /// <param name="function">The monotone map.</param>
    /// <param name="state">The same function, boxed once by its owner: what the backward pass reads.</param>
    /// <returns>The n × d output and the n × 1 log|det J|.</returns>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static (Node<T> Output, Node<T> LogDet) MonotoneLanesForward<T, TFunction>(this Tape<T> tape, Node<T> input, Node<T> parameters,
        TFunction function, object state)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TFunction : struct, IMonotoneLanes<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(parameters);
        MonotoneOps.CheckParameters(input, parameters, function.ParameterCount);
        Node<T> output = tape.Allocate(input.Rows, input.Columns);
        Node<T> logDet = tape.Allocate(input.Rows, 1);
        Node<T> logDerivatives = tape.Allocate(input.Rows, input.Columns);
        if (Wide<T>())
        {
            Evaluate<T, TFunction, Lanes512<T>>(function, input, parameters, output.Values, logDerivatives.Values);
        }
        else
        {
            Evaluate<T, TFunction, Lanes256<T>>(function, input, parameters, output.Values, logDerivatives.Values);
        }

        // Summed in column order from zero, as the scalar path and MaskedAutoregressive's sequential pass sum.
        Kernels.RowSumsInColumnOrder<T>(logDerivatives.Values, input.Columns, logDet.Values);

        tape.Record(LanesBackward<T, TFunction>.Instance, output, input, parameters, output1: logDet, state: state);
        return (output, logDet);
    }

    private static bool Wide<T>() where T : unmanaged, IFloatingPointIeee754<T>
        => VectorWidth.Current == 512 && Vector512<T>.IsSupported;

    private static void Evaluate<T, TFunction, TV>(TFunction function, Node<T> input, Node<T> parameters, Span<T> output, Span<T> logDerivatives)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TFunction : struct, IMonotoneLanes<T>
        where TV : unmanaged, ISimdLanes<TV, T>
    {
        int p = function.ParameterCount;
        int q = function.PreparedCount;
        int width = TV.Count;
        Span<TV> vectors = p + q <= StackVectors ? stackalloc TV[p + q] : new TV[p + q];
        Span<TV> theta = vectors[..p];
        Span<TV> prepared = vectors[p..];
        Span<T> lanes = stackalloc T[3 * width]; // x, then F and F′ of each lane
        Span<T> xs = lanes[..width];
        Span<T> values = lanes.Slice(width, width);
        Span<T> slopes = lanes.Slice(2 * width, width);
        TV high = TV.Create(function.Bound);
        TV low = -high;
        var blocks = new Blocks<T>(input, parameters, width);
        while (blocks.Next(theta, xs))
        {
            function.Prepare(theta, prepared);
            TV v = TV.Create(xs);
            TV above = TV.GreaterThan(v, high);
            TV below = TV.LessThan(v, low);
            TV end = TV.Select(above, high, TV.Select(below, low, v));
            (TV value, TV slope) = function.Evaluate<TV>(end, prepared);
            // Linear tails beyond ±B: F(x) = f(e) + f′(e)(x − e), F′ = f′(e).
            TV.Select(above | below, value + (slope * (v - end)), value).Store(ref MemoryMarshal.GetReference(values), 0);
            slope.Store(ref MemoryMarshal.GetReference(slopes), 0);
            int start = blocks.Start;
            for (int lane = 0; lane < blocks.Count; lane++)
            {
                output[start + lane] = values[lane];
                logDerivatives[start + lane] = T.Log(slopes[lane]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Advance(ref int row, ref int feature, int d)
    {
        if (++feature == d)
        {
            feature = 0;
            row++;
        }
    }

    // The blocks of lanes in row-major order (see the class remarks): each fills the lanes' θ vectors and inputs.
    private ref struct Blocks<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly ReadOnlySpan<T> _input;
        private readonly Node<T> _parameters;
        private readonly int _width;
        private readonly int _features;
        private readonly int _total;
        private int _next;
        private int _nextRow;
        private int _nextFeature;

        public Blocks(Node<T> input, Node<T> parameters, int width)
        {
            _input = input.Values;
            _parameters = parameters;
            _width = width;
            _features = input.Columns;
            _total = input.Rows * input.Columns;
        }

        /// <summary>The first element of the block: its index, row and feature.</summary>
        public int Start { get; private set; }

        public int Row { get; private set; }

        public int Feature { get; private set; }

        /// <summary>The lanes in use.</summary>
        public int Count { get; private set; }

        /// <summary>Whether the block is W features of one row (θ and x loaded as vectors).</summary>
        public bool Contiguous { get; private set; }

        /// <summary>Offset of the block's θ₀ in the parameter values (contiguous blocks).</summary>
        public int ParameterOffset { get; private set; }

        public bool Next<TV>(scoped Span<TV> theta, scoped Span<T> xs) where TV : unmanaged, ISimdLanes<TV, T>
        {
            if (_next >= _total)
            {
                return false;
            }

            int d = _features;
            Start = _next;
            Row = _nextRow;
            Feature = _nextFeature;
            Count = d >= _width ? Math.Min(_width, d - Feature) : Math.Min(_width, _total - Start);
            Contiguous = Count == _width && d >= _width;
            int parameterRow = _parameters.Rows == 1 ? 0 : Row;
            ParameterOffset = (parameterRow * _parameters.Columns) + Feature;
            if (Contiguous)
            {
                ref T raw = ref MemoryMarshal.GetReference(_parameters.Values);
                for (int k = 0; k < theta.Length; k++)
                {
                    theta[k] = TV.Load(ref raw, (nuint)(ParameterOffset + (k * d)));
                }

                _input.Slice(Start, _width).CopyTo(xs);
            }
            else
            {
                Span<T> values = MemoryMarshal.Cast<TV, T>(theta);
                values.Clear();
                xs.Clear();
                int row = Row;
                int feature = Feature;
                for (int lane = 0; lane < Count; lane++)
                {
                    ReadOnlySpan<T> source = _parameters.Values.Slice((_parameters.Rows == 1 ? 0 : row) * _parameters.Columns, _parameters.Columns);
                    for (int k = 0; k < theta.Length; k++)
                    {
                        values[(k * _width) + lane] = source[(k * d) + feature];
                    }

                    xs[lane] = _input[Start + lane];
                    Advance(ref row, ref feature, d);
                }
            }

            _next = Start + Count;
            _nextRow = Row;
            _nextFeature = Feature;
            for (int lane = 0; lane < Count; lane++)
            {
                Advance(ref _nextRow, ref _nextFeature, d);
            }

            return true;
        }
    }

    private static class LanesBackward<T, TFunction>
        where T : unmanaged, IFloatingPointIeee754<T>
        where TFunction : struct, IMonotoneLanes<T>
    {
        public static readonly Backward<T> Instance = Run;

        private static void Run(in TapeEntry<T> e)
        {
            var function = (TFunction)e.State!;
            if (Wide<T>())
            {
                Backpropagate<Lanes512<T>>(function, e);
            }
            else
            {
                Backpropagate<Lanes256<T>>(function, e);
            }
        }

        private static void Backpropagate<TV>(TFunction function, in TapeEntry<T> e) where TV : unmanaged, ISimdLanes<TV, T>
        {
            Node<T> input = e.Input0;
            Node<T> parameters = e.Input1!;
            bool inputGradient = input.RequiresGradient;
            bool parameterGradient = parameters.RequiresGradient;
            if (!inputGradient && !parameterGradient)
            {
                return;
            }

            int d = input.Columns;
            int p = function.ParameterCount;
            int q = function.PreparedCount;
            int width = TV.Count;
            int all = (2 * p) + (2 * q);
            Span<TV> vectors = all <= StackVectors ? stackalloc TV[all] : new TV[all];
            Span<TV> theta = vectors[..p];
            Span<TV> thetaGradient = vectors.Slice(p, p);
            Span<TV> prepared = vectors.Slice(2 * p, q);
            Span<TV> preparedGradient = vectors.Slice((2 * p) + q, q);
            ReadOnlySpan<T> thetaGradientValues = MemoryMarshal.Cast<TV, T>(thetaGradient);
            Span<T> lanes = stackalloc T[4 * width]; // x, a, l, then ∂x of each lane
            Span<T> xs = lanes[..width];
            Span<T> outputWeights = lanes.Slice(width, width);
            Span<T> logDetWeights = lanes.Slice(2 * width, width);
            Span<T> inputWeights = lanes.Slice(3 * width, width);
            ReadOnlySpan<T> outputGradients = e.Output.Gradients;
            ReadOnlySpan<T> logDetGradients = e.Output1!.Gradients;
            T bound = function.Bound;
            TV high = TV.Create(bound);
            TV low = -high;
            var blocks = new Blocks<T>(input, parameters, width);
            while (blocks.Next(theta, xs))
            {
                int start = blocks.Start;
                int count = blocks.Count;
                bool anyTail = false;
                outputWeights.Clear();
                logDetWeights.Clear();
                int row = blocks.Row;
                int feature = blocks.Feature;
                for (int lane = 0; lane < count; lane++)
                {
                    anyTail |= xs[lane] > bound || xs[lane] < -bound;
                    outputWeights[lane] = outputGradients[start + lane];
                    logDetWeights[lane] = logDetGradients[row];
                    Advance(ref row, ref feature, d);
                }

                function.Prepare(theta, prepared);
                TV v = TV.Create(xs);
                TV a = TV.Create(outputWeights);
                TV l = TV.Create(logDetWeights);
                TV above = TV.GreaterThan(v, high);
                TV below = TV.LessThan(v, low);
                TV tail = above | below;
                TV end = TV.Select(above, high, TV.Select(below, low, v));
                TV tailSlope = TV.Zero;
                TV logWeight = l;
                if (anyTail)
                {
                    // On a tail log F′ = log f′(e), while F's value moves with f′(e) through (x − e)·f′(e).
                    tailSlope = function.Evaluate<TV>(end, prepared).Derivative;
                    logWeight = TV.Select(tail, (a * (v - end) * tailSlope) + l, l);
                }

                preparedGradient.Clear();
                (TV slope, TV logSlope) = function.Backpropagate(end, prepared, a, logWeight, preparedGradient);
                TV dx = TV.Select(tail, a * tailSlope, (a * slope) + (l * logSlope));
                if (parameterGradient)
                {
                    thetaGradient.Clear();
                    function.Finish<TV>(theta, preparedGradient, thetaGradient);
                }

                if (blocks.Contiguous)
                {
                    // Each lane its own feature: whole vectors of ∂x and of each θ_p's gradient.
                    if (inputGradient)
                    {
                        ref T target = ref MemoryMarshal.GetReference(input.Gradients);
                        (TV.Load(ref target, (nuint)start) + dx).Store(ref target, (nuint)start);
                    }

                    if (parameterGradient)
                    {
                        ref T target = ref MemoryMarshal.GetReference(parameters.Gradients);
                        for (int k = 0; k < p; k++)
                        {
                            nuint at = (nuint)(blocks.ParameterOffset + (k * d));
                            (TV.Load(ref target, at) + thetaGradient[k]).Store(ref target, at);
                        }
                    }

                    continue;
                }

                dx.Store(ref MemoryMarshal.GetReference(inputWeights), 0);
                row = blocks.Row;
                feature = blocks.Feature;
                for (int lane = 0; lane < count; lane++)
                {
                    if (inputGradient)
                    {
                        input.Gradients[start + lane] += inputWeights[lane];
                    }

                    if (parameterGradient)
                    {
                        // Lane by lane in element order: with shared parameters two lanes may be one feature.
                        Span<T> target = parameters.Gradients.Slice((parameters.Rows == 1 ? 0 : row) * parameters.Columns, parameters.Columns);
                        for (int k = 0; k < p; k++)
                        {
                            target[(k * d) + feature] += thetaGradientValues[(k * width) + lane];
                        }
                    }

                    Advance(ref row, ref feature, d);
                }
            }
        }
    }
}
