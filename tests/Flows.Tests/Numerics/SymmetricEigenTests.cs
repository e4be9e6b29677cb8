using Flows.Numerics;
using Flows.Tests.Testing;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;
using Xunit.Sdk;

namespace Flows.Tests.Numerics;

/// <summary>The Jacobi eigendecomposition A = V diag(λ) Vᵀ of small symmetric matrices, with MathNet as the oracle.</summary>
public sealed class SymmetricEigenTests
{
    // The spectrum of the "repeated" case: a triple, two doubles and a single eigenvalue.
    private static readonly double[] s_repeatedSpectrum = [2, 2, 2, -1, -1, 0.5, 0.5, 5];

    /// <summary>Matrix names: random symmetric ones of several orders, one with repeated eigenvalues, one already diagonal.</summary>
    public static TheoryData<string> Cases => ["random(1)", "random(2)", "random(3)", "random(5)", "random(8)", "random(16)", "repeated(8)", "diagonal(4)"];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decompose_ReconstructsTheMatrix(string name)
    {
        double[,] a = Create(name);
        (double[,] v, double[] values) = Decompose(a);
        int m = values.Length;

        double scale = MaxAbs(a);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < m; j++)
            {
                double sum = 0;
                for (int l = 0; l < m; l++)
                {
                    sum += v[i, l] * values[l] * v[j, l];
                }

                AssertWithin(a[i, j], sum, Tolerance.Eigendecomposition * scale, $"{name}: (VΛVᵀ)[{i}, {j}]");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decompose_GivesOrthonormalEigenvectors(string name)
    {
        (double[,] v, double[] values) = Decompose(Create(name));
        int m = values.Length;

        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < m; j++)
            {
                double sum = 0;
                for (int l = 0; l < m; l++)
                {
                    sum += v[l, i] * v[l, j];
                }

                AssertWithin(i == j ? 1 : 0, sum, Tolerance.Eigendecomposition, $"{name}: (VᵀV)[{i}, {j}]");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decompose_EigenvaluesMatchMathNet(string name)
    {
        double[,] a = Create(name);
        Evd<double> evd = Matrix<double>.Build.DenseOfArray(a).Evd(Symmetricity.Symmetric);
        double[] expected = [.. evd.EigenValues.Select(z => z.Real).Order()];

        double[] actual = [.. Decompose(a).Values.Order()];

        double scale = MaxAbs(a);
        for (int k = 0; k < expected.Length; k++)
        {
            AssertWithin(expected[k], actual[k], Tolerance.Eigendecomposition * scale, $"{name}: eigenvalue {k} in ascending order");
        }
    }

    [Fact]
    public void Decompose_FindsRepeatedEigenvaluesWithTheirMultiplicities()
    {
        double[] actual = [.. Decompose(Create("repeated(8)")).Values.Order()];
        double[] expected = [.. s_repeatedSpectrum.Order()];

        // Relative to the spectral radius, 5 (which bounds ‖A‖_max).
        for (int k = 0; k < expected.Length; k++)
        {
            AssertWithin(expected[k], actual[k], Tolerance.Eigendecomposition * 5, $"eigenvalue {k} in ascending order");
        }
    }

    private static (double[,] Vectors, double[] Values) Decompose(double[,] a)
    {
        int m = a.GetLength(0);
        double[] work = TestData.Flatten(a);
        double[] vectors = new double[m * m];
        double[] values = new double[m];
        SymmetricEigen.Decompose<double>(work, vectors, values, m);
        var v = new double[m, m];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < m; j++)
            {
                v[i, j] = vectors[(i * m) + j];
            }
        }

        return (v, values);
    }

    private static double[,] Create(string name)
    {
        int m = int.Parse(name[(name.IndexOf('(', StringComparison.Ordinal) + 1)..^1], System.Globalization.CultureInfo.InvariantCulture);
        if (name.StartsWith("random", StringComparison.Ordinal))
        {
            // (B + Bᵀ)/2 of a standard normal B: indefinite, with well-separated eigenvalues almost surely.
            double[,] b = TestData.StandardNormal(m, m, Seeds.Of(name));
            var a = new double[m, m];
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < m; j++)
                {
                    a[i, j] = 0.5 * (b[i, j] + b[j, i]);
                }
            }

            return a;
        }

        if (name.StartsWith("diagonal", StringComparison.Ordinal))
        {
            var a = new double[m, m];
            for (int i = 0; i < m; i++)
            {
                a[i, i] = i - 1.5;
            }

            return a;
        }

        // Q diag(spectrum) Qᵀ with Q the orthogonal factor of a random matrix, symmetrized against rounding.
        Matrix<double> q = Matrix<double>.Build.DenseOfArray(TestData.StandardNormal(m, m, Seeds.Of(name))).QR().Q;
        Matrix<double> product = q * Matrix<double>.Build.DenseOfDiagonalArray(s_repeatedSpectrum) * q.Transpose();
        return (0.5 * (product + product.Transpose())).ToArray();
    }

    private static double MaxAbs(double[,] a) => Math.Max(1, TestData.Flatten(a).Max(Math.Abs));

    private static void AssertWithin(double expected, double actual, double tolerance, string because)
    {
        if (!(Math.Abs(actual - expected) <= tolerance))
        {
            throw new XunitException($"{because}: expected {expected:R}, got {actual:R} (difference {actual - expected:G3}, tolerance {tolerance:G3}).");
        }
    }
}
