namespace Flows.Export;

/// <summary>
/// A computation graph in ONNX's vocabulary (operator names, attributes, named values), kept free of any protobuf type so
/// that each bijector family lowers itself in its own folder and only Flows.Onnx knows the wire format.
/// </summary>
/// <remarks>
/// Every batch value is rows × columns with a symbolic row count, as on the tape; constants are stored in double and
/// written in the graph's element type (a float flow's values are floats, exact in double). Operators are those of the
/// default ONNX domain at <see cref="Opset"/>; each helper below names the operator it emits. Only operators that ONNX
/// Runtime's CPU provider runs in both float and double are used (no Softplus, Sinh or Asinh, which it runs in float
/// only): such functions are written out from Exp, Log, Abs and Max.
/// </remarks>
internal sealed class GraphBuilder
{
    /// <summary>The ONNX operator set the graphs use.</summary>
    public const int Opset = 17;

    private readonly List<GraphNode> _nodes = [];
    private readonly List<GraphConstant> _constants = [];
    private readonly List<GraphValue> _inputs = [];
    private readonly List<GraphValue> _outputs = [];
    private readonly Dictionary<string, int> _prefixes = [];
    private int _next;

    /// <summary>Starts an empty graph.</summary>
    /// <param name="isDouble">Whether values are double (else float).</param>
    public GraphBuilder(bool isDouble) => IsDouble = isDouble;

    /// <summary>Whether the graph computes in double (else float).</summary>
    public bool IsDouble { get; }

    /// <summary>The operator nodes, in topological order.</summary>
    public IReadOnlyList<GraphNode> Nodes => _nodes;

    /// <summary>The constant tensors (ONNX initializers).</summary>
    public IReadOnlyList<GraphConstant> Constants => _constants;

    /// <summary>The graph inputs.</summary>
    public IReadOnlyList<GraphValue> Inputs => _inputs;

    /// <summary>The graph outputs.</summary>
    public IReadOnlyList<GraphValue> Outputs => _outputs;

    /// <summary>Declares an input of shape [N, columns] (columns 0 gives [N], a vector per row).</summary>
    public string Input(string name, int columns)
    {
        _inputs.Add(new GraphValue(name, columns));
        return name;
    }

    /// <summary>Declares <paramref name="value"/> as an output named <paramref name="name"/> of shape [N, columns]
    /// (columns 0 gives [N]).</summary>
    public void Output(string value, string name, int columns)
    {
        Node("Identity", [value], outputName: name);
        _outputs.Add(new GraphValue(name, columns));
    }

    /// <summary>A fresh value name under <paramref name="prefix"/>.</summary>
    public string Fresh(string prefix)
    {
        _prefixes.TryGetValue(prefix, out int count);
        _prefixes[prefix] = count + 1;
        return $"{prefix}_{count}";
    }

    /// <summary>Appends one operator node with one output and returns the output's name.</summary>
    public string Node(string opType, IReadOnlyList<string> inputs, IReadOnlyList<GraphAttribute>? attributes = null, string? outputName = null)
    {
        string output = outputName ?? $"v{_next++}";
        _nodes.Add(new GraphNode(opType, [.. inputs], [output], attributes ?? []));
        return output;
    }

    /// <summary>A constant of the graph's element type with the given shape (row-major values).</summary>
    public string Constant(ReadOnlySpan<double> values, params long[] shape)
    {
        string name = $"c{_constants.Count}";
        _constants.Add(new GraphConstant(name, values.ToArray(), null, shape));
        return name;
    }

    /// <summary>A constant of the graph's element type from values of the flow's element type.</summary>
    public string Constant<T>(ReadOnlySpan<T> values, params long[] shape) where T : System.Numerics.INumberBase<T>
    {
        double[] converted = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            converted[i] = double.CreateTruncating(values[i]);
        }

