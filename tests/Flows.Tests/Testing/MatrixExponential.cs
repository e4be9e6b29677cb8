using MathNet.Numerics.LinearAlgebra;

namespace Flows.Tests.Testing;

/// <summary>e^A by scaling and squaring of a Taylor series, with MathNet's matrices: the closed form of the flow of
/// dy/dt = A y, computed without any ODE solver.</summary>
internal static class MatrixExponential
{
    public static Matrix<double> Of(Matrix<double> a)
    {
        // Scale so that ‖A/2ˢ‖∞ ≤ 1/2; 30 Taylor terms then leave a remainder far below one ulp; square s times.
        int s = Math.Max(0, (int)Math.Ceiling(Math.Log2(Math.Max(a.InfinityNorm(), 1e-300) / 0.5)));
        Matrix<double> scaled = a / Math.Pow(2, s);
        Matrix<double> term = Matrix<double>.Build.DenseIdentity(a.RowCount);
        Matrix<double> sum = term.Clone();
        for (int k = 1; k <= 30; k++)
        {
            term = term * scaled / k;
            sum += term;
        }

        for (int k = 0; k < s; k++)
        {
            sum *= sum;
        }

        return sum;
    }
}
