using System.Numerics;
using System.Runtime.CompilerServices;
using Flows.Numerics;

namespace Flows.Autodiff;

/// <summary>
/// The products W ⊙ M of masked weights, formed once per step and shared by the tapes of a step's blocks: without it
/// every block of a data-parallel step forms each product again (MAF-64: 14 MB written and read per block).
/// </summary>
/// <remarks>
/// A product is formed by the first block that asks for it after <see cref="NextStep"/> and read by the others; the
/// caller must not change the weights between <see cref="NextStep"/> and the end of the step. Thread-safe. Entries are
/// kept across steps, so a steady-state step allocates nothing.
/// </remarks>
internal sealed class MaskedWeightProducts<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Dictionary<(T[] Weight, WeightMask<T> Mask), Entry> _entries = new(new KeyComparer());
    private long _step = 1;

    /// <summary>Starts a step: every product is formed again on first use, from the weights as they are now.</summary>
    public void NextStep() => Interlocked.Increment(ref _step);

    /// <summary>W ⊙ M for this step, as a node the tape reads but does not differentiate.</summary>
    /// <param name="weight">A weight's node (its values are the parameter's array).</param>
    /// <param name="mask">The weight's mask.</param>
    public Node<T> Get(Node<T> weight, WeightMask<T> mask)
    {
        Entry? entry;
        lock (_entries)
        {
            if (!_entries.TryGetValue((weight.Buffer, mask), out entry))
            {
                entry = new Entry(new Node<T>(new T[weight.Length], null, weight.Rows, weight.Columns, isParameter: false));
                _entries.Add((weight.Buffer, mask), entry);
            }
        }

        long step = Volatile.Read(ref _step);
        if (Volatile.Read(ref entry.Step) != step)
        {
            lock (entry)
            {
                if (entry.Step != step)
                {
                    mask.Apply(weight.Values, entry.Product.Values);
                    Volatile.Write(ref entry.Step, step);
                }
            }
        }

        return entry.Product;
    }

    private sealed class Entry(Node<T> product)
    {
        public readonly Node<T> Product = product;
        public long Step;
    }

    // Weights by identity: two layers may hold equal values, never the same array.
    private sealed class KeyComparer : IEqualityComparer<(T[] Weight, WeightMask<T> Mask)>
    {
        public bool Equals((T[] Weight, WeightMask<T> Mask) x, (T[] Weight, WeightMask<T> Mask) y)
            => ReferenceEquals(x.Weight, y.Weight) && ReferenceEquals(x.Mask, y.Mask);

        public int GetHashCode((T[] Weight, WeightMask<T> Mask) key)
            => HashCode.Combine(RuntimeHelpers.GetHashCode(key.Weight), RuntimeHelpers.GetHashCode(key.Mask));
    }
}
