using System.Numerics;

namespace Flows.Tests.Fuzz;

/// <summary>
/// The seeded source of fuzz inputs: shapes, values with NaN, ±∞, huge and tiny numbers mixed in, and picks among
/// settings at and past their bounds. One instance per test, so a failing case is reproduced by its seed alone.
/// </summary>
internal sealed class FuzzValues(int seed)
{
    private readonly Random _random = new(seed);

    /// <summary>The underlying generator, for the library's own <see cref="Random"/> parameters.</summary>
    public Random Random => _random;

    /// <summary>True with probability <paramref name="probability"/>.</summary>
    public bool Chance(double probability) => _random.NextDouble() < probability;

    /// <summary>One of <paramref name="items"/>, uniformly.</summary>
    public TItem Pick<TItem>(params TItem[] items) => items[_random.Next(items.Length)];

    /// <summary>A value that is ordinary (a normal draw at a random scale) most of the time, otherwise special.</summary>
    public T Value<T>(double specialProbability) where T : unmanaged, IFloatingPointIeee754<T>
        => Chance(specialProbability) ? Special<T>() : T.CreateTruncating(Normal() * Pick(1.0, 1.0, 3.0, 0.01, 100.0));

    /// <summary>A special value: 0, −0, NaN, ±∞, the largest finite values, huge, tiny and subnormal numbers.</summary>
    public T Special<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        T largest = T.BitDecrement(T.PositiveInfinity);
        return _random.Next(12) switch
        {
            0 => T.Zero,
            1 => T.NegativeZero,
            2 => T.NaN,
            3 => T.PositiveInfinity,
            4 => T.NegativeInfinity,
            5 => largest,
            6 => -largest,
            7 => T.CreateTruncating(Pick(1e6, -1e6, 1e15, -1e30)),
            8 => T.CreateTruncating(Pick(1e300, -1e300, 1e38, -1e38)), // saturates to ±∞ in float
            9 => T.Epsilon,
            10 => -T.Epsilon,
            _ => T.CreateTruncating(Pick(1e-300, -1e-30, 1e-7)),
        };
    }

    /// <summary>
    /// A rows × columns matrix: clean (half of the time), with one special value at a random place, or with many.
    /// </summary>
    public T[,] Matrix<T>(int rows, int columns) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double special = _random.Next(4) switch
        {
            0 or 1 => 0,
            2 => -1, // exactly one special value
            _ => 0.2,
        };
        var matrix = new T[rows, columns];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                matrix[i, j] = Value<T>(Math.Max(special, 0));
            }
        }

        if (special < 0 && rows * columns > 0)
        {
            matrix[_random.Next(rows), _random.Next(columns)] = Special<T>();
        }

        return matrix;
    }

    /// <summary>A standard normal draw (Box–Muller).</summary>
    public double Normal() => Math.Sqrt(-2 * Math.Log(1 - _random.NextDouble())) * Math.Cos(2 * Math.PI * _random.NextDouble());
}
