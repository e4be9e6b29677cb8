using System.Numerics;

using Flows.Numerics;

namespace Flows.Autodiff;

/// <summary>
/// A reverse-mode tape over batched operations, and the arena their nodes live in.
/// </summary>
/// <remarks>
/// <para>Operations (the extension methods of <see cref="TapeOps"/>) allocate their outputs from the tape and, when
/// <see cref="IsRecording"/> is true, record a <see cref="TapeEntry{T}"/>; <see cref="Backward"/> replays the entries in
/// reverse, accumulating gradients. With recording off the same operations compute values only. A few fused ops take a
/// faster path when nothing records (MAF sampling one feature at a time, the spline op without the scratch its
/// backward pass needs); the property suite checks that both paths give the same bits.</para>
/// <para>Two independent switches describe a pass. <see cref="IsRecording"/> says whether gradients are wanted;
/// <see cref="IsTraining"/> says whether the pass is a training step on data, which lets layers with batch-dependent
/// behaviour use it (batch statistics, data-dependent initialization). Maximum-likelihood fitting trains on a tape that
/// does both and validates on one that does neither; variational inference records without training, because the
/// inputs its layers see are q's own samples, not data.</para>
/// <para><see cref="Reset"/> rewinds the arena: the n-th allocation after a reset reuses the n-th node's buffers, so a
/// step that repeats its shapes allocates nothing. A tape is not thread-safe.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Tape<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly List<Node<T>> _nodes = [];
    private int _nodeCount;
    private TapeEntry<T>[] _entries = new TapeEntry<T>[64];
    private int _entryCount;
    private Dictionary<Parameter<T>, Node<T>>? _ownGradients;
    // Every pass of every tape gets its own number, so a pass counts its uses of each parameter node (UsesOf) without a
    // list to clear and without the node holding on to the tape: a count stamped with another pass is zero.
    private static long s_passes;
    private long _pass = Interlocked.Increment(ref s_passes);

    /// <summary>Creates a tape.</summary>
    /// <param name="isRecording">Whether operations record themselves for <see cref="Backward"/>.</param>
    /// <param name="isTraining">Whether the passes run on this tape are training steps on data; see <see cref="IsTraining"/>.</param>
    public Tape(bool isRecording = true, bool isTraining = false)
    {
        IsRecording = isRecording;
        IsTraining = isTraining;
    }

    /// <summary>Whether operations record themselves for <see cref="Backward"/>. Set it only between resets.</summary>
    public bool IsRecording { get; set; }

    /// <summary>
    /// Whether the passes on this tape are training steps on data (like PyTorch's <c>module.train()</c> or Keras's
    /// <c>training=True</c>, but a property of the pass rather than of the model). Default false. Set it only between
    /// resets.
    /// </summary>
    /// <remarks>
    /// <para>In training mode layers may depend on the batch as a whole: <c>BatchNorm</c> normalizes with the batch mean
    /// and variance and updates its running averages, and an uninitialized <c>ActNorm</c> initializes itself from the
    /// batch. Outside training every layer is a fixed map whose rows are independent (BatchNorm uses its running
    /// statistics), and an ActNorm on a recording tape adopts its current parameters instead of initializing.</para>
    /// <para>The mode is independent of <see cref="IsRecording"/>: recording says only that <see cref="Backward"/> will
    /// be called. <c>MaximumLikelihood.Fit</c> runs its steps with both on and its validation with both off;
    /// <c>VariationalInference.Fit</c> and <c>VariationalObjective</c> never train (they record, to differentiate the
    /// ELBO, but the inputs of their layers are q's samples). A custom maximum-likelihood loop creates its tape with
    /// <c>new Tape&lt;T&gt;(isTraining: true)</c>; without it the flow still trains, with BatchNorm frozen at its running
    /// statistics and ActNorm starting from the identity.</para>
    /// </remarks>
    public bool IsTraining { get; set; }

    /// <summary>Where masked linear ops take W ⊙ M from when several tapes share a step (data-parallel blocks) or a call
    /// (an array-level evaluation's chunks), or null to form it on the tape at each use.</summary>
    internal MaskedWeightProducts<T>? MaskedWeightProducts { get; set; }

    /// <summary>Where a data-parallel step's block on this tape adds its linear weights' gradients when their turn comes
    /// (see <see cref="BlockOrderedGradients{T}"/>), or null.</summary>
    internal BlockOrderedGradients<T>? OrderedGradients { get; set; }

    /// <summary>The block of the step this tape runs, for <see cref="OrderedGradients"/>.</summary>
    internal int Block { get; set; }

    /// <summary>How many inputs of the operations recorded since the last <see cref="Reset"/> are
    /// <paramref name="parameter"/> (a parameter's node, or this tape's own node of one), with those of
    /// <see cref="CountUses"/>.</summary>
    internal int UsesOf(Node<T> parameter) => parameter.UsesPass == _pass ? parameter.Uses : 0;

    /// <summary>Counts uses of parameters whose gradients a recorded operation's rule writes without taking them as
    /// inputs (a continuous flow's solve writes every parameter of its field).</summary>
    internal void CountUses(ReadOnlySpan<Node<T>> parameters)
    {
        foreach (Node<T> parameter in parameters)
        {
            CountUse(parameter);
        }
    }

    /// <summary>Number of operations recorded since the last <see cref="Reset"/>.</summary>
    public int EntryCount => _entryCount;

    /// <summary>Rewinds the arena and forgets the recorded operations; node buffers are kept for reuse.</summary>
    public void Reset()
    {
        _pass = Interlocked.Increment(ref s_passes);
        Array.Clear(_entries, 0, _entryCount);
        _entryCount = 0;
        _nodeCount = 0;
    }

    /// <summary>Hands out a node of the given shape whose values are unspecified and must be written by the caller.</summary>
    /// <param name="rows">Rows. Range: ≥ 0.</param>
    /// <param name="columns">Columns. Range: ≥ 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">A negative dimension.</exception>
    public Node<T> Allocate(int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        Node<T> node;
        if (_nodeCount < _nodes.Count)
        {
            node = _nodes[_nodeCount];
            node.Reuse(rows, columns);
        }
        else
        {
            node = new Node<T>(new T[Math.Max(1, rows * columns)], null, rows, columns, isParameter: false);
            _nodes.Add(node);
        }

        _nodeCount++;
        return node;
    }

    /// <summary>A constant node holding a copy of <paramref name="values"/>; no gradient flows into it.</summary>
    /// <param name="values">rows × columns values, row-major.</param>
    /// <param name="rows">Rows.</param>
    /// <param name="columns">Columns.</param>
    /// <exception cref="ArgumentException"><paramref name="values"/> does not hold rows × columns values.</exception>
    public Node<T> Constant(ReadOnlySpan<T> values, int rows, int columns)
    {
        if (values.Length != rows * columns)
        {
            throw new ArgumentException($"values has {values.Length} elements, expected {rows} × {columns} = {rows * columns}.", nameof(values));
        }

        Node<T> node = Allocate(rows, columns);
        values.CopyTo(node.Values);
        return node;
    }

    /// <summary>Puts a parameter on the tape: the returned node shares its values and accumulates into its gradients.</summary>
    /// <param name="parameter">The parameter.</param>
    public Node<T> Use(Parameter<T> parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (_ownGradients is null)
        {
            return parameter.Node;
        }

        if (!_ownGradients.TryGetValue(parameter, out Node<T>? node))
        {
            node = new Node<T>(parameter.Values, new T[parameter.Values.Length], parameter.Rows, parameter.Columns, isParameter: true) { GradientIsTapeOwned = true };
            _ownGradients.Add(parameter, node);
        }

        return node;
    }

    /// <summary>From now on <see cref="Use"/> gives nodes that share a parameter's values but accumulate into a
    /// gradient buffer of this tape's own (made on first use, kept across resets): what lets several tapes back-propagate
    /// one batch's blocks on several threads at once. <see cref="Backward"/> accumulates into them as into parameters.</summary>
    internal void KeepOwnParameterGradients() => _ownGradients ??= [];

    /// <summary>This tape's own gradient of <paramref name="parameter"/>, or an empty span when no pass on it used the
    /// parameter or its gradient is still zero (see <see cref="KeepOwnParameterGradients"/>). A masked weight's gradient
    /// is left stale outside its mask: <paramref name="staleOutside"/> is that mask (the entries outside it count as zero),
    /// or null when every entry is current.</summary>
    internal ReadOnlySpan<T> OwnGradients(Parameter<T> parameter, out WeightMask<T>? staleOutside)
    {
        staleOutside = null;
        return _ownGradients is not null && _ownGradients.TryGetValue(parameter, out Node<T>? node) && !node.GradientsArePendingZero
            ? node.GradientsForReduction(out staleOutside)
            : default;
    }

    /// <summary>Zeroes this tape's own parameter gradients (lazily: see <see cref="Node{T}.ZeroGradientsLazily"/>).</summary>
    internal void ZeroOwnGradients()
    {
        if (_ownGradients is not null)
        {
            foreach (Node<T> node in _ownGradients.Values)
            {
                node.ZeroGradientsLazily();
            }
        }
    }

    /// <summary>
    /// Back-propagates from a 1 × 1 <paramref name="loss"/>: seeds its gradient with 1 and replays the recorded
    /// operations in reverse. Intermediate gradients are zeroed first; parameter gradients accumulate (zero them with
    /// <see cref="Parameter{T}.ZeroGradients"/> between steps).
    /// </summary>
    /// <param name="loss">A 1 × 1 node computed on this tape.</param>
    /// <exception cref="InvalidOperationException">The tape is not recording, or the loss does not depend on any parameter.</exception>
    /// <exception cref="ArgumentException"><paramref name="loss"/> is not 1 × 1.</exception>
    public void Backward(Node<T> loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (!IsRecording)
        {
            throw new InvalidOperationException("Backward needs a recording tape; this tape was created with isRecording: false.");
        }

        if (loss.Length != 1)
        {
            throw new ArgumentException($"The loss must be 1 × 1, but is {loss.Rows} × {loss.Columns}.", nameof(loss));
        }

        if (!loss.RequiresGradient)
        {
            throw new InvalidOperationException("The loss does not depend on any parameter, so there is nothing to differentiate.");
        }

        // Zeroed lazily: most of these buffers are first written by a rule that overwrites them whole.
        for (int i = 0; i < _nodeCount; i++)
        {
            Node<T> node = _nodes[i];
            if (node.RequiresGradient)
            {
                node.ZeroGradientsLazily();
            }
        }

        loss.Gradients[0] += T.One;
        for (int i = _entryCount - 1; i >= 0; i--)
        {
            ref readonly TapeEntry<T> entry = ref _entries[i];
            entry.Rule(in entry);
        }
    }

    /// <summary>
    /// Records an operation for <see cref="Backward"/>: how an operation of your own — a fused op with a hand-derived
    /// backward pass — joins the built-in ones of <see cref="TapeOps"/>. Call it after the forward pass has written the
    /// output values.
    /// </summary>
    /// <remarks>
    /// <para><b>When it records.</b> Only when <see cref="IsRecording"/> is true and at least one of
    /// <paramref name="input0"/>, <paramref name="input1"/>, <paramref name="input2"/> has
    /// <see cref="Node{T}.RequiresGradient"/> (a parameter from <see cref="Use"/>, a
    /// <see cref="TapeOps.Variable"/>, or the output of a recorded operation). It then marks <paramref name="output"/>
    /// and <paramref name="output1"/> as requiring gradients, gives them gradient buffers, and appends one entry. In
    /// every other case it does nothing and the outputs stay constants, so the same forward code is the evaluation
    /// path. Recording allocates nothing once the entry array has grown to the step's size.</para>
    /// <para><b>Writing an op.</b> Take the outputs (and any scratch) from <see cref="Allocate"/>, compute their
    /// values from the inputs' <see cref="Node{T}.Values"/>, then call <c>Record</c>. <see cref="Backward"/> calls
    /// <paramref name="rule"/> once, in reverse order of recording, when the gradients of everything computed from the
    /// outputs have been accumulated into the outputs' <see cref="Node{T}.Gradients"/>; the entry it receives
    /// (<see cref="TapeEntry{T}"/>) holds exactly the arguments given here.</para>
    /// <para><b>The backward rule</b> must be a <i>cached static delegate</i> — a <c>static readonly</c> field created
    /// once per element type, as every built-in op does — never a lambda that captures state: recording then allocates
    /// nothing, and everything a call needs travels in the entry (<paramref name="saved"/>, <paramref name="scalar"/>,
    /// <paramref name="flag"/>, <paramref name="indices"/>, <paramref name="state"/>). It must <i>accumulate</i>
    /// (<c>+=</c>) into the <see cref="Node{T}.Gradients"/> of each input whose
    /// <see cref="Node{T}.RequiresGradient"/> is true, never assign, because an input may feed several operations and a
    /// parameter's gradient accumulates across calls; an input that does not require a gradient has no buffer (its
    /// <see cref="Node{T}.Gradients"/> throws). A 1 × d input broadcast over n rows receives the sum over rows. The rule
    /// reads values and output gradients and writes nothing else. Verify it against central finite differences.</para>
    /// <para>An operation has at most three differentiable inputs; a node it reads but does not differentiate (a
    /// constant, or values saved by the forward pass such as tanh(z)) goes in <paramref name="saved"/>.</para>
    /// </remarks>
    /// <param name="rule">The backward rule: reads the output gradients and accumulates the input gradients.</param>
    /// <param name="output">The output, a node from <see cref="Allocate"/> holding the forward values.</param>
    /// <param name="input0">The first input.</param>
    /// <param name="input1">The second input, or null.</param>
    /// <param name="input2">The third input, or null.</param>
    /// <param name="output1">A second output from <see cref="Allocate"/> (for example a log-determinant), or null.</param>
    /// <param name="saved">Scratch the forward pass computed for the backward pass, or null. It is read, not
    /// differentiated.</param>
    /// <param name="scalar">A scalar the backward pass needs (a scale factor), or the default.</param>
    /// <param name="flag">A flag or count the backward pass needs, or 0.</param>
    /// <param name="indices">Indices the backward pass needs (a permutation), or null. Not copied: do not change them
    /// before <see cref="Backward"/>.</param>
    /// <param name="state">An immutable object the backward pass needs (its owner's fixed masks or settings), or null.
    /// Not copied: it must not change before <see cref="Backward"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="rule"/>, <paramref name="output"/> or
    /// <paramref name="input0"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="output"/> or <paramref name="output1"/> is a parameter's
    /// node: outputs are nodes from <see cref="Allocate"/>.</exception>
    public void Record(Backward<T> rule, Node<T> output, Node<T> input0, Node<T>? input1 = null, Node<T>? input2 = null,
        Node<T>? output1 = null, Node<T>? saved = null, T scalar = default, int flag = 0, int[]? indices = null, object? state = null)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(input0);
        if (output.IsParameter || (output1?.IsParameter ?? false))
        {
            // The op would overwrite the parameter's values, and its backward rule would read the parameter's accumulated
            // gradient as the output's.
            throw new ArgumentException(
                $"{(output.IsParameter ? nameof(output) : nameof(output1))} is a parameter's node; an operation's outputs must be nodes from Allocate.",
                output.IsParameter ? nameof(output) : nameof(output1));
        }

        if (!IsRecording)
        {
            return;
        }

        bool requires = input0.RequiresGradient || (input1?.RequiresGradient ?? false) || (input2?.RequiresGradient ?? false);
        if (!requires)
        {
            return;
        }

        CountUse(input0);
        CountUse(input1);
        CountUse(input2);
        MarkRequiresGradient(output);
        if (output1 is not null)
        {
            MarkRequiresGradient(output1);
        }

        if (_entryCount == _entries.Length)
        {
            Array.Resize(ref _entries, _entries.Length * 2);
        }

        _entries[_entryCount++] = new TapeEntry<T>(this, rule, output, output1, input0, input1, input2, saved, scalar, flag, indices, state);
    }

    private void CountUse(Node<T>? input)
    {
        if (input is not { IsParameter: true })
        {
            return;
        }

        if (input.UsesPass != _pass)
        {
            input.UsesPass = _pass;
            input.Uses = 0;
        }

        input.Uses++;
    }

    private static void MarkRequiresGradient(Node<T> node)
    {
        node.RequiresGradient = true;
        node.EnsureGradientBuffer();
    }
}
