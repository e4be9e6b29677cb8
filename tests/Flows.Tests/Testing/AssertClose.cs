using Xunit.Sdk;

namespace Flows.Tests.Testing;

/// <summary>Element-wise closeness assertions whose failure messages say where, what and by how much.</summary>
internal static class AssertClose
{
    /// <summary>|actual − expected| ≤ tolerance·(1 + |expected|) for every element.</summary>
    public static void Relative(double expected, double actual, double tolerance, string because = "")
    {
        if (!IsClose(expected, actual, tolerance))
        {
            throw new XunitException($"{because}: expected {expected:R}, got {actual:R} (difference {actual - expected:G3}, tolerance {tolerance:G3}·(1 + |expected|)).");
        }
    }

    /// <inheritdoc cref="Relative(double, double, double, string)"/>
    public static void All(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double tolerance, string because = "")
    {
        if (expected.Length != actual.Length)
        {
            throw new XunitException($"{because}: expected {expected.Length} values, got {actual.Length}.");
        }

        for (int i = 0; i < expected.Length; i++)
        {
            if (!IsClose(expected[i], actual[i], tolerance))
            {
                throw new XunitException($"{because}: at [{i}] expected {expected[i]:R}, got {actual[i]:R} (difference {actual[i] - expected[i]:G3}, tolerance {tolerance:G3}·(1 + |expected|)).");
            }
        }
    }

    /// <inheritdoc cref="Relative(double, double, double, string)"/>
    public static void All(double[,] expected, double[,] actual, double tolerance, string because = "")
    {
        if (expected.GetLength(0) != actual.GetLength(0) || expected.GetLength(1) != actual.GetLength(1))
        {
            throw new XunitException($"{because}: expected {expected.GetLength(0)} × {expected.GetLength(1)}, got {actual.GetLength(0)} × {actual.GetLength(1)}.");
        }

        for (int i = 0; i < expected.GetLength(0); i++)
        {
            for (int j = 0; j < expected.GetLength(1); j++)
            {
                if (!IsClose(expected[i, j], actual[i, j], tolerance))
                {
                    throw new XunitException($"{because}: at [{i}, {j}] expected {expected[i, j]:R}, got {actual[i, j]:R} (difference {actual[i, j] - expected[i, j]:G3}, tolerance {tolerance:G3}·(1 + |expected|)).");
                }
            }
        }
    }

    /// <summary>Bitwise equality of every element (NaN equals NaN with the same bits).</summary>
    public static void Bitwise(double[,] expected, double[,] actual, string because = "")
    {
        Assert.Equal(expected.GetLength(0), actual.GetLength(0));
        Assert.Equal(expected.GetLength(1), actual.GetLength(1));
        for (int i = 0; i < expected.GetLength(0); i++)
        {
            for (int j = 0; j < expected.GetLength(1); j++)
            {
                if (BitConverter.DoubleToInt64Bits(expected[i, j]) != BitConverter.DoubleToInt64Bits(actual[i, j]))
                {
                    throw new XunitException($"{because}: at [{i}, {j}] expected {expected[i, j]:R}, got {actual[i, j]:R}; bitwise equality required.");
                }
            }
        }
    }

    /// <inheritdoc cref="Bitwise(double[,], double[,], string)"/>
    public static void Bitwise(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, string because = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.DoubleToInt64Bits(expected[i]) != BitConverter.DoubleToInt64Bits(actual[i]))
            {
                throw new XunitException($"{because}: at [{i}] expected {expected[i]:R}, got {actual[i]:R}; bitwise equality required.");
            }
        }
    }

    /// <summary>A log-density a golden file stores against the one computed now: bit for bit where the hardware has
    /// AVX-512 (the files were written on such a machine with the default instruction set), to 1e-12 elsewhere, since
    /// TensorPrimitives' reductions at other widths may group sums differently.</summary>
    public static void StoredDensity(double stored, double computed)
    {
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
        {
            Assert.Equal(BitConverter.DoubleToInt64Bits(stored), BitConverter.DoubleToInt64Bits(computed));
        }
        else
        {
            Assert.Equal(stored, computed, 1e-12);
        }
    }

    /// <summary>Every element is finite.</summary>
    public static void Finite(ReadOnlySpan<double> values, string because = "")
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!double.IsFinite(values[i]))
            {
                throw new XunitException($"{because}: element [{i}] is {values[i]}.");
            }
        }
    }

    /// <inheritdoc cref="Finite(ReadOnlySpan{double}, string)"/>
    public static void Finite(double[,] values, string because = "") => Finite(TestData.Flatten(values), because);

    private static bool IsClose(double expected, double actual, double tolerance)
    {
        if (double.IsNaN(expected) || double.IsNaN(actual))
        {
            return false;
        }

        if (double.IsInfinity(expected) || double.IsInfinity(actual))
        {
            return expected == actual;
        }

        return Math.Abs(actual - expected) <= tolerance * (1 + Math.Abs(expected));
    }
}
