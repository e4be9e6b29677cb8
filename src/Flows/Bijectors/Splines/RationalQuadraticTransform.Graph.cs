using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class RationalQuadraticTransform<T> : IConditionalTransformLowering
{
    Lowered IConditionalTransformLowering.LowerForward(GraphBuilder graph, string input, string parameters, int dimension)
        => Lower(graph, input, parameters, dimension, inverse: false);

    Lowered IConditionalTransformLowering.LowerInverse(GraphBuilder graph, string input, string parameters, int dimension)
        => Lower(graph, input, parameters, dimension, inverse: true);

    // The spline of Durkan et al. (2019) as Numerics.SplineLanes evaluates it, written with tensors of shape [n, d, K]:
    // softmax widths and heights, knots by a cumulative sum that starts at −B (the kernel's order of additions), the
    // bin found by counting the interior knots at or below the input, and each bin quantity picked by a one-hot
    // product, so the graph needs no searchsorted and no integer gather. Inputs outside [−B, B] pass through (linear
    // tails) with log-derivative 0.
    private Lowered Lower(GraphBuilder graph, string input, string parameters, int d, bool inverse)
    {
        int k = BinCount;
        int perFeature = ParametersPerFeature;
        T bound = T.CreateTruncating(TailBound);
        T minimumWidth = T.CreateTruncating(MinimumBinWidth);
        T minimumHeight = T.CreateTruncating(MinimumBinHeight);
        T minimumDerivative = T.CreateTruncating(MinimumDerivative);
        T derivativeOffset = T.CreateTruncating(Math.Log(Math.Exp(1 - MinimumDerivative) - 1));
        T span = bound + bound;
        T widthShare = T.One - (T.CreateTruncating(k) * minimumWidth);
        T heightShare = T.One - (T.CreateTruncating(k) * minimumHeight);
        string Scalar(T value) => graph.Scalar(double.CreateTruncating(value));
        string Slice(string value, long start, long end) => graph.Node("Slice", [value, graph.Int64s(start), graph.Int64s(end), graph.Int64s(2)]);
        string Concat(params string[] values) => graph.Node("Concat", values, [GraphAttribute.Int("axis", 2)]);
        string Pick(string oneHot, string values) => graph.Node("ReduceSum", [graph.Mul(oneHot, values), graph.Int64s(2)], [GraphAttribute.Int("keepdims", 0)]);

        // Column p·d + j holds parameter p of feature j: [n, P·d] → [n, P, d] → [n, d, P].
        string perBin = graph.Node("Transpose", [graph.Reshape(parameters, 0, perFeature, d)], [GraphAttribute.Ints("perm", 0, 2, 1)]);
        string widthLogits = Slice(perBin, 0, k);
        string heightLogits = Slice(perBin, k, 2 * k);
        string derivativeLogits = Slice(perBin, 2 * k, perFeature);
        string zeroColumn = graph.Mul(Slice(widthLogits, 0, 1), Scalar(T.Zero)); // [n, d, 1] of zeros: logits are finite

        // Knots −B = x₀ ≤ x₁ ≤ … ≤ x_K = B, x_{i+1} = x_i + 2B(m + (1 − Km)p_i), the last pinned to B.
        (string Low, string High) Knots(string logits, T minimum, T share)
        {
            string probabilities = graph.Node("Softmax", [logits], [GraphAttribute.Int("axis", 2)]);
            string steps = graph.Mul(graph.Add(graph.Mul(probabilities, Scalar(share)), Scalar(minimum)), Scalar(span));
            string start = graph.Add(zeroColumn, Scalar(-bound));
            string low = k == 1 ? start
                : graph.Node("CumSum", [Concat(start, Slice(steps, 0, k - 1)), graph.Int64s(2)]);
            string end = graph.Add(zeroColumn, Scalar(bound));
            string high = k == 1 ? end : Concat(Slice(low, 1, k), end);
            return (low, high);
        }

        (string xLow, string xHigh) = Knots(widthLogits, minimumWidth, widthShare);
        (string yLow, string yHigh) = Knots(heightLogits, minimumHeight, heightShare);

        // v = input where |input| ≤ B, else 0 (as the kernel masks it); the bin's one-hot from the knots at or below v.
        string inRange = graph.Node("LessOrEqual", [graph.Abs(input), Scalar(bound)]);
        string v = graph.Where(inRange, input, Scalar(T.Zero));
        string v3 = graph.Reshape(v, 0, 0, 1);
        string reached = graph.ToElementType(graph.Node("GreaterOrEqual", [v3, inverse ? yLow : xLow]));
        string oneHot = k == 1 ? reached : graph.Sub(reached, Concat(Slice(reached, 1, k), zeroColumn));

        // Slopes at the knots: 1 at both ends, m_δ + softplus(u + c) inside.
        string one = graph.Add(zeroColumn, Scalar(T.One));
        string inner = graph.Add(graph.Softplus(graph.Add(derivativeLogits, Scalar(derivativeOffset))), Scalar(minimumDerivative));
        string slopes = k == 1 ? Concat(one, one) : Concat(one, inner, one);
        string d0 = Pick(oneHot, Slice(slopes, 0, k));
        string d1 = Pick(oneHot, Slice(slopes, 1, k + 1));
        string x0 = Pick(oneHot, xLow);
        string x1 = Pick(oneHot, xHigh);
        string y0 = Pick(oneHot, yLow);
        string y1 = Pick(oneHot, yHigh);
        string width = graph.Sub(x1, x0);
        string height = graph.Sub(y1, y0);
        string s = graph.Div(height, width);
        string two = Scalar(T.CreateTruncating(2));
        string zero = Scalar(T.Zero);
        string unit = Scalar(T.One);

        string xi;
        if (inverse)
        {
            // The root of the quadratic in ξ of Eq. 6-8, in the cancellation-free form 2c / (−b − √(b² − 4ac)).
            string delta = graph.Sub(v, y0);
            string curvature = graph.Sub(graph.Add(d0, d1), graph.Add(s, s));
            string a = graph.Add(graph.Mul(height, graph.Sub(s, d0)), graph.Mul(delta, curvature));
            string b = graph.Sub(graph.Mul(height, d0), graph.Mul(delta, curvature));
            string c = graph.Mul(graph.Neg(s), delta);
            string discriminant = graph.Max(graph.Sub(graph.Mul(b, b), graph.Mul(graph.Mul(Scalar(T.CreateTruncating(4)), a), c)), zero);
            xi = graph.Clamp(graph.Div(graph.Add(c, c), graph.Sub(graph.Neg(b), graph.Sqrt(discriminant))), zero, unit);
        }
        else
        {
            xi = graph.Clamp(graph.Div(graph.Sub(v, x0), width), zero, unit);
        }

        // Eq. 4 and 5: the value and the log-derivative, the value clamped into its bin.
        string oneMinusXi = graph.Sub(unit, xi);
        string t = graph.Mul(xi, oneMinusXi);
        string denominator = graph.Add(s, graph.Mul(graph.Sub(graph.Add(d0, d1), graph.Mul(two, s)), t));
        string p = graph.Add(graph.Add(graph.Mul(graph.Mul(d1, xi), xi), graph.Mul(graph.Mul(two, s), t)),
            graph.Mul(graph.Mul(d0, oneMinusXi), oneMinusXi));
        string derivative = graph.Div(graph.Mul(graph.Mul(s, s), p), graph.Mul(denominator, denominator));
        string logDerivative = graph.Log(derivative);
        string output;
        if (inverse)
        {
            output = graph.Clamp(graph.Add(x0, graph.Mul(xi, width)), x0, x1);
            logDerivative = graph.Neg(logDerivative);
        }
        else
        {
            string ratio = graph.Div(graph.Mul(height, graph.Add(graph.Mul(graph.Mul(s, xi), xi), graph.Mul(d0, t))), denominator);
            output = graph.Clamp(graph.Add(y0, ratio), y0, y1);
        }

        return new Lowered(graph.Where(inRange, output, input), graph.RowSums(graph.Where(inRange, logDerivative, zero)));
    }
}