        return Constant(converted, shape);
    }

    /// <summary>A 1 × n row constant.</summary>
    public string Row<T>(ReadOnlySpan<T> values) where T : System.Numerics.INumberBase<T> => Constant(values, 1, values.Length);

    /// <summary>A scalar constant of the graph's element type.</summary>
    public string Scalar(double value) => Constant([value]);

    /// <summary>A 64-bit integer constant (shape [values.Length]), for indices, axes and shapes.</summary>
    public string Int64s(params long[] values)
    {
        string name = $"c{_constants.Count}";
        _constants.Add(new GraphConstant(name, null, values, [values.Length]));
        return name;
    }

    /// <summary>Add: a + b (ONNX broadcasting).</summary>
    public string Add(string a, string b) => Node("Add", [a, b]);

    /// <summary>Sub: a − b.</summary>
    public string Sub(string a, string b) => Node("Sub", [a, b]);

    /// <summary>Mul: a ⊙ b.</summary>
    public string Mul(string a, string b) => Node("Mul", [a, b]);

    /// <summary>Div: a / b.</summary>
    public string Div(string a, string b) => Node("Div", [a, b]);

    /// <summary>Neg: −a.</summary>
    public string Neg(string a) => Node("Neg", [a]);

    /// <summary>Exp.</summary>
    public string Exp(string a) => Node("Exp", [a]);

    /// <summary>Log.</summary>
    public string Log(string a) => Node("Log", [a]);

    /// <summary>Abs.</summary>
    public string Abs(string a) => Node("Abs", [a]);

    /// <summary>Tanh.</summary>
    public string Tanh(string a) => Node("Tanh", [a]);

    /// <summary>Sqrt.</summary>
    public string Sqrt(string a) => Node("Sqrt", [a]);

    /// <summary>Relu.</summary>
    public string Relu(string a) => Node("Relu", [a]);

    /// <summary>Max (elementwise, broadcasting).</summary>
    public string Max(string a, string b) => Node("Max", [a, b]);

    /// <summary>Min (elementwise, broadcasting).</summary>
    public string Min(string a, string b) => Node("Min", [a, b]);

    /// <summary>MatMul: a · b.</summary>
    public string MatMul(string a, string b) => Node("MatMul", [a, b]);

    /// <summary>Where: condition ? a : b.</summary>
    public string Where(string condition, string a, string b) => Node("Where", [condition, a, b]);

    /// <summary>Clamped into [low, high] by Max then Min (Clip's bounds must be scalars; these broadcast).</summary>
    public string Clamp(string a, string low, string high) => Min(Max(a, low), high);

    /// <summary>Cast of a boolean tensor to the graph's element type (1 where true).</summary>
    public string ToElementType(string condition)
        => Node("Cast", [condition], [GraphAttribute.Int("to", IsDouble ? GraphConstant.DoubleType : GraphConstant.FloatType)]);

    /// <summary>ReduceSum over <paramref name="axis"/>, keeping it (size 1).</summary>
    public string SumOver(string a, int axis) => Node("ReduceSum", [a, Int64s(axis)], [GraphAttribute.Int("keepdims", 1)]);

    /// <summary>The n × 1 sum of each row of an n × d batch.</summary>
    public string RowSums(string a) => SumOver(a, 1);

    /// <summary>The columns <paramref name="indices"/> of an n × d batch, in that order (Gather on axis 1).</summary>
    public string Columns(string a, IReadOnlyList<int> indices)
        => Node("Gather", [a, Int64s([.. indices.Select(i => (long)i)])], [GraphAttribute.Int("axis", 1)]);

    /// <summary>Reshape to <paramref name="shape"/> (0 keeps a dimension, −1 infers one).</summary>
    public string Reshape(string a, params long[] shape) => Node("Reshape", [a, Int64s(shape)]);

    /// <summary>log(1 + a), accurate also where 1 + a rounds (Goldberg's correction, as Numerics.Scalar.LogP1): with
    /// u = 1 + a rounded, log(u)·(a/(u − 1)), a itself where u = 1, and log(u) where u is infinite. ONNX has no log1p.</summary>
    public string Log1p(string a)
    {
        string one = Scalar(1);
        string u = Add(one, a);
        string isOne = Node("Equal", [u, one]);
        string logU = Log(u);
        string corrected = Mul(logU, Div(a, Where(isOne, one, Sub(u, one))));
        return Where(isOne, a, Where(Node("IsInf", [u]), logU, corrected));
    }

    /// <summary>sech²(a) as 4e/(1 + e)² with e = exp(−2|a|), which cannot overflow.</summary>
    public string SechSquared(string a)
    {
        string e = Exp(Mul(Abs(a), Scalar(-2)));
        string onePlus = Add(Scalar(1), e);
        return Div(Mul(e, Scalar(4)), Mul(onePlus, onePlus));
    }

    /// <summary>A rows × columns constant from a matrix, or from its transpose when <paramref name="transposed"/>.</summary>
    public string Matrix<T>(T[,] values, bool transposed = false) where T : System.Numerics.INumberBase<T>
    {
        int rows = values.GetLength(0);
        int columns = values.GetLength(1);
        var flat = new T[rows * columns];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                flat[transposed ? (j * rows) + i : (i * columns) + j] = values[i, j];
            }
        }

        return transposed ? Constant<T>(flat, columns, rows) : Constant<T>(flat, rows, columns);
    }

    /// <summary>a[start:end] along <paramref name="axis"/>.</summary>
    public string Slice(string a, int axis, long start, long end) => Node("Slice", [a, Int64s(start), Int64s(end), Int64s(axis)]);

    /// <summary>softplus(a) = max(a, 0) + log(1 + exp(−|a|)), the overflow-free form (ONNX Runtime has no double Softplus).</summary>
    public string Softplus(string a) => Add(Max(a, Scalar(0)), Log(Add(Scalar(1), Exp(Neg(Abs(a))))));

    /// <summary>Adds two log-determinants, either of which may be null (zero).</summary>
    public string? AddLogDets(string? a, string? b) => a is null ? b : b is null ? a : Add(a, b);
}

