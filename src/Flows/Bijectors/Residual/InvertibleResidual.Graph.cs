using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class InvertibleResidual<T> : IGraphLowering
{
    // x = z + Ŵ₂ tanh(Ŵ₁z + b₁) + b₂ with the current spectrally normalized weights as constants, and the exact
    // log|det(I + Ŵ₂ diag(1 − t²) Ŵ₁)| from an LU factorization unrolled in the graph. It needs no pivoting: I + J with
    // ‖J‖₂ ≤ c² < 1 has a positive definite symmetric part, so every pivot is positive and elimination is stable
    // (Golub & Van Loan, Matrix Computations, §4.4); log|det| is the sum of the logs of the pivots.
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context)
    {
        if (!IsLogDetExact)
        {
            throw new NotSupportedException(
                $"{this}'s log-determinant above {ExactLogDetMaxDimension} features is a stochastic series estimate (a fresh probe per call) " +
                "and has no ONNX graph; export a flow whose residual blocks have at most that many features.");
        }

        int d = Dimension;
        int h = HiddenFeatures;
        string w1 = graph.Constant<T>(Flatten(_norm0.GetNormalizedWeight()), h, d);
        string w2 = graph.Constant<T>(Flatten(_norm1.GetNormalizedWeight()), d, h);
        string w1Transposed = graph.Node("Transpose", [w1]);
        string w2Transposed = graph.Node("Transpose", [w2]);
        string a = graph.Add(graph.MatMul(input, w1Transposed), graph.Row<T>(_layer0.Bias!.Values));
        string t = graph.Tanh(a);
        string output = graph.Add(input, graph.Add(graph.MatMul(t, w2Transposed), graph.Row<T>(_layer1.Bias!.Values)));

        // n × d × d Jacobians I + Ŵ₂ diag(1 − t²) Ŵ₁.
        string derivative = graph.Sub(graph.Scalar(1), graph.Mul(t, t));
        string scaled = graph.Mul(w2, graph.Reshape(derivative, -1, 1, h));
        var identity = new double[d * d];
        for (int j = 0; j < d; j++)
        {
            identity[(j * d) + j] = 1;
        }

        string matrix = graph.Add(graph.MatMul(scaled, w1), graph.Constant(identity, d, d));
        string? logDet = null;
        for (int k = 0; k < d; k++)
        {
            int size = d - k;
            string topRow = graph.Slice(matrix, 1, 0, 1);
            string pivot = graph.Slice(topRow, 2, 0, 1);
            logDet = graph.AddLogDets(logDet, graph.Log(graph.Abs(pivot)));
            if (size > 1)
            {
                string below = graph.Slice(matrix, 1, 1, size);
                string column = graph.Slice(below, 2, 0, 1);
                string rest = graph.Slice(below, 2, 1, size);
                matrix = graph.Sub(rest, graph.Mul(graph.Div(column, pivot), graph.Slice(topRow, 2, 1, size)));
            }
        }

        return new Lowered(output, graph.Reshape(logDet!, -1, 1));
    }

    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context)
        => throw Lowering.IterativeDirection(this, "inverse");

    private static T[] Flatten(T[,] matrix)
    {
        int rows = matrix.GetLength(0);
        int columns = matrix.GetLength(1);
        var result = new T[rows * columns];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                result[(i * columns) + j] = matrix[i, j];
            }
        }

        return result;
    }
}
