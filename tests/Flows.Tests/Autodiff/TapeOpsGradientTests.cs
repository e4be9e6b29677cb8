using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Neural;
using Flows.Numerics;
using Flows.Tests.Testing;

namespace Flows.Tests.Autodiff;

/// <summary>
/// Every tape operation's backward pass against central differences in double. Each input is a parameter (so every
/// operation records); the loss is Σ Wₖ ⊙ outputₖ with fixed random weights, summed over all outputs of the operation,
/// so fused operations are checked with both outputs contributing.
/// </summary>
public sealed class TapeOpsGradientTests
{
    private sealed record Input(int Rows, int Columns, Func<double, double> Map);

    private sealed record OpCase(Input[] Inputs, Func<Tape<double>, Node<double>[], Node<double>[]> Build);

    private static readonly Input Free43 = new(4, 3, v => v);
    private static readonly Input Row3 = new(1, 3, v => v);
    private static readonly Input Positive43 = new(4, 3, Math.Exp);
    private static readonly Input Unit43 = new(4, 3, v => 1 / (1 + Math.Exp(-v)));
    private static readonly Input Symmetric43 = new(4, 3, v => Math.Tanh(0.7 * v));
    private static readonly Input AwayFromZero43 = new(4, 3, v => v + (0.2 * Math.Sign(v)));

