using System.Numerics;
using Flows.Export;

namespace Flows.Bijectors;

/// <summary>An elementwise function that can write itself as a graph: the four built-ins.</summary>
internal interface IElementwiseLowering
{
    /// <summary>y = f(z).</summary>
    string Forward(GraphBuilder graph, string z);

    /// <summary>z = f⁻¹(x).</summary>
    string Inverse(GraphBuilder graph, string x);

    /// <summary>log f′(z).</summary>
    string LogDerivative(GraphBuilder graph, string z);
}

public sealed partial class Elementwise<T, TFunction> : IGraphLowering
{
    // Forward: f(z), log|det| = Σ log f′(z); inverse: f⁻¹(x), log|det| = −Σ log f′(f⁻¹(x)), as ElementwiseBijection.
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context)
    {
        IElementwiseLowering f = Function();
        return new Lowered(f.Forward(graph, input), graph.RowSums(f.LogDerivative(graph, input)));
    }

    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context)
    {
        IElementwiseLowering f = Function();
        string z = f.Inverse(graph, input);
        return new Lowered(z, graph.Neg(graph.RowSums(f.LogDerivative(graph, z))));
    }

    private IElementwiseLowering Function()
        => default(TFunction) as IElementwiseLowering
            ?? throw new NotSupportedException($"{this}: the elementwise function {TFunction.Name} has no ONNX form; the built-in Exp, Softplus, Sigmoid and Tanh have.");
}

public readonly partial struct ExpFunction<T> : IElementwiseLowering
{
    string IElementwiseLowering.Forward(GraphBuilder graph, string z) => graph.Exp(z);

    string IElementwiseLowering.Inverse(GraphBuilder graph, string x) => graph.Log(x);

    string IElementwiseLowering.LogDerivative(GraphBuilder graph, string z) => z;
}

public readonly partial struct SoftplusFunction<T> : IElementwiseLowering
{
    string IElementwiseLowering.Forward(GraphBuilder graph, string z) => graph.Softplus(z);

    // log(expm1(x)) = x + log(1 − exp(−x)); ONNX has no expm1, so for x below ~1e-8 this loses the digits expm1 keeps.
    string IElementwiseLowering.Inverse(GraphBuilder graph, string x)
        => graph.Add(x, graph.Log(graph.Sub(graph.Scalar(1), graph.Exp(graph.Neg(x)))));

    string IElementwiseLowering.LogDerivative(GraphBuilder graph, string z) => graph.Neg(graph.Softplus(graph.Neg(z)));
}

public readonly partial struct SigmoidFunction<T> : IElementwiseLowering
{
    string IElementwiseLowering.Forward(GraphBuilder graph, string z) => graph.Node("Sigmoid", [z]);

    string IElementwiseLowering.Inverse(GraphBuilder graph, string x) => graph.Sub(graph.Log(x), graph.Log(graph.Sub(graph.Scalar(1), x)));

    string IElementwiseLowering.LogDerivative(GraphBuilder graph, string z) => graph.Neg(graph.Add(graph.Softplus(graph.Neg(z)), graph.Softplus(z)));
}

public readonly partial struct TanhFunction<T> : IElementwiseLowering
{
    string IElementwiseLowering.Forward(GraphBuilder graph, string z) => graph.Tanh(z);

    // atanh x = ½ log((1 + x)/(1 − x)).
    string IElementwiseLowering.Inverse(GraphBuilder graph, string x)
        => graph.Mul(graph.Log(graph.Div(graph.Add(graph.Scalar(1), x), graph.Sub(graph.Scalar(1), x))), graph.Scalar(0.5));

    // log(1 − tanh² z) = 2(log 2 − z − softplus(−2z)).
    string IElementwiseLowering.LogDerivative(GraphBuilder graph, string z)
        => graph.Mul(graph.Sub(graph.Sub(graph.Scalar(Math.Log(2)), z), graph.Softplus(graph.Mul(z, graph.Scalar(-2)))), graph.Scalar(2));
}
