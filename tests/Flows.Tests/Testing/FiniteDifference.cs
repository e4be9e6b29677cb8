using MathNet.Numerics.LinearAlgebra;

namespace Flows.Tests.Testing;

/// <summary>Central finite differences: oracles that share no code with the tape or with any bijector's log-det.</summary>
internal static class FiniteDifference
{
    /// <summary>J[i, j] = ∂fᵢ/∂xⱼ at <paramref name="x"/> by central differences with step <paramref name="step"/>.</summary>
    public static double[,] Jacobian(Func<double[], double[]> map, double[] x, double step)
    {
        int n = x.Length;
        int m = map(x).Length;
        var jacobian = new double[m, n];
        var shifted = (double[])x.Clone();
        for (int j = 0; j < n; j++)
        {
            shifted[j] = x[j] + step;
            double[] plus = map(shifted);
            shifted[j] = x[j] - step;
            double[] minus = map(shifted);
            shifted[j] = x[j];
            for (int i = 0; i < m; i++)
            {
                jacobian[i, j] = (plus[i] - minus[i]) / (2 * step);
            }
        }

        return jacobian;
    }

    /// <summary>log|det J| of a square Jacobian: Σ log|Uᵢᵢ| of MathNet's LU factorization, which cannot underflow.</summary>
    public static double LogAbsDeterminant(double[,] jacobian)
    {
        Matrix<double> u = Matrix<double>.Build.DenseOfArray(jacobian).LU().U;
        double sum = 0;
        for (int i = 0; i < u.RowCount; i++)
        {
            sum += Math.Log(Math.Abs(u[i, i]));
        }

        return sum;
    }

    /// <summary>log|det J_FD| of a row map at <paramref name="x"/>.</summary>
    public static double LogAbsDetJacobian(Func<double[], double[]> map, double[] x, double step)
        => LogAbsDeterminant(Jacobian(map, x, step));

    /// <summary>
    /// ∂loss/∂values[k] for every k by central differences, perturbing <paramref name="values"/> in place (a parameter's
    /// array) and restoring it exactly afterwards.
    /// </summary>
    public static double[] Gradient(Func<double> loss, double[] values, double step)
    {
        var gradient = new double[values.Length];
        for (int k = 0; k < values.Length; k++)
        {
            double saved = values[k];
            values[k] = saved + step;
            double plus = loss();
            values[k] = saved - step;
            double minus = loss();
            values[k] = saved;
            gradient[k] = (plus - minus) / (2 * step);
        }

        return gradient;
    }

    /// <summary>
    /// ∂(Σₖ termsₖ)/∂values[i] by central differences, differencing each term before summing so that terms which do not
    /// depend on values[i] cancel exactly instead of adding round-off of the size of the whole sum. The step is
    /// relative: step·max(1, |values[i]|). <paramref name="values"/> is perturbed in place and restored exactly.
    /// </summary>
    public static double[] GradientOfSum(Func<double[]> terms, double[] values, double step)
    {
        var gradient = new double[values.Length];
        for (int k = 0; k < values.Length; k++)
        {
            double saved = values[k];
            double h = step * Math.Max(1, Math.Abs(saved));
            values[k] = saved + h;
            double[] plus = terms();
            values[k] = saved - h;
            double[] minus = terms();
            values[k] = saved;
            double sum = 0;
            for (int i = 0; i < plus.Length; i++)
            {
                sum += plus[i] - minus[i];
            }

            gradient[k] = sum / (2 * h);
        }

        return gradient;
    }
}
