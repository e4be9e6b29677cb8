using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

/// <summary>
/// One vector of lanes at a width fixed by the implementing type (<see cref="Lanes256{T}"/>, <see cref="Lanes512{T}"/>):
/// the operations a fused kernel needs, so that its body is written once and compiled at each width.
/// </summary>
/// <remarks>
/// .NET 10 keeps its own <c>ISimdVector</c> internal, hence this one. The implementations are single-field structs whose
/// members forward to <see cref="Vector256"/> or <see cref="Vector512"/>; the JIT specializes a generic method per
/// struct argument and inlines the forwarders, so the generic body compiles to the same instructions as one written
/// against the vector type itself. Masks are lanes of all ones or all zeros, as the comparison methods return them.
/// </remarks>
/// <typeparam name="TSelf">The implementing type.</typeparam>
/// <typeparam name="T">The element type.</typeparam>
internal interface ISimdLanes<TSelf, T>
    where TSelf : unmanaged, ISimdLanes<TSelf, T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Lanes per vector.</summary>
    static abstract int Count { get; }

    /// <summary>All lanes 0.</summary>
    static abstract TSelf Zero { get; }

    /// <summary>All lanes 1.</summary>
    static abstract TSelf One { get; }

    /// <summary>Lane <paramref name="index"/>.</summary>
    T this[int index] { get; }

    /// <summary>Every lane <paramref name="value"/>.</summary>
    static abstract TSelf Create(T value);

    /// <summary>The first <see cref="Count"/> values of <paramref name="values"/>.</summary>
    static abstract TSelf Create(ReadOnlySpan<T> values);

    /// <summary>Loads <see cref="Count"/> values from <c>source + offset</c> (no alignment needed).</summary>
    static abstract TSelf Load(ref T source, nuint offset);

    /// <summary>Stores the lanes at <c>destination + offset</c>.</summary>
    void Store(ref T destination, nuint offset);

    /// <summary>The sum of the lanes.</summary>
    T Sum();

    static abstract TSelf operator +(TSelf left, TSelf right);

    static abstract TSelf operator -(TSelf left, TSelf right);

    static abstract TSelf operator *(TSelf left, TSelf right);

    static abstract TSelf operator /(TSelf left, TSelf right);

    static abstract TSelf operator -(TSelf value);

    static abstract TSelf operator &(TSelf left, TSelf right);

    static abstract TSelf operator |(TSelf left, TSelf right);

    /// <summary>Lanes where <c>left ≤ right</c>.</summary>
    static abstract TSelf LessThanOrEqual(TSelf left, TSelf right);

    /// <summary>Lanes where <c>left &lt; right</c>.</summary>
    static abstract TSelf LessThan(TSelf left, TSelf right);

    /// <summary>Lanes where <c>left ≥ right</c>.</summary>
    static abstract TSelf GreaterThanOrEqual(TSelf left, TSelf right);

    /// <summary>Lanes where <c>left &gt; right</c>.</summary>
    static abstract TSelf GreaterThan(TSelf left, TSelf right);

    /// <summary>Lanes where <c>left = right</c>.</summary>
    static abstract TSelf EqualTo(TSelf left, TSelf right);

    /// <summary><paramref name="whereTrue"/> in the mask's lanes, <paramref name="whereFalse"/> in the others.</summary>
    static abstract TSelf Select(TSelf mask, TSelf whereTrue, TSelf whereFalse);

    static abstract TSelf Max(TSelf left, TSelf right);

    static abstract TSelf Min(TSelf left, TSelf right);

    static abstract TSelf Abs(TSelf value);

    static abstract TSelf Sqrt(TSelf value);

    /// <summary><typeparamref name="TKernel"/> applied to the lanes (its vector form at this width).</summary>
    static abstract TSelf Apply<TKernel>(TSelf x) where TKernel : IElementwiseKernel<T>;

    /// <summary><typeparamref name="TKernel"/> applied to the lanes of two vectors (its vector form at this width).</summary>
    static abstract TSelf Apply<TKernel>(TSelf x, TSelf y) where TKernel : IBinaryElementwiseKernel<T>;

    /// <summary><see cref="VectorMath"/>'s exp, lane by lane.</summary>
    static abstract TSelf Exp(TSelf value);

    /// <summary>The runtime's vector log, lane by lane.</summary>
    static abstract TSelf Log(TSelf value);

    /// <summary><see cref="Kernels.Softplus{T}"/>, lane by lane.</summary>
    static abstract TSelf Softplus(TSelf value);

    /// <summary><see cref="Kernels.Sigmoid{T}"/>, lane by lane.</summary>
    static abstract TSelf Sigmoid(TSelf value);
}

