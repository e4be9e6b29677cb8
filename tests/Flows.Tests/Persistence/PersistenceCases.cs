using System.Numerics;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Neural;
using Flows.Tests.Testing;

namespace Flows.Tests.Persistence;

/// <summary>
/// Flows covering every bijector type, with seeded non-trivial parameters, for persistence tests: one flow per saved case
/// of every family (see <see cref="IFamilyCases"/>).
/// </summary>
internal static class PersistenceCases
{
    public static TheoryData<string> Names => [.. Factories<double>().Keys];

    public static Dictionary<string, Func<TransformedDistribution<T>>> Factories<T>() where T : unmanaged, IFloatingPointIeee754<T>
        => FamilyCases.SavedCases<T>().ToDictionary(c => c.Name, c => (Func<TransformedDistribution<T>>)(() => Flow(c.Create(), c.DiagonalBase)));

    /// <summary>The composite of the golden file: every unconstrained bijector, then every constrained one.</summary>
    public static Chain<T> Composite<T>(Random random) where T : unmanaged, IFloatingPointIeee754<T>
        => new(
            new LowerTriangularAffine<T>(3),
            new SinhArcsinh<T>(3),
            new Permutation<T>(Orders.Random(3, random)),
            new Affine<T>(3),
            new Inverted<T>(new SinhArcsinh<T>(3)),
            Elementwise.Softplus<T>(3),
            Elementwise.Tanh<T>(3),
            Elementwise.Sigmoid<T>(3),
            Elementwise.Exp<T>(3));

    /// <summary>Sets every parameter to a seeded draw from N(0, 0.3²).</summary>
    public static TransformedDistribution<T> Randomize<T>(TransformedDistribution<T> flow, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(seed);
        foreach (var parameter in flow.Parameters)
        {
            for (int i = 0; i < parameter.Values.Length; i++)
            {
                parameter.Values[i] = T.CreateTruncating(0.3 * random.NextDouble() - 0.15 + 0.2 * Math.Sin(i + seed));
            }
        }

        return flow;
    }

    private static TransformedDistribution<T> Flow<T>(IBijector<T> bijector, bool diagonalBase = false) where T : unmanaged, IFloatingPointIeee754<T>
        => Randomize(
            new TransformedDistribution<T>(
                diagonalBase ? new DiagonalNormal<T>(bijector.Dimension) : new StandardNormal<T>(bijector.Dimension),
                bijector),
            seed: 17);
}
