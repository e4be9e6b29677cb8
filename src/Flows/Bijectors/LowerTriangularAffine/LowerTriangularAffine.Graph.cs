using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class LowerTriangularAffine<T> : IGraphLowering
{
    // x = z Lᵀ + μ (+ c Aᵀ); log|det| = Σ log|Lᵢᵢ|, summed in the element type as the tape does.
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context)
    {
        T[,] l = ScaleMatrixForExport();
        int d = Dimension;
        double[] transposed = new double[d * d];
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < d; j++)
            {
                transposed[(j * d) + i] = double.CreateTruncating(l[i, j]);
            }
        }

        string x = graph.Add(graph.MatMul(input, graph.Constant(transposed, d, d)), graph.Row<T>(_shift.Values));
        if (_contextWeight is not null)
        {
            x = graph.Add(x, ContextTerm(graph, context!));
        }

        return new Lowered(x, Lowering.ConstantLogDet(graph, input, double.CreateTruncating(LogAbsDiagonalSum(l))));
    }

    // z = (x − μ − c Aᵀ) L⁻ᵀ, with L⁻¹ formed once here by forward substitution in double: a graph has no triangular
    // solve, and a product with the inverse of the well-conditioned factor is as accurate as the tape's solve to far
    // inside the export tests' tolerances.
    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context)
    {
        T[,] l = ScaleMatrixForExport();
        int d = Dimension;
        double[,] inverse = new double[d, d];
        for (int column = 0; column < d; column++)
        {
            for (int i = column; i < d; i++)
            {
                double sum = i == column ? 1 : 0;
                for (int k = column; k < i; k++)
                {
                    sum -= double.CreateTruncating(l[i, k]) * inverse[k, column];
                }

                inverse[i, column] = sum / double.CreateTruncating(l[i, i]);
            }
        }

        // z = y L⁻ᵀ: the MatMul's right factor is (L⁻ᵀ), whose [j, i] entry is L⁻¹[i, j].
        double[] right = new double[d * d];
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < d; j++)
            {
                right[(j * d) + i] = inverse[i, j];
            }
        }

        string centered = graph.Sub(input, graph.Row<T>(_shift.Values));
        if (_contextWeight is not null)
        {
            centered = graph.Sub(centered, ContextTerm(graph, context!));
        }

        string z = graph.MatMul(centered, graph.Constant(right, d, d));
        return new Lowered(z, Lowering.ConstantLogDet(graph, input, -double.CreateTruncating(LogAbsDiagonalSum(l))));
    }

    // c Aᵀ, A stored d × k.
    private string ContextTerm(GraphBuilder graph, string context)
    {
        int d = Dimension;
        int k = ContextDimension;
        double[] transposed = new double[k * d];
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < k; j++)
            {
                transposed[(j * d) + i] = double.CreateTruncating(_contextWeight!.Values[(i * k) + j]);
            }
        }

        return graph.MatMul(context, graph.Constant(transposed, k, d));
    }

    private T[,] ScaleMatrixForExport()
        => IsInitialized ? GetScaleMatrix()
            : throw new InvalidOperationException($"{this} is not initialized from data yet; fit the flow (or call Initialize) before exporting it.");

    private static T LogAbsDiagonalSum(T[,] l)
    {
        T sum = T.Zero;
        for (int i = 0; i < l.GetLength(0); i++)
        {
            sum += T.Log(T.Abs(l[i, i]));
        }

        return sum;
    }
}
