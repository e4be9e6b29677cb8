using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class Sylvester<T> : IGraphLowering
{
    // x = z + Q R tanh(R̃ Qᵀz + b) with the current Q, R and R̃ as constants (row-vector form: y = zQ, pre = yR̃ᵀ + b,
    // x = z + tanh(pre) Rᵀ Qᵀ); log|det J| = Σᵢ log|1 + rᵢᵢr̃ᵢᵢ sech²(preᵢ)|.
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context)
    {
        T[,] q = GetQ();
        (T[,] r, T[,] rTilde) = GetTriangles();
        var diagonalProducts = new T[ColumnCount];
        for (int i = 0; i < diagonalProducts.Length; i++)
        {
            diagonalProducts[i] = r[i, i] * rTilde[i, i];
        }

        string y = graph.MatMul(input, graph.Matrix(q));
        string pre = graph.Add(graph.MatMul(y, graph.Matrix(rTilde, transposed: true)), graph.Row<T>(_bias.Values));
        string kappa = graph.MatMul(graph.Tanh(pre), graph.Matrix(r, transposed: true));
        string output = graph.Add(input, graph.MatMul(kappa, graph.Matrix(q, transposed: true)));

        string psi = graph.Add(graph.Scalar(1), graph.Mul(graph.SechSquared(pre), graph.Row<T>(diagonalProducts)));
        return new Lowered(output, graph.RowSums(graph.Log(graph.Abs(psi))));
    }

    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context)
        => throw Lowering.IterativeDirection(this, "inverse");
}