    private static readonly Dictionary<string, OpCase> Ops = new()
    {
        ["Add"] = new([Free43, Free43], (t, n) => [t.Add(n[0], n[1])]),
        ["Add(row broadcast)"] = new([Free43, Row3], (t, n) => [t.Add(n[0], n[1])]),
        ["Subtract"] = new([Free43, Free43], (t, n) => [t.Subtract(n[0], n[1])]),
        ["Subtract(row broadcast)"] = new([Free43, Row3], (t, n) => [t.Subtract(n[0], n[1])]),
        ["Multiply"] = new([Free43, Free43], (t, n) => [t.Multiply(n[0], n[1])]),
        ["Multiply(row broadcast)"] = new([Free43, Row3], (t, n) => [t.Multiply(n[0], n[1])]),
        ["Scale"] = new([Free43], (t, n) => [t.Scale(n[0], -2.5)]),
        ["Negate"] = new([Free43], (t, n) => [t.Negate(n[0])]),
        ["Linear"] = new([new(5, 3, v => v), new(4, 3, v => v)], (t, n) => [t.Linear(n[0], n[1])]),
        ["Linear(bias)"] = new([new(5, 3, v => v), new(4, 3, v => v), new(1, 4, v => v)], (t, n) => [t.Linear(n[0], n[1], n[2])]),
        // A masked weight: the weights outside the mask have derivative 0, which the op must give although its products
        // write there (a staircase, zeroed row by row outside each band, and a scattered mask, zeroed by a product).
        ["Linear(staircase mask)"] = new([new(5, 3, v => v), new(4, 3, v => v), new(1, 4, v => v)],
            (t, n) => [t.Linear(n[0], n[1], n[2], new WeightMask<double>([1, 0, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1], 4, 3), relu: false)]),
        ["Linear(scattered mask)"] = new([new(5, 3, v => v), new(4, 3, v => v)],
            (t, n) => [t.Linear(n[0], n[1], null, new WeightMask<double>([1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 1], 4, 3), relu: false)]),
        ["MatrixMultiply"] = new([new(4, 3, v => v), new(3, 2, v => v)], (t, n) => [t.MatrixMultiply(n[0], n[1])]),
        ["Exp"] = new([Free43], (t, n) => [t.Exp(n[0])]),
        ["Log"] = new([Positive43], (t, n) => [t.Log(n[0])]),
        ["Tanh"] = new([Free43], (t, n) => [t.Tanh(n[0])]),
        ["Sigmoid"] = new([Free43], (t, n) => [t.Sigmoid(n[0])]),
        ["Softplus"] = new([Free43], (t, n) => [t.Softplus(n[0])]),
        ["Relu"] = new([AwayFromZero43], (t, n) => [t.Relu(n[0])]),
        ["SoftClip"] = new([Free43], (t, n) => [t.SoftClip(n[0], 1.5)]),
        ["MaskColumns"] = new([Free43], (t, n) => [t.MaskColumns(n[0], t.Constant(new double[] { 1, 0, 1 }, 1, 3))]),
        ["RowSums"] = new([Free43], (t, n) => [t.RowSums(n[0])]),
        ["ColumnSums"] = new([Free43], (t, n) => [t.ColumnSums(n[0])]),
        ["Sum"] = new([Free43], (t, n) => [t.Sum(n[0])]),
        ["Mean"] = new([Free43], (t, n) => [t.Mean(n[0])]),
        ["RepeatRows"] = new([Row3], (t, n) => [t.RepeatRows(n[0], 4)]),
        ["AffineElementwise(forward)"] = new([Free43, Row3, Row3], (t, n) => Pair(t.AffineElementwise(n[0], n[1], n[2], inverse: false))),
        ["AffineElementwise(inverse)"] = new([Free43, Row3, Row3], (t, n) => Pair(t.AffineElementwise(n[0], n[1], n[2], inverse: true))),
        ["StandardNormalLogDensity"] = new([Free43], (t, n) => [t.StandardNormalLogDensity(n[0])]),
        ["PermuteColumns"] = new([Free43], (t, n) => [t.PermuteColumns(n[0], [2, 0, 1])]),
        ["LowerTriangularFromPacked"] = new([new(1, 6, v => v)], (t, n) => [t.LowerTriangularFromPacked(n[0], 3)]),
        ["SolveLowerTransposed"] = new([Free43, new(3, 3, v => v + (2 * Math.Sign(v)))], (t, n) => [t.SolveLowerTransposed(n[0], n[1])]),
        ["LogAbsDiagonalSum"] = new([new(3, 3, v => v + (0.5 * Math.Sign(v)))], (t, n) => [t.LogAbsDiagonalSum(n[0])]),
        ["SinhArcsinh(forward)"] = new([Free43, Row3, Row3], (t, n) => Pair(t.SinhArcsinh(n[0], n[1], n[2], inverse: false))),
        ["SinhArcsinh(inverse)"] = new([Free43, Row3, Row3], (t, n) => Pair(t.SinhArcsinh(n[0], n[1], n[2], inverse: true))),
        ["ElementwiseBijection<Exp>(forward)"] = new([Free43], (t, n) => Pair(t.ElementwiseBijection<double, ExpFunction<double>>(n[0], inverse: false))),
        ["ElementwiseBijection<Exp>(inverse)"] = new([Positive43], (t, n) => Pair(t.ElementwiseBijection<double, ExpFunction<double>>(n[0], inverse: true))),
        ["ElementwiseBijection<Softplus>(forward)"] = new([Free43], (t, n) => Pair(t.ElementwiseBijection<double, SoftplusFunction<double>>(n[0], inverse: false))),
        ["ElementwiseBijection<Softplus>(inverse)"] = new([Positive43], (t, n) => Pair(t.ElementwiseBijection<double, SoftplusFunction<double>>(n[0], inverse: true))),
        ["ElementwiseBijection<Sigmoid>(forward)"] = new([Free43], (t, n) => Pair(t.ElementwiseBijection<double, SigmoidFunction<double>>(n[0], inverse: false))),
        ["ElementwiseBijection<Sigmoid>(inverse)"] = new([Unit43], (t, n) => Pair(t.ElementwiseBijection<double, SigmoidFunction<double>>(n[0], inverse: true))),
        ["ElementwiseBijection<Tanh>(forward)"] = new([Free43], (t, n) => Pair(t.ElementwiseBijection<double, TanhFunction<double>>(n[0], inverse: false))),
        ["ElementwiseBijection<Tanh>(inverse)"] = new([Symmetric43], (t, n) => Pair(t.ElementwiseBijection<double, TanhFunction<double>>(n[0], inverse: true))),        ["ConcatenateColumns"] = new([Free43, new(4, 2, v => v)], (t, n) => [t.ConcatenateColumns(n[0], n[1])]),
        ["ConcatenateRows"] = new([Free43, new(2, 3, v => v)], (t, n) => [t.ConcatenateRows(n[0], n[1])]),
        ["GatherRows"] = new([Free43], (t, n) => [t.GatherRows(n[0], [3, 0, 3, 1, 1])]),
        ["WeightedLogSumExp"] = new([Free43, Row3], (t, n) => [t.WeightedLogSumExp(n[0], n[1])]),
        ["SliceColumns"] = new([Free43], (t, n) => [t.SliceColumns(n[0], 1, 2)]),
        ["Reshape"] = new([Free43], (t, n) => [t.Reshape(n[0], 6, 2)]),
    };