/// <summary>256-bit lanes (AVX2, and the 128-bit and scalar paths the JIT lowers them to without it).</summary>
/// <typeparam name="T">The element type.</typeparam>
internal readonly struct Lanes256<T>(Vector256<T> value) : ISimdLanes<Lanes256<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Vector256<T> _value = value;

    public static int Count => Vector256<T>.Count;

    public static Lanes256<T> Zero => new(Vector256<T>.Zero);

    public static Lanes256<T> One => new(Vector256<T>.One);

    public T this[int index] => _value[index];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> Create(T value) => new(Vector256.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> Create(ReadOnlySpan<T> values) => new(Vector256.Create(values));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> Load(ref T source, nuint offset) => new(Vector256.LoadUnsafe(ref source, offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(ref T destination, nuint offset) => _value.StoreUnsafe(ref destination, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Sum() => Vector256.Sum(_value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> operator +(Lanes256<T> left, Lanes256<T> right) => new(left._value + right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> operator -(Lanes256<T> left, Lanes256<T> right) => new(left._value - right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> operator *(Lanes256<T> left, Lanes256<T> right) => new(left._value * right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> operator /(Lanes256<T> left, Lanes256<T> right) => new(left._value / right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> operator -(Lanes256<T> value) => new(-value._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> operator &(Lanes256<T> left, Lanes256<T> right) => new(left._value & right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> operator |(Lanes256<T> left, Lanes256<T> right) => new(left._value | right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> LessThanOrEqual(Lanes256<T> left, Lanes256<T> right) => new(Vector256.LessThanOrEqual(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> LessThan(Lanes256<T> left, Lanes256<T> right) => new(Vector256.LessThan(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> GreaterThanOrEqual(Lanes256<T> left, Lanes256<T> right) => new(Vector256.GreaterThanOrEqual(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> GreaterThan(Lanes256<T> left, Lanes256<T> right) => new(Vector256.GreaterThan(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> EqualTo(Lanes256<T> left, Lanes256<T> right) => new(Vector256.Equals(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> Select(Lanes256<T> mask, Lanes256<T> whereTrue, Lanes256<T> whereFalse)
        => new(Vector256.ConditionalSelect(mask._value, whereTrue._value, whereFalse._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> Max(Lanes256<T> left, Lanes256<T> right) => new(Vector256.Max(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> Min(Lanes256<T> left, Lanes256<T> right) => new(Vector256.Min(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> Abs(Lanes256<T> value) => new(Vector256.Abs(value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> Sqrt(Lanes256<T> value) => new(Vector256.Sqrt(value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> Apply<TKernel>(Lanes256<T> x) where TKernel : IElementwiseKernel<T> => new(TKernel.Invoke(x._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> Apply<TKernel>(Lanes256<T> x, Lanes256<T> y) where TKernel : IBinaryElementwiseKernel<T> => new(TKernel.Invoke(x._value, y._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> Exp(Lanes256<T> value) => new(VectorMath.Exp(value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> Log(Lanes256<T> value) => new(VectorMath.Log(value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> Softplus(Lanes256<T> value) => new(Kernels.Softplus<T>.Invoke(value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> Sigmoid(Lanes256<T> value) => new(Kernels.Sigmoid<T>.Invoke(value._value));
}

/// <summary>512-bit lanes (AVX-512; the JIT emulates them in software elsewhere, which tests use).</summary>
/// <typeparam name="T">The element type.</typeparam>
internal readonly struct Lanes512<T>(Vector512<T> value) : ISimdLanes<Lanes512<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Vector512<T> _value = value;

    public static int Count => Vector512<T>.Count;

    public static Lanes512<T> Zero => new(Vector512<T>.Zero);

    public static Lanes512<T> One => new(Vector512<T>.One);

    public T this[int index] => _value[index];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Create(T value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Create(ReadOnlySpan<T> values) => new(Vector512.Create(values));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Load(ref T source, nuint offset) => new(Vector512.LoadUnsafe(ref source, offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(ref T destination, nuint offset) => _value.StoreUnsafe(ref destination, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Sum() => Vector512.Sum(_value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> operator +(Lanes512<T> left, Lanes512<T> right) => new(left._value + right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> operator -(Lanes512<T> left, Lanes512<T> right) => new(left._value - right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> operator *(Lanes512<T> left, Lanes512<T> right) => new(left._value * right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> operator /(Lanes512<T> left, Lanes512<T> right) => new(left._value / right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> operator -(Lanes512<T> value) => new(-value._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> operator &(Lanes512<T> left, Lanes512<T> right) => new(left._value & right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> operator |(Lanes512<T> left, Lanes512<T> right) => new(left._value | right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> LessThanOrEqual(Lanes512<T> left, Lanes512<T> right) => new(Vector512.LessThanOrEqual(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> LessThan(Lanes512<T> left, Lanes512<T> right) => new(Vector512.LessThan(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> GreaterThanOrEqual(Lanes512<T> left, Lanes512<T> right) => new(Vector512.GreaterThanOrEqual(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> GreaterThan(Lanes512<T> left, Lanes512<T> right) => new(Vector512.GreaterThan(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> EqualTo(Lanes512<T> left, Lanes512<T> right) => new(Vector512.Equals(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Select(Lanes512<T> mask, Lanes512<T> whereTrue, Lanes512<T> whereFalse)
        => new(Vector512.ConditionalSelect(mask._value, whereTrue._value, whereFalse._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Max(Lanes512<T> left, Lanes512<T> right) => new(Vector512.Max(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Min(Lanes512<T> left, Lanes512<T> right) => new(Vector512.Min(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Abs(Lanes512<T> value) => new(Vector512.Abs(value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Sqrt(Lanes512<T> value) => new(Vector512.Sqrt(value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Apply<TKernel>(Lanes512<T> x) where TKernel : IElementwiseKernel<T> => new(TKernel.Invoke(x._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Apply<TKernel>(Lanes512<T> x, Lanes512<T> y) where TKernel : IBinaryElementwiseKernel<T> => new(TKernel.Invoke(x._value, y._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Exp(Lanes512<T> value) => new(VectorMath.Exp(value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Log(Lanes512<T> value) => new(VectorMath.Log(value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Softplus(Lanes512<T> value) => new(Kernels.Softplus<T>.Invoke(value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Sigmoid(Lanes512<T> value) => new(Kernels.Sigmoid<T>.Invoke(value._value));
}
