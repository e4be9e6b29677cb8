using System.Numerics;
using Flows.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

internal static class SplineOps
{
    /// <summary>
    /// The fused monotone rational-quadratic spline with identity tails (Durkan et al. 2019), forward or inverse, and
    /// its log-determinant, with a hand-derived backward pass for the input and every spline parameter.
    /// </summary>
    /// <param name="tape">The tape.</param>
    /// <param name="input">n × d.</param>
    /// <param name="parameters">n × ((3K − 1)·d), or a 1 × ((3K − 1)·d) row shared by all rows (3K for a circular spline); column p·d + j is
    /// unconstrained parameter p of feature j (K width logits, K height logits, K − 1 derivative pre-activations).</param>
    /// <param name="binCount">K. Range: &gt; 0.</param>
    /// <param name="bound">B: the spline acts on [−B, B], the identity outside. Range: &gt; 0.</param>
    /// <param name="minimumWidth">Smallest bin width as a share of 2B. Range: [0, 1/K).</param>
    /// <param name="minimumHeight">Smallest bin height as a share of 2B. Range: [0, 1/K).</param>
    /// <param name="minimumDerivative">Smallest interior derivative. Range: (0, 1).</param>
    /// <param name="inverse">Whether to run the inverse.</param>
    /// <param name="circular">Whether the spline is circular (Rezende et al. 2020): 3K parameters per feature, the last
    /// derivative pre-activation giving both boundary derivatives, which are otherwise 1.</param>
    /// <returns>The n × d output and the n × 1 log|det J| of the direction that ran.</returns>
    /// <remarks>
    /// <para>Tail elements (|input| &gt; B, and NaN) take the identity with log-derivative 0 and no parameter gradient;
    /// the spline lanes they share a vector with evaluate them at 0 and discard the result, so no NaN or infinity of an
    /// untaken branch can reach a value or a gradient.</para>
    /// <para>Features are computed a vector at a time (<c>Numerics.SplineLanes</c>). When the op is recorded, the forward
    /// pass keeps its softmax widths and heights, bins and points in one saved arena node, about (2K + 10)·n·d values,
    /// so the backward pass recomputes no knot.</para>
    /// </remarks>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static (Node<T> Output, Node<T> LogDet) RationalQuadraticSpline<T>(this Tape<T> tape, Node<T> input, Node<T> parameters,
        int binCount, double bound, double minimumWidth, double minimumHeight, double minimumDerivative, bool inverse, bool circular = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(parameters);
        int d = input.Columns;
        int perFeature = (3 * binCount) - (circular ? 0 : 1);
        if (parameters.Columns != perFeature * d || (parameters.Rows != input.Rows && parameters.Rows != 1))
        {
            throw new ArgumentException(
                $"parameters is {parameters.Rows} × {parameters.Columns}; {binCount} bins on {d} features need {input.Rows} (or 1) × {perFeature * d}.",
                nameof(parameters));
        }

        var settings = new SplineSettings<T>(binCount, bound, minimumWidth, minimumHeight, minimumDerivative, circular);
        Node<T> output = tape.Allocate(input.Rows, d);
        Node<T> logDet = tape.Allocate(input.Rows, 1);

        // The backward pass gets the settings and everything the forward pass located (softmax, bins, points) in one
        // saved arena node, so it recomputes no knot; K, circularity, the lane width and the direction travel in the flag (the width so
        // that the saved lanes are read at the width that wrote them, whatever thread runs the backward pass). Recording
        // allocates nothing.
        bool recording = tape.IsRecording && (input.RequiresGradient || parameters.RequiresGradient);
        bool wide = Numerics.RationalQuadraticSpline.UsesWideLanes<T>(d);
        Node<T>? saved = recording
            ? tape.Allocate(1, SplineSettings<T>.Length + Numerics.RationalQuadraticSpline.SavedLength<T>(input.Rows, d, binCount, wide))
            : null;
        Span<T> state = saved is null ? default : saved.Values[SplineSettings<T>.Length..];
        Numerics.RationalQuadraticSpline.Evaluate<T>(input.Values, parameters.Values, d, settings, inverse, wide, output.Values, logDet.Values, state);
        if (saved is not null)
        {
            settings.CopyTo(saved.Values);
            tape.Record(RationalQuadraticSplineBackward<T>.Instance, output, input, parameters, output1: logDet, saved: saved,
                flag: (8 * binCount) + (circular ? 4 : 0) + (wide ? 2 : 0) + (inverse ? 1 : 0));
        }

        return (output, logDet);
    }

    private static class RationalQuadraticSplineBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // The rule itself, hand-derived and verified against central differences, is SplineLanes.Backpropagate.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> input = e.Input0;
            Node<T> parameters = e.Input1!;
            Span<T> saved = e.Saved!.Values;
            var settings = new SplineSettings<T>(e.Flag >> 3, circular: (e.Flag & 4) != 0, saved);
            Numerics.RationalQuadraticSpline.Backpropagate<T>(input.Columns, sharedParameters: parameters.Rows == 1, settings,
                inverse: (e.Flag & 1) != 0, wide: (e.Flag & 2) != 0, saved[SplineSettings<T>.Length..], e.Output.Gradients, e.Output1!.Gradients,
                input.RequiresGradient ? input.Gradients : default, parameters.RequiresGradient ? parameters.Gradients : default);
        }
    }
}
