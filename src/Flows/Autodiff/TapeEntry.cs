using System.Numerics;

namespace Flows.Autodiff;

/// <summary>The backward rule of one recorded operation: reads output gradients and accumulates input gradients.</summary>
/// <remarks>
/// Pass it to <see cref="Tape{T}.Record"/> as a cached static delegate (a <c>static readonly</c> field), never a
/// capturing lambda; it adds (<c>+=</c>) into the gradients of the inputs whose <see cref="Node{T}.RequiresGradient"/>
/// is true and changes nothing else.
/// </remarks>
/// <typeparam name="T">The element type.</typeparam>
/// <param name="entry">What the operation recorded.</param>
public delegate void Backward<T>(in TapeEntry<T> entry) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// One recorded operation: its cached backward rule, up to three inputs, up to two outputs and any saved scratch,
/// exactly as given to <see cref="Tape{T}.Record"/>.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public readonly struct TapeEntry<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal TapeEntry(Tape<T> tape, Backward<T> rule, Node<T> output, Node<T>? output1, Node<T> input0, Node<T>? input1, Node<T>? input2,
        Node<T>? saved, T scalar, int flag, int[]? indices, object? state)
    {
        Tape = tape;
        Rule = rule;
        Output = output;
        Output1 = output1;
        Input0 = input0;
        Input1 = input1;
        Input2 = input2;
        Saved = saved;
        Scalar = scalar;
        Flag = flag;
        Indices = indices;
        State = state;
    }

    /// <summary>The tape that recorded the operation.</summary>
    internal Tape<T> Tape { get; }

    /// <summary>The backward rule.</summary>
    public Backward<T> Rule { get; }

    /// <summary>The (first) output.</summary>
    public Node<T> Output { get; }

    /// <summary>The second output of a fused operation (for example a log-determinant), or null.</summary>
    public Node<T>? Output1 { get; }

    /// <summary>The first input.</summary>
    public Node<T> Input0 { get; }

    /// <summary>The second input, or null.</summary>
    public Node<T>? Input1 { get; }

    /// <summary>The third input, or null.</summary>
    public Node<T>? Input2 { get; }

    /// <summary>Scratch saved by the forward pass for the backward pass, or null.</summary>
    public Node<T>? Saved { get; }

    /// <summary>A scalar the operation needs in its backward pass.</summary>
    public T Scalar { get; }

    /// <summary>A flag or count the operation needs in its backward pass (a flag or a count).</summary>
    public int Flag { get; }

    /// <summary>Indices the operation needs in its backward pass (a permutation), or null.</summary>
    public int[]? Indices { get; }

    /// <summary>Immutable state of the operation's owner that its backward pass reads (a masked layer's bands), or null.</summary>
    public object? State { get; }
}
