using Flows.Export;
using Flows.Numerics;

namespace Flows.Bijectors;

public sealed partial class Planar<T> : IGraphLowering
{
    // x = z + û tanh(wᵀz + b), log|det| = log|1 + wᵀû sech²(wᵀz + b)|, with û and wᵀû as the tape forms them.
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context)
    {
        int d = Dimension;
        T[] uHat = GetReparameterizedU();
        T a = T.Max(SmallMatrix.Dot<T>(uHat, _w.Values), PlanarReparameterization<T>.Floor - T.One);
        string t = graph.Add(graph.MatMul(input, graph.Constant<T>(_w.Values, d, 1)), graph.Scalar(double.CreateTruncating(_bias.Values[0])));
        string output = graph.Add(input, graph.Mul(graph.Tanh(t), graph.Row<T>(uHat)));

        string sechSquared = graph.SechSquared(t);
        string psi = graph.Add(graph.Scalar(1), graph.Mul(sechSquared, graph.Scalar(double.CreateTruncating(a))));
        return new Lowered(output, graph.Log(graph.Abs(psi)));
    }

    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context)
        => throw Lowering.IterativeDirection(this, "inverse");
}
