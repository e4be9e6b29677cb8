using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class ColumnSupports<T> : IGraphLowering
{
    // Every column's map is computed on the whole batch and each column keeps its own kind's value (Where on a per-column
    // mask); log-derivatives of real columns are zeroed before the row sums. The forms are the tape's, sigmoid taken on
    // the side that cannot round to the bound. Forward outputs are clamped strictly inside the supports, as the tape does.
    // A value outside its support gives NaN here (Flows' DensityLn refuses it): graphs do not check their inputs.
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context)
    {
        RefuseAngles();
        (string positive, string interval, string constrained) = Masks(graph);
        string lower = graph.Row<T>(_layout.Lower);
        string upper = graph.Row<T>(_layout.Upper);
        string width = graph.Row<T>(_layout.Width);
        string exp = graph.Add(lower, graph.Exp(input));
        string sigmoid = graph.Where(graph.Node("LessOrEqual", [input, graph.Scalar(0)]),
            graph.Add(lower, graph.Mul(width, graph.Node("Sigmoid", [input]))),
            graph.Sub(upper, graph.Mul(width, graph.Node("Sigmoid", [graph.Neg(input)]))));
        string mapped = graph.Where(positive, exp, sigmoid);
        string clamped = graph.Clamp(mapped, graph.Row<T>(_layout.Lowest), graph.Row<T>(_layout.Highest));
        string output = graph.Where(constrained, clamped, input);

        string intervalLogDerivative = graph.Sub(graph.Sub(graph.Row<T>(_layout.LogWidth), graph.Softplus(graph.Neg(input))), graph.Softplus(input));
        string logDerivative = graph.Where(positive, input, graph.Where(interval, intervalLogDerivative, graph.Scalar(0)));
        return new Lowered(output, graph.RowSums(logDerivative));
    }

    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context)
    {
        RefuseAngles();
        (string positive, string interval, string constrained) = Masks(graph);
        string p = graph.Log(graph.Sub(input, graph.Row<T>(_layout.Lower)));
        string q = graph.Log(graph.Sub(graph.Row<T>(_layout.Upper), input));
        string output = graph.Where(positive, p, graph.Where(interval, graph.Sub(p, q), input));
        string intervalLogDerivative = graph.Sub(graph.Sub(graph.Row<T>(_layout.LogWidth), p), q);
        string logDerivative = graph.Where(positive, graph.Neg(p), graph.Where(interval, intervalLogDerivative, graph.Scalar(0)));
        return new Lowered(output, graph.RowSums(logDerivative));
    }

    // Angle columns belong to circular flows, whose layers have no graph; a graph would also need the wrap.
    private void RefuseAngles()
    {
        int j = Array.IndexOf(_layout.Kinds, SupportKind.Angle);
        if (j >= 0)
        {
            throw new NotSupportedException($"{this}: column {j} is an angle ({Supports[j]}), which has no ONNX form.");
        }
    }

    // Boolean 1 × d rows: Positive columns, Interval columns, and either.
    private (string Positive, string Interval, string Constrained) Masks(GraphBuilder graph)
    {
        double[] positive = new double[Dimension];
        double[] interval = new double[Dimension];
        for (int j = 0; j < Dimension; j++)
        {
            positive[j] = _layout.Kinds[j] == SupportKind.Positive ? 1 : 0;
            interval[j] = _layout.Kinds[j] == SupportKind.Interval ? 1 : 0;
        }

        string half = graph.Scalar(0.5);
        string isPositive = graph.Node("Greater", [graph.Constant(positive, 1, Dimension), half]);
        string isInterval = graph.Node("Greater", [graph.Constant(interval, 1, Dimension), half]);
        return (isPositive, isInterval, graph.Node("Or", [isPositive, isInterval]));
    }
}
