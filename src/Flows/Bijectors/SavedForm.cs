using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// How one bijector or conditional transform type is saved and rebuilt: its name in the file, its hyperparameters and
/// non-trainable state (written by <see cref="Write"/>, read back by <see cref="Read"/>), whether its parameters are its
/// own or its parts' (a composite such as <see cref="Chain{T}"/> saves its parts instead), which parameters a file of an
/// older format version holds when that version had fewer, or which it stores itself when a part stores the rest
/// (<see cref="StoredParameters"/>; by default all of its parameters), and how parameters read from
/// a file of an older format version are brought to this version's layout (<see cref="UpgradeParameters"/>).
/// </summary>
/// <remarks>
/// A type declares its form by implementing <see cref="IHasSavedForm{T, TObject}"/>; the persistence layer finds every
/// declaration by reflection and supplies the JSON behind <see cref="ISavedFormWriter{T}"/> and
/// <see cref="ISavedFormReader{T}"/>, so the bijectors never depend on the file format's code.
/// </remarks>
/// <typeparam name="T">The element type.</typeparam>
/// <typeparam name="TObject"><see cref="IBijector{T}"/>, <see cref="IConditionalTransform{T}"/> or <see cref="IContextEmbedding{T}"/>.</typeparam>
internal sealed record SavedForm<T, TObject>(
    string Name,
    Type Type,
    Action<TObject, ISavedFormWriter<T>> Write,
    Func<ISavedFormReader<T>, TObject> Read,
    bool IsComposite = false,
    Action<TObject, int>? UpgradeParameters = null,
    Func<TObject, int, IReadOnlyList<Parameter<T>>>? StoredParameters = null)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The form of a type whose only hyperparameter is its dimension (the parameters carry the rest).</summary>
    public static SavedForm<T, TObject> ForDimension<TType>(string name, Func<int, TType> create) where TType : TObject, IBijector<T>
        => new(
            name,
            typeof(TType),
            (b, w) => w.Int32("dimension", ((IBijector<T>)b!).Dimension),
            r => create(r.Int32("dimension", minimum: 1)));
}

/// <summary>Implemented, explicitly, by every type that can be saved: it declares its own <see cref="SavedForm{T, TObject}"/>.</summary>
/// <typeparam name="T">The element type.</typeparam>
/// <typeparam name="TObject"><see cref="IBijector{T}"/>, <see cref="IConditionalTransform{T}"/> or <see cref="IContextEmbedding{T}"/>.</typeparam>
internal interface IHasSavedForm<T, TObject> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The saved form of the implementing type.</summary>
    static abstract SavedForm<T, TObject> SavedForm { get; }
}

/// <summary>Writes the named fields of one saved object.</summary>
/// <typeparam name="T">The element type.</typeparam>
internal interface ISavedFormWriter<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    void Int32(string name, int value);

    void Double(string name, double value);

    void Boolean(string name, bool value);

    void String(string name, string value);

    void Int32Array(string name, IEnumerable<int> values);

    /// <summary>Non-trainable numeric state (running statistics, power-iteration vectors), in shortest round-trip form.</summary>
    void Values(string name, ReadOnlySpan<T> values);

    void Transform(string name, IConditionalTransform<T> transform);

    /// <summary>A context embedding's type and hyperparameters; its parameters are stored by the object that holds it.</summary>
    void Embedding(string name, IContextEmbedding<T> embedding);

    void Part(string name, IBijector<T> part);

    void Parts(string name, IEnumerable<IBijector<T>> parts);
}

/// <summary>
/// Reads the named fields of one saved object strictly: a missing, malformed or out-of-range field throws an exception
/// that names its path in the file, and fields nobody read are rejected after <see cref="SavedForm{T, TObject}.Read"/>.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal interface ISavedFormReader<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The format version of the file.</summary>
    int Version { get; }

    /// <summary>Whether the object has the field: for a field written only in some cases, or added after files without it
    /// were written, which must then still load.</summary>
    bool Has(string name);

    int Int32(string name, int minimum = int.MinValue);

    double Double(string name);

    bool Boolean(string name);

    string String(string name);

    int[] Int32Array(string name);

    bool[] BooleanArray(string name);

    T[] Values(string name, int length);

    IConditionalTransform<T> Transform(string name);

    IContextEmbedding<T> Embedding(string name);

    IBijector<T> Part(string name);

    IReadOnlyList<IBijector<T>> Parts(string name);

    /// <summary>The exception for a field whose value is invalid, naming its path in the file.</summary>
    Exception Error(string name, string problem);
}
