using System.Numerics;
using System.Reflection;
using Flows.Bijectors;

namespace Flows.Tests.Testing;

/// <summary>
/// Implemented by each family's test class: the cases the family adds to the shared property suite
/// (<see cref="BijectorCases"/>) and to the persistence round trip (<c>PersistenceCases</c>). Both gather every
/// implementation by reflection, so a new family registers its cases in its own test file and nowhere else.
/// </summary>
internal interface IFamilyCases
{
    /// <summary>Seeded bijectors with non-trivial parameters for <c>BijectorPropertyTests</c>.</summary>
    static abstract IEnumerable<BijectorCase> PropertyCases { get; }

    /// <summary>Bijectors to save and load, in <typeparamref name="T"/>.</summary>
    static abstract IEnumerable<SavedCase<T>> SavedCases<T>() where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>A bijector for the persistence round trip, under a standard-normal base or, if asked, a diagonal normal one.</summary>
internal sealed record SavedCase<T>(string Name, Func<IBijector<T>> Create, bool DiagonalBase = false)
    where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>The reflection behind <see cref="IFamilyCases"/>.</summary>
internal static class FamilyCases
{
    private static readonly Type[] Sources = [.. typeof(IFamilyCases).Assembly.GetTypes()
        .Where(t => !t.IsInterface && typeof(IFamilyCases).IsAssignableFrom(t))
        .OrderBy(t => t.FullName, StringComparer.Ordinal)];

    public static IEnumerable<BijectorCase> PropertyCases()
        => Sources.SelectMany(t => (IEnumerable<BijectorCase>)Implementation(t, "get_PropertyCases").Invoke(null, null)!);

    public static IEnumerable<SavedCase<T>> SavedCases<T>() where T : unmanaged, IFloatingPointIeee754<T>
        => Sources.SelectMany(t => (IEnumerable<SavedCase<T>>)Implementation(t, nameof(IFamilyCases.SavedCases))
            .MakeGenericMethod(typeof(T)).Invoke(null, null)!);

    private static MethodInfo Implementation(Type source, string interfaceMethod)
    {
        InterfaceMapping map = source.GetInterfaceMap(typeof(IFamilyCases));
        int index = Array.FindIndex(map.InterfaceMethods, m => m.Name == interfaceMethod);
        return map.TargetMethods[index];
    }

    /// <summary>The bijector and every bijector, conditional transform and context embedding nested inside it.</summary>
    public static IEnumerable<object> Components<T>(IBijector<T> bijector) where T : unmanaged, IFloatingPointIeee754<T>
    {
        yield return bijector;
        IEnumerable<object> nested = bijector switch
        {
            Chain<T> chain => chain.Parts.SelectMany(Components),
            Inverted<T> inverted => Components(inverted.Inner),
            FixedContext fixedContext => Components((IBijector<T>)fixedContext.Inner),
            MaskedAutoregressive<T> maf => [maf.Transform],
            Coupling<T> coupling => [coupling.Transform],
            CircularCoupling<T> circular => [circular.Transform],
            RationalQuadraticSpline<T> spline => [spline.Transform],
            EmbeddedContext<T> embedded => [.. Components(embedded.Inner), embedded.Embedding],
            _ => [],
        };
        foreach (object component in nested)
        {
            yield return component;
        }
    }
}