/// <summary>A graph input or output: a name and a shape [N, Columns] ([N] when Columns is 0).</summary>
internal sealed record GraphValue(string Name, int Columns);

/// <summary>One operator node.</summary>
internal sealed record GraphNode(string OpType, string[] Inputs, string[] Outputs, IReadOnlyList<GraphAttribute> Attributes);

/// <summary>A constant tensor: values of the graph's element type, or 64-bit integers.</summary>
internal sealed record GraphConstant(string Name, double[]? Values, long[]? Integers, long[] Shape)
{
    /// <summary>ONNX's data type code of float.</summary>
    public const int FloatType = 1;

    /// <summary>ONNX's data type code of double.</summary>
    public const int DoubleType = 11;
}

/// <summary>An operator attribute: an integer or a list of integers.</summary>
internal sealed record GraphAttribute(string Name, long? Integer, long[]? Integers)
{
    /// <summary>An integer attribute.</summary>
    public static GraphAttribute Int(string name, long value) => new(name, value, null);

    /// <summary>An integer-list attribute.</summary>
    public static GraphAttribute Ints(string name, params long[] values) => new(name, null, values);
}

/// <summary>A lowered map: the output batch and its per-row log|det J| (n × 1), null where it is zero.</summary>
internal readonly record struct Lowered(string Output, string? LogDet);

/// <summary>A bijector that can write either direction as a graph.</summary>
/// <remarks>A direction with no closed form (a numerical inverse) throws <see cref="NotSupportedException"/>.</remarks>
internal interface IGraphLowering
{
    /// <summary>Base → data, as <c>Forward</c>.</summary>
    /// <param name="graph">The graph to append to.</param>
    /// <param name="input">The n × Dimension input.</param>
    /// <param name="context">The n × ContextDimension context, or null.</param>
    Lowered LowerForward(GraphBuilder graph, string input, string? context);

