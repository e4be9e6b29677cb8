using System.Numerics;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Neural;

namespace Flows.Tests.Persistence;

/// <summary>Flows covering every bijector type, with seeded non-trivial parameters, for persistence tests.</summary>
internal static class PersistenceCases
{
    public static TheoryData<string> Names => [.. Factories<double>().Keys];

    public static Dictionary<string, Func<TransformedDistribution<T>>> Factories<T>() where T : unmanaged, IFloatingPointIeee754<T>
        => new()
        {
            ["Affine"] = () => Flow(new Affine<T>(3)),
            ["LowerTriangularAffine"] = () => Flow(new LowerTriangularAffine<T>(3)),
            ["SinhArcsinh"] = () => Flow(new SinhArcsinh<T>(3)),
            ["Permutation"] = () => Flow(Permutation<T>.Random(5, 3)),
            ["Exp"] = () => Flow(new Exp<T>(2)),
            ["Softplus"] = () => Flow(new Softplus<T>(2)),
            ["Sigmoid"] = () => Flow(new Sigmoid<T>(2)),
            ["Tanh"] = () => Flow(new Tanh<T>(2)),
            ["Inverted(SinhArcsinh)"] = () => Flow(new Inverted<T>(new SinhArcsinh<T>(2))),
            ["Chain"] = () => Flow(Composite<T>(new Random(5)), diagonalBase: true),
            ["MaskedAutoregressive"] = () => Flow(new MaskedAutoregressive<T>(4, [8, 6], [2, 0, 3, 1], seed: 3)),
            ["Inverted(MaskedAutoregressive)"] = () => Flow(new Inverted<T>(new MaskedAutoregressive<T>(3, [5], transform: new AffineTransform<T>(2.5), seed: 4))),
            ["AffineCoupling"] = () => Flow(new AffineCoupling<T>([true, false, true], [7], seed: 5)),
            ["RationalQuadraticSpline"] = () => Flow(new RationalQuadraticSpline<T>(3, new RationalQuadraticTransform<T>(binCount: 5, tailBound: 3))),
            ["MaskedAutoregressive(spline)"] = () => Flow(new MaskedAutoregressive<T>(3, [6], transform: new RationalQuadraticTransform<T>(binCount: 4), seed: 6)),
            ["Coupling(spline)"] = () => Flow(new Coupling<T>([false, true, true], [5], transform: new RationalQuadraticTransform<T>(binCount: 6, tailBound: 4), seed: 7)),
            ["Planar"] = () => Flow(new Planar<T>(3, seed: 2)),
            ["Radial"] = () => Flow(new Radial<T>(3)),
            ["Sylvester.Orthogonal"] = () => Flow(new Sylvester<T>(4, SylvesterVariant.Orthogonal, 3, seed: 1)),
            ["Sylvester.Householder"] = () => Flow(new Sylvester<T>(3, SylvesterVariant.Householder, 2, reflectionCount: 2, seed: 2)),
            ["Sylvester.Triangular"] = () => Flow(new Sylvester<T>(3, SylvesterVariant.Triangular, reversed: true, seed: 3)),
            ["LULinear"] = () => Flow(new LULinear<T>(4, 6)),
            ["ActNorm"] = () => Flow(InitializedActNorm<T>(3)),
            ["BatchNorm"] = () => Flow(new BatchNorm<T>(3) { IsTraining = false }),
            ["InvertibleResidual"] = () => Flow(new InvertibleResidual<T>(2, 6, seed: 4)),
        };

    // ActNorm initializes from its first data batch; one that has seen its batch is what a trained model holds.
    private static ActNorm<T> InitializedActNorm<T>(int dimension) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var actNorm = new ActNorm<T>(dimension);
        var data = new T[5, dimension];
        for (int i = 0; i < 5; i++)
        {
            for (int j = 0; j < dimension; j++)
            {
                data[i, j] = T.CreateTruncating(Math.Sin((3 * i) + j) * (j + 1));
            }
        }

        actNorm.Initialize(data);
        return actNorm;
    }

    /// <summary>The composite of the golden file: every unconstrained bijector, then every constrained one.</summary>
    public static Chain<T> Composite<T>(Random random) where T : unmanaged, IFloatingPointIeee754<T>
        => new(
            new LowerTriangularAffine<T>(3),
            new SinhArcsinh<T>(3),
            new Permutation<T>(Orders.Random(3, random)),
            new Affine<T>(3),
            new Inverted<T>(new SinhArcsinh<T>(3)),
            new Softplus<T>(3),
            new Tanh<T>(3),
            new Sigmoid<T>(3),
            new Exp<T>(3));

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