    // Known edge points: saturating and large arguments, where stable formulas take their other branch.
    private static readonly Dictionary<string, (string Op, double[] Values)> EdgeCases = new()
    {
        ["Sigmoid at ±30"] = ("Sigmoid", [30, -30, 0, 5, -5, 20]),
        ["Softplus at ±30"] = ("Softplus", [30, -30, 0, 40, -40, 1e-8]),
        ["Tanh at ±8"] = ("Tanh", [8, -8, 0, 3, -3, 1e-8]),
        ["Exp at ±30"] = ("Exp", [30, -30, 0, 1, -1, 10]),
        ["SoftClip at ±1e3"] = ("SoftClip", [1e3, -1e3, 0, 1.5, -1.5, 1e-8]),
        ["Log near 0"] = ("Log", [0.01, 0.05, 1, 100, 1e3, 2]),
        ["SinhArcsinh(forward) at ±1e3"] = ("SinhArcsinh(forward)", [1e3, -1e3, 0, 100, -100, 1e-8]),
        ["SinhArcsinh(inverse) at ±1e3"] = ("SinhArcsinh(inverse)", [1e3, -1e3, 0, 100, -100, 1e-8]),
        ["ElementwiseBijection<Sigmoid>(forward) at ±30"] = ("ElementwiseBijection<Sigmoid>(forward)", [30, -30, 0, 20, -20, 1e-8]),
        ["ElementwiseBijection<Sigmoid>(inverse) near 0 and 1"] = ("ElementwiseBijection<Sigmoid>(inverse)", [0.01, 0.99, 0.5, 0.02, 0.98, 0.3]),
        ["ElementwiseBijection<Softplus>(forward) at ±30"] = ("ElementwiseBijection<Softplus>(forward)", [30, -30, 0, 40, -20, 1e-8]),
        ["ElementwiseBijection<Softplus>(inverse) near 0"] = ("ElementwiseBijection<Softplus>(inverse)", [0.01, 30, 1, 0.05, 100, 1e-1]),
        ["ElementwiseBijection<Tanh>(forward) at ±8"] = ("ElementwiseBijection<Tanh>(forward)", [8, -8, 0, 5, -5, 1e-8]),
        ["ElementwiseBijection<Tanh>(inverse) near ±1"] = ("ElementwiseBijection<Tanh>(inverse)", [0.99, -0.99, 0, 0.95, -0.95, 1e-8]),
        ["WeightedLogSumExp at ±30"] = ("WeightedLogSumExp", [30, -30, 0, 29, -29, 1e-8]),
        ["ElementwiseBijection<Exp>(forward) at ±30"] = ("ElementwiseBijection<Exp>(forward)", [30, -30, 0, 5, -5, 1e-8]),
    };

    public static TheoryData<string> OpNames => [.. Ops.Keys];

    public static TheoryData<string> EdgeNames => [.. EdgeCases.Keys];

    [Theory]
    [MemberData(nameof(OpNames))]
    public void Gradient_EqualsCentralDifferences_AtRandomPoints(string op)
    {
        OpCase c = Ops[op];
        for (int draw = 0; draw < 5; draw++)
        {
            Parameter<double>[] inputs = [.. c.Inputs.Select((input, k) => RandomParameter(input, seed: (100 * draw) + k))];
            AssertGradients(op, c, inputs, $"draw {draw}");
        }
    }

    [Theory]
    [MemberData(nameof(EdgeNames))]
    public void Gradient_EqualsCentralDifferences_AtEdgePoints(string edge)
    {
        (string op, double[] values) = EdgeCases[edge];
        OpCase c = Ops[op];
        Parameter<double>[] inputs = [.. c.Inputs.Select((input, k) => RandomParameter(input, seed: 7 + k))];
        for (int k = 0; k < inputs[0].Values.Length; k++)
        {
            inputs[0].Values[k] = values[k % values.Length];
        }

        AssertGradients(op, c, inputs, edge);
    }

    private static Node<double>[] Pair((Node<double> Output, Node<double> LogDet) result) => [result.Output, result.LogDet];

    private static Parameter<double> RandomParameter(Input input, int seed)
    {
        var parameter = new Parameter<double>("input", input.Rows, input.Columns);
        double[] values = TestData.StandardNormal(input.Rows * input.Columns, seed);
        for (int k = 0; k < values.Length; k++)
        {
            parameter.Values[k] = input.Map(values[k]);
        }

        return parameter;
    }

    private static void AssertGradients(string op, OpCase c, Parameter<double>[] inputs, string where)
    {
        var tape = new Tape<double>();
        Node<double>[] outputs = c.Build(tape, [.. inputs.Select(tape.Use)]);
        double[][] weights = [.. outputs.Select((o, k) => TestData.StandardNormal(o.Length, seed: 1000 + k))];
        Node<double> loss = tape.Sum(tape.Multiply(outputs[0], tape.Constant(weights[0], outputs[0].Rows, outputs[0].Columns)));
        for (int k = 1; k < outputs.Length; k++)
        {
            loss = tape.Add(loss, tape.Sum(tape.Multiply(outputs[k], tape.Constant(weights[k], outputs[k].Rows, outputs[k].Columns))));
        }

        foreach (Parameter<double> input in inputs)
        {
            input.ZeroGradients();
        }

        tape.Backward(loss);

        // The oracle evaluates the operation with recording off and forms the loss in plain C#.
        var evaluation = new Tape<double>(isRecording: false);
        double[] Terms()
        {
            evaluation.Reset();
            Node<double>[] values = c.Build(evaluation, [.. inputs.Select(evaluation.Use)]);
            var terms = new List<double>();
            for (int k = 0; k < values.Length; k++)
            {
                for (int i = 0; i < values[k].Length; i++)
                {
                    terms.Add(weights[k][i] * values[k].Values[i]);
                }
            }

            return [.. terms];
        }

        for (int p = 0; p < inputs.Length; p++)
        {
            double[] expected = FiniteDifference.GradientOfSum(Terms, inputs[p].Values, Tolerance.FiniteDifferenceGradientStep);
            AssertClose.All(expected, inputs[p].Gradients, Tolerance.Gradient, $"{op}, input {p}, {where}");
        }
    }
}