    /// <summary>Data → base, as <c>Inverse</c>.</summary>
    /// <param name="graph">The graph to append to.</param>
    /// <param name="input">The n × Dimension input.</param>
    /// <param name="context">The n × ContextDimension context, or null.</param>
    Lowered LowerInverse(GraphBuilder graph, string input, string? context);
}

/// <summary>A conditional transform (affine or spline) that can write either direction as a graph.</summary>
internal interface IConditionalTransformLowering
{
    /// <summary>Base → data on an n × d input with n × (P·d) parameters in block layout.</summary>
    Lowered LowerForward(GraphBuilder graph, string input, string parameters, int dimension);

    /// <summary>Data → base on an n × d input with n × (P·d) parameters in block layout.</summary>
    Lowered LowerInverse(GraphBuilder graph, string input, string parameters, int dimension);
}

/// <summary>Lowers bijectors and transforms, or names the one that cannot be lowered.</summary>
internal static class Lowering
{
    /// <summary>The lowering of <paramref name="bijector"/>.</summary>
    /// <exception cref="NotSupportedException">The bijector has no graph form.</exception>
    public static IGraphLowering Of(object bijector)
        => bijector as IGraphLowering
            ?? throw new NotSupportedException($"{bijector} has no ONNX form: only the built-in bijectors listed in the README's ONNX section can be exported.");

    /// <summary>The lowering of a conditional transform.</summary>
    /// <exception cref="NotSupportedException">The transform has no graph form.</exception>
    public static IConditionalTransformLowering OfTransform(object transform)
        => transform as IConditionalTransformLowering
            ?? throw new NotSupportedException($"{transform} has no ONNX form: only AffineTransform and RationalQuadraticTransform can be exported.");

    /// <summary>The exception for a direction that is solved numerically.</summary>
    public static NotSupportedException IterativeDirection(object bijector, string direction)
        => new($"{bijector}'s {direction} direction is solved numerically (an iterative root or fixed-point search) and has no closed-form ONNX graph; " +
            $"export only the other graph (OnnxGraphs), or use a flow whose {direction} direction is closed-form.");

    /// <summary>The elementwise affine map x = μ + exp(s) ⊙ z (or its inverse) with 1 × d rows μ and s, as the tape's
    /// AffineElementwise: log|det| = ±Σ s on every row.</summary>
    public static Lowered AffineElementwise<T>(GraphBuilder graph, string input, ReadOnlySpan<T> shift, ReadOnlySpan<T> logScale, bool inverse)
        where T : System.Numerics.IFloatingPointIeee754<T>
    {
        double[] scale = new double[logScale.Length];
        // exp(±s) and Σ s in the element type, as the tape computes them, so float graphs see the float constants.
        T sum = T.Zero;
        for (int j = 0; j < scale.Length; j++)
        {
            scale[j] = double.CreateTruncating(T.Exp(inverse ? -logScale[j] : logScale[j]));
            sum += logScale[j];
        }

        string mu = graph.Row(shift);
        string factor = graph.Constant(scale, 1, scale.Length);
        string output = inverse ? graph.Mul(graph.Sub(input, mu), factor) : graph.Add(graph.Mul(input, factor), mu);
        return new Lowered(output, ConstantLogDet(graph, input, double.CreateTruncating(inverse ? -sum : sum)));
    }

    /// <summary>An n × 1 column holding <paramref name="value"/> on every row of <paramref name="batch"/>, or null when
    /// the value is zero.</summary>
    public static string? ConstantLogDet(GraphBuilder graph, string batch, double value)
    {
        if (value == 0)
        {
            return null;
        }

        // A row of zeros shaped like the batch's first column, plus the value: no NaN from 0 · ∞ in the data.
        string firstColumn = graph.Node("Slice", [batch, graph.Int64s(0), graph.Int64s(1), graph.Int64s(1)]);
        string zeros = graph.Node("Mul", [graph.ToElementType(graph.Node("IsNaN", [firstColumn])), graph.Scalar(0)]);
        return graph.Add(zeros, graph.Scalar(value));
    }
}
