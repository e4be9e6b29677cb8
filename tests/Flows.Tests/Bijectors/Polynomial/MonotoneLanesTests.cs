using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Neural;
using Flows.Numerics;
using Flows.Tests.Testing;
using Flows.Tests.Training;
using Flows.Training;

namespace Flows.Tests.Bijectors;

/// <summary>
/// The vector lanes of the monotone shell's data → base direction (<c>MonotoneLanes</c>, used by the sum-of-squares and
/// Bernstein transforms): values, log-determinants, input and parameter gradients against the papers' formulas written
/// plainly here, and against the scalar path bit for bit, at every vector width, on ragged shapes (d below, at and above
/// a vector, rows that split vectors), with per-row and shared parameters and inputs on both tails.
/// </summary>
public sealed class MonotoneLanesTests
{
    private const double Bound = 2.5;
    private const double MinimumSlope = 0.01;

    // Relative to 1 + |reference|: the plain formulas sum in other orders than the kernel, and with B = 2.5 and
    // coefficients of order 1 the terms stay within a few hundred, so rounding stays far below this.
    private const double ReferenceTolerance = 1e-13;

    private static readonly (int Rows, int Features)[] s_shapes = [(1, 1), (3, 1), (5, 2), (7, 3), (3, 4), (2, 5), (2, 8), (3, 9), (2, 11), (2, 16), (2, 17)];

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (string family in new[] { "sos", "bernstein" })
        {
            foreach (int bits in new[] { 128, 256, 512 })
            {
                data.Add(family, bits);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Inverse_MatchesThePapersFormulas_ValuesLogDetsAndGradients(string family, int bits)
    {
        using VectorWidth.Scope width = VectorWidth.Force(bits);
        foreach ((int n, int d) in s_shapes)
        {
            foreach (bool shared in new[] { false, true })
            {
                string because = $"{family}, {bits} bits, {n} × {d}, shared {shared}";
                Reference reference = family == "sos" ? new SumOfSquaresReference(2, 3) : new BernsteinReference(7);
                (double[] x, double[] theta, double[] a, double[] l) = Inputs(n, d, reference.ParameterCount, shared, seed: (31 * n) + d);
                Result<double> run = Run(Transform<double>(family), x, theta, a, l, n, d, shared);

                var expectedInputGradient = new double[n * d];
                var expectedThetaGradient = new double[theta.Length];
                int p = reference.ParameterCount;
                for (int i = 0; i < n; i++)
                {
                    double logDet = 0;
                    for (int j = 0; j < d; j++)
                    {
                        int row = shared ? 0 : i;
                        double[] th = [.. Enumerable.Range(0, p).Select(k => theta[(row * p * d) + (k * d) + j])];
                        double xi = x[(i * d) + j];
                        (double value, double derivative, double logSlope, double[] valueGradient, double[] logGradient) = reference.Extended(xi, th);
                        Close(value, run.Output[(i * d) + j], because);
                        logDet += Math.Log(derivative);
                        double ai = a[(i * d) + j];
                        expectedInputGradient[(i * d) + j] = (ai * derivative) + (l[i] * logSlope);
                        for (int k = 0; k < p; k++)
                        {
                            expectedThetaGradient[(row * p * d) + (k * d) + j] += (ai * valueGradient[k]) + (l[i] * logGradient[k]);
                        }
                    }

                    Close(logDet, run.LogDet[i], because);
                }

                for (int k = 0; k < expectedInputGradient.Length; k++)
                {
                    Close(expectedInputGradient[k], run.InputGradient[k], because + $", ∂x[{k}]");
                }

                for (int k = 0; k < expectedThetaGradient.Length; k++)
                {
                    Close(expectedThetaGradient[k], run.ParameterGradient[k], because + $", ∂θ[{k}]");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Inverse_HasTheScalarPathsBits(string family, int bits)
    {
        using VectorWidth.Scope width = VectorWidth.Force(bits);
        foreach ((int n, int d) in s_shapes)
        {
            foreach (bool shared in new[] { false, true })
            {
                string because = $"{family}, {bits} bits, {n} × {d}, shared {shared}";
                SameBits<double>(family, n, d, shared, because);
                SameBits<float>(family, n, d, shared, because + ", float");
            }
        }
    }

    private static void SameBits<T>(string family, int n, int d, bool shared, string because) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int p = family == "sos" ? 9 : 8;
        (double[] x, double[] theta, double[] a, double[] l) = Inputs(n, d, p, shared, seed: (17 * n) + d);
        Result<T> lanes = Run(Transform<T>(family), Convert<T>(x), Convert<T>(theta), Convert<T>(a), Convert<T>(l), n, d, shared);
        Result<T> scalar = Run(new ScalarTransform<T>(family), Convert<T>(x), Convert<T>(theta), Convert<T>(a), Convert<T>(l), n, d, shared);
        Assert.True(lanes.Output.SequenceEqual(scalar.Output), because + ": outputs");
        Assert.True(lanes.LogDet.SequenceEqual(scalar.LogDet), because + ": log-dets");
        Assert.True(lanes.InputGradient.SequenceEqual(scalar.InputGradient), because + ": input gradients");
        Assert.True(lanes.ParameterGradient.SequenceEqual(scalar.ParameterGradient), because + ": parameter gradients");
    }

    private static void Close(double expected, double actual, string because)
        => Assert.True(Math.Abs(expected - actual) <= ReferenceTolerance * (1 + Math.Abs(expected)),
            $"{because}: expected {expected:R}, got {actual:R} (difference {expected - actual:E2})");

    private static IConditionalTransform<T> Transform<T>(string family) where T : unmanaged, IFloatingPointIeee754<T>
        => family == "sos"
            ? new SumOfSquaresPolynomialTransform<T>(polynomialCount: 2, degree: 3, tailBound: Bound, minimumSlope: MinimumSlope)
            : new BernsteinTransform<T>(degree: 7, tailBound: Bound, minimumSlope: MinimumSlope);

    // The same functions through the shell's scalar operation, element by element.
    private sealed class ScalarTransform<T>(string family) where T : unmanaged, IFloatingPointIeee754<T>
    {
        public (Node<T> Output, Node<T> LogDet) Inverse(Tape<T> tape, Node<T> x, Node<T> parameters)
            => family == "sos"
                ? MonotoneOperation<T>.Of(new SumOfSquaresFunction<T>(2, 3, Bound, MinimumSlope)).Apply(tape, x, parameters, solve: false, "sos")
                : MonotoneOperation<T>.Of(new BernsteinFunction<T>(7, Bound, MinimumSlope)).Apply(tape, x, parameters, solve: false, "bernstein");
    }

    private sealed record Result<T>(T[] Output, T[] LogDet, T[] InputGradient, T[] ParameterGradient);

    private static Result<T> Run<T>(IConditionalTransform<T> transform, T[] x, T[] theta, T[] a, T[] l, int n, int d, bool shared)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Run(transform.Inverse, x, theta, a, l, n, d, shared);

    private static Result<T> Run<T>(ScalarTransform<T> transform, T[] x, T[] theta, T[] a, T[] l, int n, int d, bool shared)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Run(transform.Inverse, x, theta, a, l, n, d, shared);

    // Loss Σ a·z + Σ l·logDet, so that ∂L/∂z = a and ∂L/∂logDet = l.
    private static Result<T> Run<T>(Func<Tape<T>, Node<T>, Node<T>, (Node<T> Output, Node<T> LogDet)> inverse, T[] x, T[] theta, T[] a, T[] l,
        int n, int d, bool shared)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var tape = new Tape<T>();
        Node<T> input = tape.Variable(x, n, d);
        Node<T> parameters = tape.Variable(theta, shared ? 1 : n, theta.Length / (shared ? 1 : n));
        (Node<T> output, Node<T> logDet) = inverse(tape, input, parameters);
        tape.Backward(tape.Add(tape.Sum(tape.Multiply(output, tape.Constant(a, n, d))), tape.Sum(tape.Multiply(logDet, tape.Constant(l, n, 1)))));
        return new Result<T>([.. output.Values], [.. logDet.Values], [.. input.Gradients], [.. parameters.Gradients]);
    }

    // Inputs over (−4, 4) with B = 2.5, so both tails and the ends ±B themselves; parameters N(0, 0.6²); weights N(0, 1).
    private static (double[] X, double[] Theta, double[] A, double[] L) Inputs(int n, int d, int p, bool shared, int seed)
    {
        var random = new Random(seed);
        double[] x = [.. Enumerable.Range(0, n * d).Select(k => k % 7 == 3 ? Bound : k % 7 == 5 ? -Bound : (random.NextDouble() * 8) - 4)];
        double[] theta = [.. TestData.StandardNormal((shared ? 1 : n) * p * d, seed + 1, scale: 0.6)];
        return (x, theta, TestData.StandardNormal(n * d, seed + 2), TestData.StandardNormal(n, seed + 3));
    }

    private static T[] Convert<T>(double[] values) where T : unmanaged, IFloatingPointIeee754<T>
        => [.. values.Select(T.CreateTruncating)];

    /// <summary>A family's f on [−B, B] written from its paper, and its linear tails.</summary>
    private abstract class Reference
    {
        public abstract int ParameterCount { get; }

        // f, f′, f″, ∂f/∂θ and ∂f′/∂θ at x ∈ [−B, B].
        protected abstract (double F, double D, double D2, double[] DF, double[] DD) Inside(double x, double[] theta);

        // F, F′, ∂log F′/∂x, ∂F/∂θ and ∂log F′/∂θ with F(x) = f(e) + f′(e)(x − e) beyond e = ±B.
        public (double Value, double Derivative, double LogSlope, double[] ValueGradient, double[] LogGradient) Extended(double x, double[] theta)
        {
            double e = Math.Clamp(x, -Bound, Bound);
            (double f, double d, double d2, double[] df, double[] dd) = Inside(e, theta);
            double offset = x - e;
            return (f + (d * offset), d, offset == 0 ? d2 / d : 0,
                [.. df.Zip(dd, (v, s) => v + (offset * s))], [.. dd.Select(s => s / d)]);
        }
    }

    // Jaini et al. 2019: f(x) = b + m·x + ((1 − m)/K)·Σᵢ ∫₀ˣ qᵢ(t)² dt, qᵢ(t) = Σⱼ cᵢⱼ tʲ, cᵢ₀ = 1 + aᵢ₀, cᵢⱼ = aᵢⱼ.
    private sealed class SumOfSquaresReference(int k, int r) : Reference
    {
        public override int ParameterCount => (k * (r + 1)) + 1;

        protected override (double F, double D, double D2, double[] DF, double[] DD) Inside(double x, double[] theta)
        {
            double s = (1 - MinimumSlope) / k;
            double f = theta[0] + (MinimumSlope * x);
            double d = MinimumSlope;
            double d2 = 0;
            var df = new double[ParameterCount];
            var dd = new double[ParameterCount];
            df[0] = 1;
            for (int i = 0; i < k; i++)
            {
                double[] c = [.. Enumerable.Range(0, r + 1).Select(j => theta[1 + (i * (r + 1)) + j] + (j == 0 ? 1 : 0))];
                double q = 0;
                double qSlope = 0;
                for (int j = 0; j <= r; j++)
                {
                    q += c[j] * Math.Pow(x, j);
                    qSlope += j == 0 ? 0 : j * c[j] * Math.Pow(x, j - 1);
                }

                // The square's coefficients by anti-diagonals, integrated term by term.
                for (int power = 0; power <= 2 * r; power++)
                {
                    double coefficient = 0;
                    for (int j = Math.Max(0, power - r); j <= Math.Min(r, power); j++)
                    {
                        coefficient += c[j] * c[power - j];
                    }

                    f += s * coefficient * Math.Pow(x, power + 1) / (power + 1);
                }

                d += s * q * q;
                d2 += 2 * s * q * qSlope;
                for (int j = 0; j <= r; j++)
                {
                    // ∂/∂cᵢⱼ of ∫₀ˣ qᵢ² = 2∫₀ˣ qᵢ tʲ, of qᵢ(x)² = 2qᵢ(x)xʲ.
                    double integral = 0;
                    for (int m = 0; m <= r; m++)
                    {
                        integral += c[m] * Math.Pow(x, j + m + 1) / (j + m + 1);
                    }

                    df[1 + (i * (r + 1)) + j] = 2 * s * integral;
                    dd[1 + (i * (r + 1)) + j] = 2 * s * q * Math.Pow(x, j);
                }
            }

            return (f, d, d2, df, dd);
        }
    }

    // Ramasinghe et al. 2021: f(x) = Σₖ βₖ C(M, k) uᵏ(1 − u)^(M−k), u = (x + B)/2B, β₀ = −B + θ₀, βₖ − βₖ₋₁ = δₖ =
    // (2B/M)(m + (1 − m) softplus(θₖ)/log 2).
    private sealed class BernsteinReference(int degree) : Reference
    {
        public override int ParameterCount => degree + 1;

        protected override (double F, double D, double D2, double[] DF, double[] DD) Inside(double x, double[] theta)
        {
            int m = degree;
            double u = (x + Bound) / (2 * Bound);
            double[] delta = [0, .. theta.Skip(1).Select(t => 2 * Bound / m * (MinimumSlope + ((1 - MinimumSlope) * Math.Log(1 + Math.Exp(t)) / Math.Log(2))))];
            double[] deltaSlope = [0, .. theta.Skip(1).Select(t => 2 * Bound / m * (1 - MinimumSlope) / (1 + Math.Exp(-t)) / Math.Log(2))];
            var beta = new double[m + 1];
            beta[0] = -Bound + theta[0];
            for (int j = 1; j <= m; j++)
            {
                beta[j] = beta[j - 1] + delta[j];
            }

            double f = 0;
            double d = 0;
            double d2 = 0;
            for (int j = 0; j <= m; j++)
            {
                f += beta[j] * Basis(m, j, u);
            }

            for (int j = 0; j < m; j++)
            {
                d += m * (beta[j + 1] - beta[j]) * Basis(m - 1, j, u) / (2 * Bound);
            }

            for (int j = 0; j + 1 < m; j++)
            {
                d2 += m * (m - 1) * (beta[j + 2] - (2 * beta[j + 1]) + beta[j]) * Basis(m - 2, j, u) / (4 * Bound * Bound);
            }

            var df = new double[m + 1];
            var dd = new double[m + 1];
            df[0] = Enumerable.Range(0, m + 1).Sum(j => Basis(m, j, u));
            for (int l = 1; l <= m; l++)
            {
                // βₖ depends on δₗ for k ≥ l; f′ on δₗ through (β_l − β_{l−1}) alone.
                df[l] = deltaSlope[l] * Enumerable.Range(l, m - l + 1).Sum(j => Basis(m, j, u));
                dd[l] = deltaSlope[l] * m * Basis(m - 1, l - 1, u) / (2 * Bound);
            }

            return (f, d, d2, df, dd);
        }

        private static double Basis(int n, int k, double u) => Binomial(n, k) * Math.Pow(u, k) * Math.Pow(1 - u, n - k);

        private static double Binomial(int n, int k)
        {
            double result = 1;
            for (int i = 1; i <= k; i++)
            {
                result = result * (n - k + i) / i;
            }

            return result;
        }
    }
}

/// <summary>A training step through the monotone lanes allocates nothing in the steady state (in the collection that runs
/// alone, as the other steady-state tests).</summary>
[Collection(nameof(ParallelismBudgetRunsAlone))]
public sealed class MonotoneLanesAllocationTests
{
    // d = 3 gathers lanes across rows, d = 8 loads whole vectors of a row's parameters (and pads at 256 bits in float).
    [Theory]
    [InlineData(3)]
    [InlineData(8)]
    public void TrainingStep_InTheSteadyState_AllocatesNothingOnTheCallingThread(int d)
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(d), new Chain<double>(
        [
            new MaskedAutoregressive<double>(d, [16], Orders.Natural(d), transform: new SumOfSquaresPolynomialTransform<double>(), seed: 1),
            new MaskedAutoregressive<double>(d, [16], Orders.Reversed(d), transform: new BernsteinTransform<double>(), seed: 2),
        ]));
        double[] data = TestData.StandardNormal(200 * d, seed: 5);
        var gradient = new DataParallelGradient<double>(flow);
        for (int i = 0; i < 5; i++)
        {
            gradient.Run(data, null, 0, 200, 1);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++)
        {
            gradient.Run(data, null, 0, 200, 1);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
