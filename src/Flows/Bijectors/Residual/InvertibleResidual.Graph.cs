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
                $"{this}'s log-determinant above {ExactLogDetMaxDimension} features (its ExactLogDetMaxDimension) is a stochastic series " +
                "estimate (a fresh probe per call) and has no ONNX graph; export a block whose dimension is at most its ExactLogDetMaxDimension.");
        }

        int d = Dimension;
        int h = HiddenFeatures;
        T[,] weight1 = _norm0.GetNormalizedWeight();
        T[,] weight2 = _norm1.GetNormalizedWeight();
        string w1 = graph.Matrix(weight1);
        string w2 = graph.Matrix(weight2);
        string w1Transposed = graph.Matrix(weight1, transposed: true);
        string w2Transposed = graph.Matrix(weight2, transposed: true);
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
}
