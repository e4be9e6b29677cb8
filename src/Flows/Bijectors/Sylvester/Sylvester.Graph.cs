using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class Sylvester<T> : IGraphLowering
{
    // x = z + Q R tanh(R̃ Qᵀz + b) with the current Q, R and R̃ as constants (row-vector form: y = zQ, pre = yR̃ᵀ + b,
    // x = z + tanh(pre) Rᵀ Qᵀ); log|det J| = Σᵢ log|1 + rᵢᵢr̃ᵢᵢ sech²(preᵢ)|, sech² as 4e/(1 + e)² with e = e^{−2|pre|}
    // (no overflow), as Planar's graph forms it.
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context)
    {
        int d = Dimension;
        int m = ColumnCount;
        T[,] q = GetQ();
        (T[,] r, T[,] rTilde) = GetTriangles();
        var qValues = new T[d * m];
        var qTransposed = new T[m * d];
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < m; j++)
            {
                qValues[(i * m) + j] = q[i, j];
                qTransposed[(j * d) + i] = q[i, j];
            }
        }

        var rTransposed = new T[m * m];
        var rTildeTransposed = new T[m * m];
        var diagonalProducts = new T[m];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < m; j++)
            {
                rTransposed[(j * m) + i] = r[i, j];
                rTildeTransposed[(j * m) + i] = rTilde[i, j];
            }

            diagonalProducts[i] = r[i, i] * rTilde[i, i];
        }

        string y = graph.MatMul(input, graph.Constant<T>(qValues, d, m));
        string pre = graph.Add(graph.MatMul(y, graph.Constant<T>(rTildeTransposed, m, m)), graph.Row<T>(_bias.Values));
        string kappa = graph.MatMul(graph.Tanh(pre), graph.Constant<T>(rTransposed, m, m));
        string output = graph.Add(input, graph.MatMul(kappa, graph.Constant<T>(qTransposed, m, d)));

        string e = graph.Exp(graph.Mul(graph.Abs(pre), graph.Scalar(-2)));
        string onePlus = graph.Add(graph.Scalar(1), e);
        string sechSquared = graph.Div(graph.Mul(e, graph.Scalar(4)), graph.Mul(onePlus, onePlus));
        string psi = graph.Add(graph.Scalar(1), graph.Mul(sechSquared, graph.Row<T>(diagonalProducts)));
        return new Lowered(output, graph.RowSums(graph.Log(graph.Abs(psi))));
    }

    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context)
        => throw Lowering.IterativeDirection(this, "inverse");
}
