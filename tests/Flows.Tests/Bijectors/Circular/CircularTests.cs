using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

public sealed class CircularTests : IFamilyCases
{
    private const double MinimumDerivative = 1e-3;

    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("CircularShift(angles=[1, 0, 1])", s => BijectorCases.Randomized(new CircularShift<double>([true, false, true]), s), OutputRange.Circle, Math.PI),
        new("CircularCoupling(d=2, angles)",
            s => BijectorCases.Randomized(new CircularCoupling<double>([true, false], new CircularSplineTransform<double>([true, true], binCount: 5), [8], seed: s), s),
            OutputRange.Circle, Math.PI),
        new("CircularCoupling(d=3, angles=[1, 0, 1], transformed=[0, 1, 1])",
            s => BijectorCases.Randomized(new CircularCoupling<double>([false, true, true], new CircularSplineTransform<double>([true, false, true], binCount: 4), [8], seed: s), s),
            OutputRange.Circle, Math.PI),
        new("CircularCoupling(d=1, K=1, unconditional)",
            s => BijectorCases.Randomized(new CircularCoupling<double>([true], new CircularSplineTransform<double>([true], binCount: 1), [4], seed: s), s),
            OutputRange.Circle, Math.PI),
        new("CircularCoupling(d=2, context=2)",
            s => BijectorCases.Randomized(new FixedContext(new CircularCoupling<double>([false, true], new CircularSplineTransform<double>([true, true], binCount: 3), [8], contextDimension: 2, seed: s), [0.7, -1.3]), s),
            OutputRange.Circle, Math.PI),
        new("Chain(CircularCoupling, CircularShift, CircularCoupling)(d=2)",
            s => BijectorCases.Randomized(new Chain<double>(
                new CircularCoupling<double>([true, false], new CircularSplineTransform<double>([true, true]), [8], seed: s),
                new CircularShift<double>([true, true]),
                new CircularCoupling<double>([false, true], new CircularSplineTransform<double>([true, true]), [8], seed: s + 1)), s, 0.3),
            OutputRange.Circle, Math.PI),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("CircularShift", () => new CircularShift<T>([true, false, true])),
        new("CircularCoupling", () => new CircularCoupling<T>([false, true, true], new CircularSplineTransform<T>([true, false, true], binCount: 3, tailBound: 4), [6], seed: 3)),
    ];
}
