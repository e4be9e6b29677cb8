using System.Numerics;
using System.Numerics.Tensors;
using Flows.Numerics;

namespace Flows.Autodiff;

/// <summary>
/// Sums the blocks' gradients of a data-parallel step's linear weights into the parameters' own gradients in block order
/// while the blocks run, instead of in a reduction after them: a block whose turn it is (every earlier block's gradient
/// is in) adds its product straight into the parameter's gradient, and one that finished early leaves its gradient in
/// its tape's own buffer for whichever thread's turn comes next, or for the reduction.
/// </summary>
/// <remarks>
/// <para>On one thread every block's turn comes in order, so the weights need neither the blocks' own buffers nor a
/// reduction (MAF-64, double: 8.3 ms of a 172 ms step). On several threads the blocks that run beside an earlier one
/// leave their share to the next in turn.</para>
/// <para>The bits are those of the reduction: a weight's gradient in a block is one product gᵀx over at most KC rows,
/// which the product forms from zero and adds to C once (<see cref="Gemm"/>), so adding it into the running sum gives
/// sum + block, exactly what the reduction adds. Only a weight that its block's tape uses once takes part; one used
/// several times (or any other parameter) is summed by the reduction.</para>
/// <para>A masked weight's product written straight into the parameter's gradient leaves values outside the mask in the
/// tiles that straddle it; <see cref="StaleOutside"/> tells the reduction to clear them once per step. (A step whose
/// block throws ends without the reduction: its gradients are partial, and may hold such values.)</para>
/// <para>A waiting block's buffer is read by the thread whose turn reaches it while the block's own thread goes on with
/// its backward pass: the block marks it final only after its one write to it, and its tape changes the buffer's node
/// only in <see cref="Tape{T}.Use"/> (the forward pass, over by then) and at the next step's start.</para>
/// </remarks>
internal sealed class BlockOrderedGradients<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // _summed[p] while a thread adds into parameter p's gradient.
    private const int Adding = -1;

    private readonly IReadOnlyList<Parameter<T>> _parameters;
    private readonly Dictionary<T[], int> _slots = new(ReferenceEqualityComparer.Instance);
    private readonly int[] _summed;
    private readonly WeightMask<T>?[] _staleOutside;
    private int[] _ready = [];
    private Tape<T>[] _tapes = [];
    private int _blocks;

    public BlockOrderedGradients(IReadOnlyList<Parameter<T>> parameters)
    {
        _parameters = parameters;
        _summed = new int[parameters.Count];
        _staleOutside = new WeightMask<T>?[parameters.Count];
        for (int p = 0; p < parameters.Count; p++)
        {
            _slots.Add(parameters[p].Node.Buffer, p);
        }
    }

    /// <summary>Starts a step of <paramref name="blocks"/> blocks on <paramref name="tapes"/> (block b on tapes[b]), the
    /// parameters' gradients zero.</summary>
    public void Start(Tape<T>[] tapes, int blocks)
    {
        _tapes = tapes;
        _blocks = blocks;
        Array.Clear(_summed);
        Array.Clear(_staleOutside);
        if (_ready.Length < blocks * _parameters.Count)
        {
            _ready = new int[blocks * _parameters.Count];
        }
        else
        {
            Array.Clear(_ready);
        }
    }

    /// <summary>Blocks whose gradient of parameter <paramref name="slot"/> is in the parameter's own gradient: the
    /// reduction adds the others, from this block on.</summary>
    public int Summed(int slot) => _summed[slot];

    /// <summary>The mask outside which parameter <paramref name="slot"/>'s gradient holds stale values, or null.</summary>
    public WeightMask<T>? StaleOutside(int slot) => _staleOutside[slot];

    /// <summary>Whether <paramref name="weight"/> (a parameter's node, or a tape's own node of it) is one of the step's
    /// parameters; <paramref name="slot"/> is its index.</summary>
    public bool TryFind(Node<T> weight, out int slot) => _slots.TryGetValue(weight.Buffer, out slot);

    /// <summary>Claims parameter <paramref name="slot"/>'s gradient for <paramref name="block"/> when every earlier
    /// block's gradient is in it; the caller then adds its product into <see cref="Target"/> and calls
    /// <see cref="EndAdding"/>. False: the caller writes its own buffer and calls <see cref="Leave"/>.</summary>
    public bool TryClaim(int block, int slot) => Interlocked.CompareExchange(ref _summed[slot], Adding, block) == block;

    /// <summary>The parameter's own gradient, for the block that claimed it.</summary>
    public Span<T> Target(int slot) => _parameters[slot].Gradients;

    /// <summary>Ends <paramref name="block"/>'s adding into parameter <paramref name="slot"/>'s gradient, which now holds
    /// stale values outside <paramref name="staleOutside"/> (null: none), and adds the later blocks' gradients that are
    /// waiting, in order.</summary>
    public void EndAdding(int block, int slot, WeightMask<T>? staleOutside)
    {
        if (staleOutside is not null)
        {
            _staleOutside[slot] = staleOutside;
        }

        Release(block + 1, slot);
    }

    /// <summary>Marks <paramref name="block"/>'s own gradient of parameter <paramref name="slot"/> final, and adds it
    /// (and any later ones waiting) if its turn has come meanwhile.</summary>
    public void Leave(int block, int slot)
    {
        // A full fence: either this thread sees the turn the thread before handed on, or that thread sees this mark.
        Interlocked.Exchange(ref _ready[(block * _parameters.Count) + slot], 1);
        if (Interlocked.CompareExchange(ref _summed[slot], Adding, block) == block)
        {
            AddOwnGradient(_tapes[block], _parameters[slot], 0, _parameters[slot].Gradients);
            Release(block + 1, slot);
        }
    }

    // Parameter slot's gradient holds the blocks before `next`: hands the turn on, adding each waiting block's gradient
    // whose turn it is.
    private void Release(int next, int slot)
    {
        while (true)
        {
            Interlocked.Exchange(ref _summed[slot], next);
            if (next == _blocks
                || Volatile.Read(ref _ready[(next * _parameters.Count) + slot]) == 0
                || Interlocked.CompareExchange(ref _summed[slot], Adding, next) != next)
            {
                return;
            }

            AddOwnGradient(_tapes[next], _parameters[slot], 0, _parameters[slot].Gradients);
            next++;
        }
    }

    /// <summary>Adds elements [<paramref name="start"/>, start + sum.Length) of <paramref name="tape"/>'s own gradient of
    /// <paramref name="parameter"/> into <paramref name="sum"/> (nothing if the tape left it zero).</summary>
    public static void AddOwnGradient(Tape<T> tape, Parameter<T> parameter, int start, Span<T> sum)
    {
        ReadOnlySpan<T> own = tape.OwnGradients(parameter, out WeightMask<T>? staleOutside);
        if (own.IsEmpty)
        {
            return;
        }

        if (staleOutside is null)
        {
            TensorPrimitives.Add(sum, own.Slice(start, sum.Length), sum);
        }
        else
        {
            // Outside the mask the block's gradient counts as zero (its buffer is stale there), and adding zero
            // changes no sum: the entries there are cleared at the end of the step.
            staleOutside.AddInside(start, own.Slice(start, sum.Length), sum);
        }
    }
}
