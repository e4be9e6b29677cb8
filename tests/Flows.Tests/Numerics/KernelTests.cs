using System.Numerics;
using Flows.Numerics;

namespace Flows.Tests.Numerics;

/// <summary>The fused elementwise kernels at every length 0..256, in float and double, against naive loops.</summary>
public sealed class KernelTests
{
    private const int Guard = 8;

    public static TheoryData<int> Lengths
    {
        get
        {
            var data = new TheoryData<int>();
            for (int length = 0; length <= 256; length++)
            {
                data.Add(length);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Softplus_MatchesNaiveLoop(int length)
    {
        AtEveryWidth(() =>
        {
            CheckMap<double, Kernels.Softplus<double>>(length, NaiveSoftplus, 4e-16 * 4);
            CheckMap<float, Kernels.Softplus<float>>(length, NaiveSoftplus, 6e-8 * 8); // exp, log and the log1p correction each round in float
        });
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Sigmoid_MatchesNaiveLoop(int length)
    {
        AtEveryWidth(() =>
        {
            CheckMap<double, Kernels.Sigmoid<double>>(length, NaiveSigmoid, 4e-16 * 4);
            CheckMap<float, Kernels.Sigmoid<float>>(length, NaiveSigmoid, 6e-8 * 4);
        });
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void ReluGradient_KeepsTheGradientExactlyWhereTheOutputIsPositive(int length)
    {
        AtEveryWidth(() =>
        {
            CheckReluGradient<double>(length);
            CheckReluGradient<float>(length);
        });
    }

    private static void CheckReluGradient<T>(int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Outputs as a fused Linear+ReLU stores them (0, positive, NaN), with gradients that include ±∞ and NaN, which
        // must become 0 (not NaN) where the unit was off. The guard after the span must stay untouched.
        T[] special = [T.Zero, T.NegativeZero, T.NaN, T.One, T.Epsilon];
        T[] gradients = [T.PositiveInfinity, T.NegativeInfinity, T.NaN, -T.One, T.CreateTruncating(0.5)];
        var random = new Random(length);
        T[] y = [.. Enumerable.Range(0, length).Select(i => i % 3 == 0 ? special[random.Next(special.Length)] : T.CreateTruncating(random.NextDouble() - 0.5))];
        T[] g = [.. Enumerable.Range(0, length + Guard).Select(i => i % 4 == 0 ? gradients[random.Next(gradients.Length)] : T.CreateTruncating(random.NextDouble() - 0.5))];
        T[] expected = [.. g.Select((v, i) => i >= length || y[i] > T.Zero ? v : T.Zero)];

        Kernels.ReluGradient<T>(y, g.AsSpan(0, length));

        Assert.Equal(expected, g);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Map_GivesEachElementTheSameBitsWhateverTheLength(int length)
    {
        AtEveryWidth(() =>
        {
            CheckLengthIndependence<double, Kernels.Softplus<double>>(length);
            CheckLengthIndependence<float, Kernels.Softplus<float>>(length);
            CheckLengthIndependence<double, Kernels.Sigmoid<double>>(length);
            CheckLengthIndependence<float, Kernels.Sigmoid<float>>(length);
        });
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Map_WorksInPlace(int length)
    {
        AtEveryWidth(() =>
        {
            CheckInPlace<double, Kernels.Softplus<double>>(length);
            CheckInPlace<float, Kernels.Sigmoid<float>>(length);
        });
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void MultiplyAddDerivative_MatchesNaiveLoop(int length)
    {
        AtEveryWidth(() =>
        {
            CheckMultiplyAddDerivative<double, Functions.Tanh<double>>(length, static (x, y) => 1 - (y * y));
            CheckMultiplyAddDerivative<float, Functions.Tanh<float>>(length, static (x, y) => 1 - (y * y));
            CheckMultiplyAddDerivative<double, Functions.Exp<double>>(length, static (x, y) => y);
            CheckMultiplyAddDerivative<float, Functions.Log<float>>(length, static (x, y) => 1 / x);
            CheckMultiplyAddDerivative<double, Functions.Relu<double>>(length, static (x, y) => x > 0 ? 1 : 0);
            CheckMultiplyAddDerivative<float, Functions.Sigmoid<float>>(length, static (x, y) => y * (1 - y));
        });
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AdamUpdate_MatchesNaiveLoopBitForBit(int length)
    {
        AtEveryWidth(() =>
        {
            CheckAdam<double>(length);
            CheckAdam<float>(length);
        });
    }

    // The update reports a θ it made non-finite wherever it sits (a vector body's lane or the scalar remainder): overflow
    // from a finite θ, a NaN gradient, and a θ that was already infinite.
    [Theory]
    [MemberData(nameof(Lengths))]
    public void AdamUpdate_ReportsEveryNonFiniteTheta(int length)
    {
        AtEveryWidth(() =>
        {
            CheckAdamReportsNonFinite<double>(length);
            CheckAdamReportsNonFinite<float>(length);
        });
    }

    // Every kernel's 512-bit form is lane for lane its 256-bit form: at the widths the hardware runs natively, every
    // element gets the same bits (the scalar path, without AVX2, is checked against the naive loops above).
    [Theory]
    [MemberData(nameof(Lengths))]
    public void Map_GivesTheSameBitsAtEveryNativeWidth(int length)
    {
        SameBitsAtNativeWidths<double, Kernels.Softplus<double>>(length);
        SameBitsAtNativeWidths<float, Kernels.Softplus<float>>(length);
        SameBitsAtNativeWidths<double, Kernels.Sigmoid<double>>(length);
        SameBitsAtNativeWidths<float, Kernels.Sigmoid<float>>(length);
        SameBitsAtNativeWidths<double, Kernels.Exp<double>>(length);
        SameBitsAtNativeWidths<float, Kernels.Exp<float>>(length);
    }

    // The paths the kernels have: 256 bits (or the scalar loop without AVX2) and 512 bits, forced on this thread;
    // 512 bits runs in software where the hardware lacks AVX-512.
    private static void AtEveryWidth(Action check)
    {
        foreach (int bits in new[] { 256, 512 })
        {
            using VectorWidth.Scope width = VectorWidth.Force(bits);
            check();
        }
    }

    private static void SameBitsAtNativeWidths<T, TKernel>(int length)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TKernel : IElementwiseKernel<T>
    {
        T[] x = Inputs<T>(length, seed: 31 + length);
        T[]? reference = null;
        foreach (int bits in new[] { 256, 512 }.Where(b => b <= VectorWidth.Hardware))
        {
            var y = new T[length];
            using (VectorWidth.Force(bits))
            {
                Kernels.Map<T, TKernel>(x, y);
            }

            reference ??= y;
            Assert.Equal(reference, y);
        }
    }

    // Values spread over (−40, 40) with zeros, large magnitudes and infinities mixed in.
    private static T[] Inputs<T>(int length, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(seed);
        var values = new T[length];
        for (int i = 0; i < length; i++)
        {
            double v = (random.NextDouble() * 80) - 40;
            v = (i % 11) switch
            {
                3 => 0,
                5 => v * 20,
                7 => v * 1e-12,
                _ => v,
            };
            values[i] = T.CreateTruncating(v);
        }

        if (length > 9)
        {
            values[9] = T.PositiveInfinity;
        }

        if (length > 10)
        {
            values[10] = T.NegativeInfinity;
        }

        return values;
    }

    private static void CheckMap<T, TKernel>(int length, Func<double, double> reference, double relativeTolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TKernel : IElementwiseKernel<T>
    {
        T[] x = Inputs<T>(length, seed: length);
        var buffer = new T[length + (2 * Guard)];
        buffer.AsSpan().Fill(T.CreateTruncating(12345));
        Kernels.Map<T, TKernel>(x, buffer.AsSpan(Guard, length));
        for (int i = 0; i < length; i++)
        {
            double expected = reference(double.CreateTruncating(x[i]));
            double actual = double.CreateTruncating(buffer[Guard + i]);
            if (expected == actual)
            {
                continue;
            }

            // Compare in T: an expected value below T's normal range is compared absolutely.
            double scale = Math.Max(Math.Abs(expected), double.CreateTruncating(T.Epsilon) * 1e10);
            Assert.True(Math.Abs(actual - expected) <= relativeTolerance * scale,
                $"{typeof(TKernel).Name}({typeof(T).Name}) at length {length}, x[{i}] = {x[i]}: expected {expected:R}, got {actual:R}.");
        }

        AssertGuardsIntact(buffer, length);
    }

    private static void CheckLengthIndependence<T, TKernel>(int length)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TKernel : IElementwiseKernel<T>
    {
        T[] x = Inputs<T>(256, seed: 99);
        var full = new T[256];
        var part = new T[length];
        Kernels.Map<T, TKernel>(x, full);
        Kernels.Map<T, TKernel>(x.AsSpan(256 - length), part);
        for (int i = 0; i < length; i++)
        {
            Assert.Equal(full[256 - length + i], part[i]);
        }
    }

    private static void CheckInPlace<T, TKernel>(int length)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TKernel : IElementwiseKernel<T>
    {
        T[] x = Inputs<T>(length, seed: 5);
        var expected = new T[length];
        Kernels.Map<T, TKernel>(x, expected);
        Kernels.Map<T, TKernel>(x, x);
        Assert.Equal(expected, x);
    }

    private static void CheckMultiplyAddDerivative<T, TFunction>(int length, Func<T, T, T> derivative)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TFunction : IUnaryFunction<T>
    {
        T[] x = Inputs<T>(length, seed: 7);
        for (int i = 0; i < length; i++)
        {
            // Finite, non-zero inputs (the Log derivative is 1/x) in a range every function maps finitely.
            x[i] = T.IsFinite(x[i]) && x[i] != T.Zero ? T.Clamp(x[i], T.CreateTruncating(-30), T.CreateTruncating(30)) : T.One;
        }

        var y = new T[length];
        TFunction.Map(x, y);
        T[] g = Inputs<T>(length, seed: 8);
        for (int i = 0; i < length; i++)
        {
            g[i] = T.IsFinite(g[i]) ? g[i] : T.One;
        }

        T[] start = Inputs<T>(length, seed: 9);
        for (int i = 0; i < length; i++)
        {
            start[i] = T.IsFinite(start[i]) ? start[i] : T.Zero;
        }

        var buffer = new T[length + (2 * Guard)];
        buffer.AsSpan().Fill(T.CreateTruncating(12345));
        start.CopyTo(buffer, Guard);
        Kernels.MultiplyAddDerivative<T, DerivativeOf<T, TFunction>>(x, y, g, buffer.AsSpan(Guard, length));
        for (int i = 0; i < length; i++)
        {
            T expected = start[i] + (g[i] * derivative(x[i], y[i]));
            Assert.True(expected.Equals(buffer[Guard + i]),
                $"{typeof(TFunction).Name}({typeof(T).Name}) at length {length}, element {i}: expected {expected}, got {buffer[Guard + i]}.");
        }

        AssertGuardsIntact(buffer, length);
    }

    private static void CheckAdam<T>(int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var coefficients = new AdamCoefficients<T>(T.CreateTruncating(0.9), T.CreateTruncating(0.1), T.CreateTruncating(0.999),
            T.CreateTruncating(0.001), T.CreateTruncating(0.01), T.CreateTruncating(1.2), T.CreateTruncating(1e-8), T.CreateTruncating(1e-4));
        T[] theta = Finite(Inputs<T>(length, seed: 1));
        T[] g = Finite(Inputs<T>(length, seed: 2));
        T[] m = Finite(Inputs<T>(length, seed: 3));
        T[] v = Finite(Inputs<T>(length, seed: 4));
        for (int i = 0; i < length; i++)
        {
            v[i] = T.Abs(v[i]);
        }

        T[] thetaExpected = (T[])theta.Clone();
        T[] mExpected = (T[])m.Clone();
        T[] vExpected = (T[])v.Clone();
        for (int i = 0; i < length; i++)
        {
            mExpected[i] = (coefficients.Beta1 * mExpected[i]) + (coefficients.OneMinusBeta1 * g[i]);
            vExpected[i] = (coefficients.Beta2 * vExpected[i]) + (coefficients.OneMinusBeta2 * g[i] * g[i]);
            thetaExpected[i] -= (coefficients.StepSize * mExpected[i]
                / ((T.Sqrt(vExpected[i]) * coefficients.InverseSqrtCorrection2) + coefficients.Epsilon)) + (coefficients.Decay * thetaExpected[i]);
        }

        Assert.True(Kernels.AdamUpdate<T>(theta, g, m, v, coefficients));
        Assert.Equal(mExpected, m);
        Assert.Equal(vExpected, v);
        Assert.Equal(thetaExpected, theta);
    }

    private static void CheckAdamReportsNonFinite<T>(int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // A decay of −1 doubles θ: the largest finite value overflows to +∞.
        var coefficients = new AdamCoefficients<T>(T.CreateTruncating(0.9), T.CreateTruncating(0.1), T.CreateTruncating(0.999),
            T.CreateTruncating(0.001), T.CreateTruncating(0.01), T.One, T.CreateTruncating(1e-8), -T.One);
        for (int i = 0; i < length; i++)
        {
            foreach (int fault in new[] { 0, 1, 2 })
            {
                T[] theta = Finite(Inputs<T>(length, seed: 1));
                T[] g = Finite(Inputs<T>(length, seed: 2));
                T[] m = new T[length];
                T[] v = new T[length];
                switch (fault)
                {
                    case 0: theta[i] = T.BitDecrement(T.PositiveInfinity); break;
                    case 1: g[i] = T.NaN; break;
                    default: theta[i] = T.NegativeInfinity; break;
                }

                Assert.False(Kernels.AdamUpdate<T>(theta, g, m, v, coefficients), $"{typeof(T).Name} length {length}, fault {fault} at {i}");
                Assert.False(T.IsFinite(theta[i]));
            }
        }

        T[] clean = [.. Finite(Inputs<T>(length, seed: 1)).Select(x => x / T.CreateTruncating(4))];
        Assert.True(Kernels.AdamUpdate<T>(clean, Finite(Inputs<T>(length, seed: 2)), new T[length], new T[length], coefficients));
    }

    private static T[] Finite<T>(T[] values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = T.IsFinite(values[i]) ? values[i] : T.One;
        }

        return values;
    }

    private static void AssertGuardsIntact<T>(T[] buffer, int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T guard = T.CreateTruncating(12345);
        for (int i = 0; i < Guard; i++)
        {
            Assert.Equal(guard, buffer[i]);
            Assert.Equal(guard, buffer[Guard + length + i]);
        }
    }

    // Naive references in double. log1p(t) for t in [0, 1] is summed as its series below ½ (60 terms leave less than
    // 2⁻⁶⁰ behind) and as log(1 + t) above, where 1 + t rounds by at most half an ulp of a number ≥ 1.5.
    private static double NaiveSoftplus(double x)
    {
        if (double.IsPositiveInfinity(x))
        {
            return x;
        }

        double t = Math.Exp(-Math.Abs(x));
        double log1p;
        if (t < 0.5)
        {
            log1p = 0;
            double power = t;
            for (int k = 1; k <= 60; k++)
            {
                log1p += (k % 2 == 1 ? power : -power) / k;
                power *= t;
            }
        }
        else
        {
            log1p = Math.Log(1 + t);
        }

        return Math.Max(x, 0) + log1p;
    }

    private static double NaiveSigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));
}
