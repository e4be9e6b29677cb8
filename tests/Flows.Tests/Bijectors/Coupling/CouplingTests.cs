using Flows.Bijectors;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

/// <summary>Affine and spline coupling layers: their cases in the shared property suite and the persistence round trip.</summary>
public sealed class CouplingTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("AffineCoupling(d=4)",
            s => BijectorCases.Randomized(new AffineCoupling<double>(Coupling<double>.AlternatingMask(4, s % 2), [8], seed: s), s, 0.3), OutputRange.Real, 1e3),
        new("Coupling(spline)(d=3)",
            s => BijectorCases.Randomized(new Coupling<double>([true, false, true], [6], transform: new RationalQuadraticTransform<double>(4, 2.5), seed: s), s, 0.3), OutputRange.Real, 10, 10),
        new("AffineCoupling(conditionerInputBound)(d=3)",
            s => BijectorCases.Randomized(new AffineCoupling<double>(Coupling<double>.AlternatingMask(3, s % 2), [8], seed: s, conditionerInputBound: 2), s, 0.3), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("AffineCoupling", () => new AffineCoupling<T>([true, false, true], [7], seed: 5)),
        new("Coupling(spline)", () => new Coupling<T>([false, true, true], [5], transform: new RationalQuadraticTransform<T>(binCount: 6, tailBound: 4), seed: 7)),
        new("AffineCoupling(conditionerInputBound)", () => new AffineCoupling<T>([true, false, true], [7], seed: 5, conditionerInputBound: 3)),
        new("Coupling(spline, conditionerInputBound)", () => new Coupling<T>([false, true, true], [5], transform: new RationalQuadraticTransform<T>(binCount: 6), seed: 7, conditionerInputBound: 3)),
    ];
}
