using System.Numerics;
using Flows.Numerics;

namespace Flows.Tests.Numerics;

public sealed class GemmTests
{
    public enum Form
    {
        AB,
        ABt,
        AtB,
    }

    public static TheoryData<Form, bool> Forms => new()
    {
        { Form.AB, false }, { Form.AB, true }, { Form.ABt, false }, { Form.ABt, true }, { Form.AtB, false }, { Form.AtB, true },
    };

    // Every size 0..70 in each dimension, the other two from a small set that crosses the tile sizes (6 rows, two
    // vectors of columns) and includes 1, so that every tail of the micro-kernel and the packing runs.
    [Theory]
    [MemberData(nameof(Forms))]
    public void Double_MatchesTheNaiveLoop_ForEverySizeUpTo70InEachDimension(Form form, bool accumulate)
    {
        int[] others = [1, 7, 17, 70];
        for (int size = 0; size <= 70; size++)
        {
            foreach (int x in others)
            {
                foreach (int y in others)
                {
                    Check<double>(form, accumulate, size, x, y, 1e-13);
                    Check<double>(form, accumulate, x, size, y, 1e-13);
                    Check<double>(form, accumulate, x, y, size, 1e-13);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Forms))]
    public void Float_MatchesTheNaiveLoop_ForEverySizeUpTo70InEachDimension(Form form, bool accumulate)
    {
        int[] others = [1, 9, 33];
        for (int size = 0; size <= 70; size++)
        {
            foreach (int x in others)
            {
                foreach (int y in others)
                {
                    Check<float>(form, accumulate, size, x, y, 2e-6);
                    Check<float>(form, accumulate, x, size, y, 2e-6);
                    Check<float>(form, accumulate, x, y, size, 2e-6);
                }
            }
        }
    }

    [Theory]
    [InlineData(257, 129, 300)]
    [InlineData(512, 64, 64)]
    [InlineData(97, 600, 1100)]
    public void LargeShapes_MatchTheNaiveLoop(int m, int k, int n)
    {
        foreach (Form form in Enum.GetValues<Form>())
        {
            Check<double>(form, accumulate: true, m, k, n, 1e-13);
            Check<float>(form, accumulate: false, m, k, n, 2e-6);
        }
    }

    private static void Check<T>(Form form, bool accumulate, int m, int k, int n, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random((m * 7919) + (k * 104729) + n);
        T[] a = Random<T>(m * k, random);
        T[] b = Random<T>(k * n, random);
        // C carries garbage (overwritten unless accumulating) and a guard band that must stay untouched.
        T[] c = Random<T>((m * n) + 5, random);
        T[] initial = (T[])c.Clone();
        switch (form)
        {
            case Form.AB:
                Gemm.Multiply<T>(a, b, c, m, k, n, accumulate);
                break;
            case Form.ABt:
                Gemm.MultiplyTransposedB<T>(a, b, c, m, k, n, accumulate);
                break;
            default:
                Gemm.MultiplyTransposedA<T>(a, b, c, m, k, n, accumulate);
                break;
        }

        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double expected = accumulate ? double.CreateTruncating(initial[(i * n) + j]) : 0;
                double scale = 1;
                for (int p = 0; p < k; p++)
                {
                    double av = double.CreateTruncating(form == Form.AtB ? a[(p * m) + i] : a[(i * k) + p]);
                    double bv = double.CreateTruncating(form == Form.ABt ? b[(j * k) + p] : b[(p * n) + j]);
                    expected += av * bv;
                    scale += Math.Abs(av * bv);
                }

                double actual = double.CreateTruncating(c[(i * n) + j]);
                Assert.True(Math.Abs(actual - expected) <= tolerance * scale,
                    $"{form} {m}×{k}×{n} accumulate={accumulate}: C[{i}, {j}] = {actual}, expected {expected}");
            }
        }

        for (int g = m * n; g < c.Length; g++)
        {
            Assert.Equal(initial[g], c[g]);
        }
    }

    private static T[] Random<T>(int length, Random random) where T : unmanaged, IFloatingPointIeee754<T>
        => [.. Enumerable.Range(0, length).Select(_ => T.CreateTruncating((2 * random.NextDouble()) - 1))];
}
