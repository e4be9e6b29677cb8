using System.Numerics;
using System.Text.Json;
using Flows.Bijectors;

namespace Flows.Persistence;

/// <summary>
/// How one bijector type is saved and rebuilt: its name in the file, its hyperparameters and non-trainable state
/// (written by <see cref="Write"/>, read back by <see cref="Read"/>), and whether its parameters are its own or its
/// parts' (a composite such as <see cref="Chain{T}"/> saves its parts instead), and how parameters read from a file of
/// an older format version are brought to this version's layout (<see cref="UpgradeParameters"/>, given the version).
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal sealed record BijectorFormat<T>(
    string Name,
    Type Type,
    Action<IBijector<T>, Utf8JsonWriter, BijectorWriter<T>> Write,
    Func<JsonScope, BijectorReader<T>, IBijector<T>> Read,
    bool IsComposite = false,
    Action<IBijector<T>, int>? UpgradeParameters = null)
    where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>Writes a nested bijector (for composites).</summary>
internal delegate void BijectorWriter<T>(Utf8JsonWriter writer, IBijector<T> bijector) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>Reads a nested bijector (for composites).</summary>
internal delegate IBijector<T> BijectorReader<T>(JsonScope scope) where T : unmanaged, IFloatingPointIeee754<T>;
