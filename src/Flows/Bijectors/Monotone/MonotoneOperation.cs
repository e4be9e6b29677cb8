using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// <see cref="MonotoneOps.Monotone{T, TFunction}"/> bound to one monotone function, so that
/// <see cref="MonotoneTransform{T}"/> needs no type argument for the (internal) function struct.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal abstract class MonotoneOperation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>P, the parameters per feature.</summary>
    public abstract int ParameterCount { get; }

    /// <summary>The operation bound to <paramref name="function"/>.</summary>
    public static MonotoneOperation<T> Of<TFunction>(TFunction function) where TFunction : struct, IMonotoneFunction<T>
        => new Bound<TFunction>(function);

    /// <summary>The operation bound to <paramref name="function"/>, whose data → base direction runs in vector lanes
    /// (<see cref="MonotoneLanes"/>); its numerical inverse stays scalar.</summary>
    public static MonotoneOperation<T> OfLanes<TFunction>(TFunction function) where TFunction : struct, IMonotoneLanes<T>
        => new LaneBound<TFunction>(function);

    /// <summary>F (data → base) or, with <paramref name="solve"/>, F⁻¹ (base → data); see <see cref="MonotoneOps"/>.</summary>
    public abstract (Node<T> Output, Node<T> LogDet) Apply(Tape<T> tape, Node<T> input, Node<T> parameters, bool solve, string name);

    private sealed class Bound<TFunction>(TFunction function) : MonotoneOperation<T> where TFunction : struct, IMonotoneFunction<T>
    {
        // Boxed once here: what the tape records and the backward pass unboxes, so a step allocates no box.
        private readonly object _state = function;

        public override int ParameterCount => function.ParameterCount;

        public override (Node<T> Output, Node<T> LogDet) Apply(Tape<T> tape, Node<T> input, Node<T> parameters, bool solve, string name)
            => tape.Monotone(input, parameters, function, _state, solve, name);
    }

    private sealed class LaneBound<TFunction>(TFunction function) : MonotoneOperation<T> where TFunction : struct, IMonotoneLanes<T>
    {
        // Boxed once here, as in Bound.
        private readonly object _state = function;

        public override int ParameterCount => function.ParameterCount;

        public override (Node<T> Output, Node<T> LogDet) Apply(Tape<T> tape, Node<T> input, Node<T> parameters, bool solve, string name)
            => solve ? tape.Monotone(input, parameters, function, _state, solve, name) : tape.MonotoneLanesForward(input, parameters, function, _state);
    }
}
