using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using Flows.Numerics;

namespace Flows.Autodiff;

/// <summary>
/// The products W ⊙ M of masked weights, formed once per step and shared by the tapes of a step's blocks (or once per
/// call by the tapes of an array-level evaluation's chunks): without it every block of a data-parallel step forms each product again (MAF-64:
/// 14 MB written and read per block).
/// </summary>
/// <remarks>
/// A product is formed at <see cref="NextStep"/> (or by the first block that asks for it) and read by the others; the
/// caller must not change the weights between <see cref="NextStep"/> and the end of the step. <see cref="Get"/> is
/// thread-safe; <see cref="NextStep"/> runs between a step's parallel loops, never beside a <see cref="Get"/>. Entries are
/// kept across steps, so a steady-state step allocates nothing.
/// </remarks>
internal sealed class MaskedWeightProducts<T> : IParallelWork where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Dictionary<(T[] Weight, WeightMask<T> Mask), MaskedWeight<T>> _entries = new(new KeyComparer());
    private readonly List<(T[] Weight, MaskedWeight<T> Entry)> _known = [];
    // Masked weights formed on several threads only from this many elements in all (MAF-64: 1.8 M; a hidden-16 MADE: 600).
    private const long ParallelElements = 1 << 16;

    private long _step = 1;
    private bool _packAhead;

    /// <summary>Starts a step: every product is formed again, from the weights as they are now. Those seen in earlier
    /// steps are formed here, on up to <paramref name="degree"/> threads, so the blocks do not wait for one thread to
    /// form them; others on first use. With <paramref name="packAhead"/> their packings that earlier steps used are made
    /// here too; without, on first use (an evaluation, whose calls differ in which packings they read).</summary>
    public void NextStep(int degree, bool packAhead = true)
    {
        Interlocked.Increment(ref _step);
        _packAhead = packAhead;
        long elements = 0;
        foreach ((T[] weight, _) in _known)
        {
            elements += weight.Length;
        }

        // Small weights are formed on this thread: waking a helper would cost more than it saves.
        ParallelLoop.For(this, _known.Count, elements >= ParallelElements ? degree : 1);
    }

    void IParallelWork.Run(int index, int worker)
    {
        (T[] weight, MaskedWeight<T> entry) = _known[index];
        long step = Volatile.Read(ref _step);
        entry.Prepare(weight, step);
        if (!_packAhead)
        {
            return;
        }

        if (entry.ForwardWasUsed)
        {
            _ = entry.Forward; // not for a weight only the sequential pass of a MADE reads (sampling a MAF)
        }

        if (entry.BackwardWasUsed)
        {
            _ = entry.Backward; // not for a layer whose input needs no gradient (MADE's first)
        }
    }

    /// <summary>W ⊙ M for this step, formed on first use.</summary>
    /// <param name="weight">A weight's node (its values are the parameter's array).</param>
    /// <param name="mask">The weight's mask.</param>
    public MaskedWeight<T> Get(Node<T> weight, WeightMask<T> mask)
    {
        // Keyed on the parameter's array, which never changes within a step; a tape's scratch would.
        Debug.Assert(weight.IsParameter, "Only a parameter's weight can be shared by a step's blocks.");
        MaskedWeight<T>? entry;
        lock (_entries)
        {
            if (!_entries.TryGetValue((weight.Buffer, mask), out entry))
            {
                entry = new MaskedWeight<T>(mask, weight.Rows, weight.Columns);
                _entries.Add((weight.Buffer, mask), entry);
                _known.Add((weight.Buffer, entry));
            }
        }

        entry.Prepare(weight.Values, Volatile.Read(ref _step));
        return entry;
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

/// <summary>One step's W ⊙ M of a masked weight, and the two packings of it the linear op's products read: Bᵀ of the
/// forward product x (W ⊙ M)ᵀ and B of the input gradient g (W ⊙ M), each packed once per step on first use.</summary>
internal sealed class MaskedWeight<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Gemm.PackedB<T> _forward = new();
    private readonly Gemm.PackedB<T> _backward = new();
    private long _step;
    private long _forwardStep;
    private long _backwardStep;

    internal MaskedWeight(WeightMask<T> mask, int rows, int columns)
    {
        Mask = mask;
        Product = new Node<T>(new T[rows * columns], null, rows, columns, isParameter: false);
    }

    /// <summary>The mask.</summary>
    public WeightMask<T> Mask { get; }

    /// <summary>W ⊙ M, a node the tape reads but does not differentiate.</summary>
    public Node<T> Product { get; }

    /// <summary>W ⊙ M packed as the forward product's Bᵀ.</summary>
    public Gemm.PackedB<T> Forward
    {
        get
        {
            ForwardWasUsed = true;
            return Packed(_forward, ref _forwardStep, transposed: true);
        }
    }

    /// <summary>W ⊙ M packed as the input gradient's B.</summary>
    public Gemm.PackedB<T> Backward
    {
        get
        {
            BackwardWasUsed = true;
            return Packed(_backward, ref _backwardStep, transposed: false);
        }
    }

    /// <summary>Whether a forward product has asked for <see cref="Forward"/>: only then is it packed ahead of a step.</summary>
    public bool ForwardWasUsed { get; private set; }

    /// <summary>Whether a backward pass has asked for <see cref="Backward"/>: only then is it packed ahead of a step.</summary>
    public bool BackwardWasUsed { get; private set; }

    internal void Prepare(ReadOnlySpan<T> weight, long step)
    {
        if (Volatile.Read(ref _step) == step)
        {
            return;
        }

        lock (this)
        {
            if (_step != step)
            {
                Mask.Apply(weight, Product.Values);
                Volatile.Write(ref _step, step);
            }
        }
    }

    private Gemm.PackedB<T> Packed(Gemm.PackedB<T> packed, ref long packedStep, bool transposed)
    {
        long step = Volatile.Read(ref _step);
        if (Volatile.Read(ref packedStep) != step)
        {
            lock (packed)
            {
                if (packedStep != step)
                {
                    // Forward: B = (W ⊙ M)ᵀ, k = inputs; backward: B = W ⊙ M, k = outputs.
                    (int k, int n) = transposed ? (Product.Columns, Product.Rows) : (Product.Rows, Product.Columns);
                    packed.Pack(Product.Values, k, n, transposed);
                    Volatile.Write(ref packedStep, step);
                }
            }
        }

        return packed;
    }
}
