namespace Flows.Neural;

/// <summary>Autoregressive orders over d features: natural, reversed, random, or checked explicit ones.</summary>
public static class Orders
{
    /// <summary>0, 1, …, d − 1.</summary>
    /// <param name="dimension">d. Range: &gt; 0.</param>
    public static int[] Natural(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        return [.. Enumerable.Range(0, dimension)];
    }

    /// <summary>d − 1, …, 1, 0.</summary>
    /// <param name="dimension">d. Range: &gt; 0.</param>
    public static int[] Reversed(int dimension)
    {
        int[] order = Natural(dimension);
        Array.Reverse(order);
        return order;
    }

    /// <summary>A uniformly random order drawn from a generator seeded by <paramref name="seed"/>.</summary>
    /// <param name="dimension">d. Range: &gt; 0.</param>
    /// <param name="seed">Seed of the order.</param>
    public static int[] Random(int dimension, int seed) => Random(dimension, new Random(seed));

    // Draws from a caller's generator, so that a preset can thread one generator through its layers.
    internal static int[] Random(int dimension, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        int[] order = Natural(dimension);
        random.Shuffle(order);
        return order;
    }

    internal static void Check(IReadOnlyList<int>? order, int features, string name)
    {
        ArgumentNullException.ThrowIfNull(order, name);
        if (order.Count != features)
        {
            throw new ArgumentException($"{name} has {order.Count} entries but there are {features} features.", name);
        }

        var seen = new bool[features];
        for (int i = 0; i < order.Count; i++)
        {
            if ((uint)order[i] >= (uint)features || seen[order[i]])
            {
                throw new ArgumentException($"{name}[{i}] = {order[i]} makes {name} not a permutation of 0..{features - 1}.", name);
            }

            seen[order[i]] = true;
        }
    }
}
