using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class LULinear<T> : IGraphLowering
{
    // x = z Wᵀ + b with W = P L U formed here in double; log|det| = Σ log uᵢᵢ in the element type, as the tape sums it.
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context)
    {
        (double[,] w, _, T sumLog) = Matrices();
        string x = graph.Add(graph.MatMul(input, graph.Constant(Transposed(w), Dimension, Dimension)), graph.Row<T>(_shift.Values));
        return new Lowered(x, Lowering.ConstantLogDet(graph, input, double.CreateTruncating(sumLog)));
    }

    // z = (x − b) W⁻ᵀ, W⁻¹ = U⁻¹ L⁻¹ Pᵀ formed here by the same substitutions the tape runs per row.
    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context)
    {
        (_, double[,] inverse, T sumLog) = Matrices();
        string z = graph.MatMul(graph.Sub(input, graph.Row<T>(_shift.Values)), graph.Constant(Transposed(inverse), Dimension, Dimension));
        return new Lowered(z, Lowering.ConstantLogDet(graph, input, -double.CreateTruncating(sumLog)));
    }

    private (double[,] W, double[,] Inverse, T SumLog) Matrices()
    {
        int d = Dimension;
        T[] a = _lowerUpper.Values;
        double[] diagonal = new double[d];
        T sumLog = T.Zero;
        for (int i = 0; i < d; i++)
        {
            T u = LULinearOps.LUDiagonal(a[(i * d) + i]);
            diagonal[i] = double.CreateTruncating(u);
            sumLog += T.Log(u);
        }

        double L(int i, int j) => i == j ? 1 : i > j ? double.CreateTruncating(a[(i * d) + j]) : 0;
        double U(int i, int j) => i == j ? diagonal[i] : i < j ? double.CreateTruncating(a[(i * d) + j]) : 0;
        var w = new double[d, d];
        var inverse = new double[d, d];
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < d; j++)
            {
                double sum = 0;
                for (int k = 0; k < d; k++)
                {
                    sum += L(_permutation[i], k) * U(k, j);
                }

                w[i, j] = sum; // row i of P L U is row perm[i] of L U
            }
        }

        for (int column = 0; column < d; column++)
        {
            // v = Pᵀ e_column, then L u = v and U z = u.
            double[] v = new double[d];
            v[_permutation[column]] = 1;
            for (int i = 0; i < d; i++)
            {
                for (int j = 0; j < i; j++)
                {
                    v[i] -= L(i, j) * v[j];
                }
            }

            for (int i = d - 1; i >= 0; i--)
            {
                double sum = v[i];
                for (int j = i + 1; j < d; j++)
                {
                    sum -= U(i, j) * inverse[j, column];
                }

                inverse[i, column] = sum / diagonal[i];
            }
        }

        return (w, inverse, sumLog);
    }

    private static double[] Transposed(double[,] m)
    {
        int d = m.GetLength(0);
        double[] t = new double[d * d];
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < d; j++)
            {
                t[(j * d) + i] = m[i, j];
            }
        }

        return t;
    }
}
