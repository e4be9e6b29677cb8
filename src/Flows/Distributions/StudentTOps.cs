using System.Numerics;
using Flows.Autodiff;
using MathNet.Numerics;

namespace Flows.Distributions;

/// <summary>The fused log-density of independent standard Student-t features with learned degrees of freedom, and its
/// hand-derived backward pass.</summary>
internal static class StudentTOps
{
    /// <summary>
    /// Per row, <c>Σⱼ log t(uⱼ; νⱼ)</c> with <c>log t(u; ν) = lgamma((ν+1)/2) − lgamma(ν/2) − ½ log(νπ) − (ν+1)/2 · log(1 + u²/ν)</c>
    /// and <c>ν = softplus(r) + <paramref name="floor"/></c>: n × d and 1 × d → n × 1.
    /// </summary>
    /// <remarks>lgamma and digamma come from MathNet.Numerics in double (per column, not per element).</remarks>
    public static Node<T> StandardLogDensity<T>(Tape<T> tape, Node<T> u, Node<T> raw, double floor) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = u.Rows;
        int d = u.Columns;
        // Per column: ν, the constant of the density, ∂constant/∂ν and dν/dr = sigmoid(r), for the backward pass.
        Node<T> saved = tape.Allocate(4, d);
        Span<T> s = saved.Values;
        T constantSum = T.Zero;
        for (int j = 0; j < d; j++)
        {
            double r = double.CreateTruncating(raw.Values[j]);
            double nu = Softplus(r) + floor;
            double constant = SpecialFunctions.GammaLn((nu + 1) / 2) - SpecialFunctions.GammaLn(nu / 2) - (0.5 * Math.Log(nu * Math.PI));
            double dConstant = (0.5 * SpecialFunctions.DiGamma((nu + 1) / 2)) - (0.5 * SpecialFunctions.DiGamma(nu / 2)) - (0.5 / nu);
            s[j] = T.CreateTruncating(nu);
            s[d + j] = T.CreateTruncating(constant);
            s[(2 * d) + j] = T.CreateTruncating(dConstant);
            s[(3 * d) + j] = T.CreateTruncating(1 / (1 + Math.Exp(-r)));
            constantSum += s[d + j];
        }

        Node<T> y = tape.Allocate(n, 1);
        T half = T.CreateTruncating(0.5);
        for (int i = 0; i < n; i++)
        {
            T sum = constantSum;
            for (int j = 0; j < d; j++)
            {
                T nu = s[j];
                T value = u.Values[(i * d) + j];
                sum -= half * (nu + T.One) * T.LogP1(value * value / nu);
            }

            y.Values[i] = sum;
        }

        tape.Record(Backward<T>.Instance, y, u, raw, saved: saved);
        return y;
    }

    internal static double Softplus(double r) => r > 30 ? r : Math.Log(1 + Math.Exp(r));

    private static class Backward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Flows.Autodiff.Backward<T> Instance = Run;

        // With q = 1 + u²/ν:  ∂/∂u = −(ν+1) u / (ν + u²);
        // ∂/∂ν = ½ψ((ν+1)/2) − ½ψ(ν/2) − 1/(2ν) − ½ log q + (ν+1) u² / (2ν(ν + u²));  ∂ν/∂r = sigmoid(r).
        // Checked against central differences in StudentTTests.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> u = e.Input0;
            Node<T> raw = e.Input1!;
            ReadOnlySpan<T> s = e.Saved!.Values;
            ReadOnlySpan<T> g = e.Output.Gradients;
            int d = u.Columns;
            T half = T.CreateTruncating(0.5);
            for (int i = 0; i < u.Rows; i++)
            {
                for (int j = 0; j < d; j++)
                {
                    T nu = s[j];
                    T value = u.Values[(i * d) + j];
                    T square = value * value;
                    if (u.RequiresGradient)
                    {
                        u.Gradients[(i * d) + j] -= g[i] * (nu + T.One) * value / (nu + square);
                    }

                    if (raw.RequiresGradient)
                    {
                        T dNu = s[(2 * d) + j] - (half * T.LogP1(square / nu)) + ((nu + T.One) * square / (T.CreateTruncating(2) * nu * (nu + square)));
                        raw.Gradients[j] += g[i] * dNu * s[(3 * d) + j];
                    }
                }
            }
        }
    }
}
