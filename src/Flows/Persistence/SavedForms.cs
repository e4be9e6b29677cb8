using System.Numerics;
using System.Reflection;
using Flows.Bijectors;

namespace Flows.Persistence;

/// <summary>
/// The registry of every saved form of one kind (bijectors, conditional transforms or context embeddings), found by reflection: each type
/// that implements <see cref="IHasSavedForm{T, TObject}"/> declares its own. A generic bijector with a second type parameter (such as
/// <see cref="Elementwise{T, TFunction}"/>) is registered once for every type of this assembly that satisfies that
/// parameter's constraint. A test that enumerates the assembly's bijector types fails for a type without a saved form.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
/// <typeparam name="TObject"><see cref="IBijector{T}"/>, <see cref="IConditionalTransform{T}"/> or <see cref="IContextEmbedding{T}"/>.</typeparam>
internal static class SavedForms<T, TObject> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly Dictionary<Type, SavedForm<T, TObject>> ByType = [];
    private static readonly Dictionary<string, SavedForm<T, TObject>> ByName = [];

    static SavedForms()
    {
        Type[] types = typeof(SavedForms<,>).Assembly.GetTypes();
        foreach (Type type in types.Where(t => !t.IsAbstract && t.GetInterfaces().Any(IsSavedFormInterface)).SelectMany(t => Instantiations(t, types)))
        {
            if (typeof(IHasSavedForm<T, TObject>).IsAssignableFrom(type))
            {
                InterfaceMapping map = type.GetInterfaceMap(typeof(IHasSavedForm<T, TObject>));
                var format = (SavedForm<T, TObject>)map.TargetMethods[0].Invoke(null, null)!;
                ByType.Add(format.Type, format);
                ByName.Add(format.Name, format);
            }
        }
    }

    private static bool IsSavedFormInterface(Type type) => type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IHasSavedForm<,>);

    /// <summary>The form of an object's exact type.</summary>
    /// <exception cref="NotSupportedException">The type has no saved form.</exception>
    public static SavedForm<T, TObject> Of(TObject value)
        => ByType.TryGetValue(value!.GetType(), out SavedForm<T, TObject>? format)
            ? format
            : throw new NotSupportedException($"{value.GetType().Name} ({value}) has no saved form; a type declares one by implementing IHasSavedForm.");

    /// <summary>Every type with a saved form, closed over T.</summary>
    public static IEnumerable<Type> Types => ByType.Keys;

    /// <summary>The format saved under <paramref name="name"/>, or null.</summary>
    public static SavedForm<T, TObject>? Named(string name) => ByName.GetValueOrDefault(name);

    /// <summary>Whether the type (a closed type, or a generic definition such as <c>Affine&lt;&gt;</c>) has a saved form.</summary>
    public static bool IsRegistered(Type type)
        => ByType.Keys.Any(t => t == type || (t.IsGenericType && t.GetGenericTypeDefinition() == type));

    // The closed types of a saveable definition: T for its first type parameter and, for a second one, every
    // one-parameter generic type of the assembly that satisfies its constraints once closed over T.
    private static IEnumerable<Type> Instantiations(Type definition, Type[] types)
    {
        if (!definition.IsGenericTypeDefinition)
        {
            return [definition];
        }

        Type[] parameters = definition.GetGenericArguments();
        if (parameters.Length == 1)
        {
            return [definition.MakeGenericType(typeof(T))];
        }

        Type[] constraints = [.. parameters[1].GetGenericParameterConstraints()
            .Select(c => c.IsGenericType ? c.GetGenericTypeDefinition().MakeGenericType(typeof(T)) : c)];
        return types
            .Where(t => t.IsGenericTypeDefinition && t.GetGenericArguments().Length == 1 && !t.IsAbstract)
            .Select(CloseOverT)
            .Where(t => t is not null && constraints.All(c => c.IsAssignableFrom(t)))
            .Select(t => t!)
            .Select(t => definition.MakeGenericType(typeof(T), t));
    }

    // Null where the definition's own constraints reject T.
    private static Type? CloseOverT(Type definition)
    {
        try
        {
            return definition.MakeGenericType(typeof(T));
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
