using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Neural;

namespace Flows.Tests.Testing;

/// <summary>Where a bijector's forward map lands: the data-space domain of its inverse.</summary>
internal enum OutputRange
{
    /// <summary>All of ℝᵈ.</summary>
    Real,

    /// <summary>(0, ∞)ᵈ.</summary>
    Positive,

    /// <summary>(0, 1)ᵈ.</summary>
    UnitInterval,

    /// <summary>(−1, 1)ᵈ.</summary>
    SymmetricUnitInterval,
}

/// <summary>One registered bijector: a seeded factory with non-trivial parameters and what inputs it accepts.</summary>
/// <param name="Name">The name the theories show.</param>
/// <param name="Factory">Builds the bijector; the seed draws its raw parameters from N(0, 0.5²).</param>
/// <param name="Range">The range of the forward map.</param>
/// <param name="ForwardLimit">The largest |z| for which the forward map stays invertible in double (saturation).</param>
/// <param name="DataLimit">The largest |x| of the data-side battery when the range is ℝ.</param>
/// <remarks>
/// Chains that mix features (LowerTriangularAffine) next to a sinh-arcsinh take their batteries only to 10: a tail weight
/// of e^±1.5 maps |z| = 1e3 to ~1e12, and mixing such a feature with an O(1) one cancels ~12 digits of the small one.
/// That is the condition number of the map, not an error of the code, so no implementation can meet 1e-9 there.
/// </remarks>
internal sealed record BijectorCase(string Name, Func<int, IBijector<double>> Factory, OutputRange Range, double ForwardLimit, double DataLimit = 1e3)
{
    public IBijector<double> Create(int seed) => Factory(seed);

    public bool HasParameters => Create(0).Parameters.Count > 0;

    public override string ToString() => Name;
}

/// <summary>Every bijector of the library, registered by name with a seeded factory (see STYLE.md, "Tests").</summary>
internal static class BijectorCases
{
    /// <summary>Standard deviation of the raw parameter draws.</summary>
    public const double ParameterScale = 0.5;

    private static readonly BijectorCase[] All =
    [
        new("Affine(d=1)", s => Randomized(new Affine<double>(1), s), OutputRange.Real, 1e3),
        new("Affine(d=3)", s => Randomized(new Affine<double>(3), s), OutputRange.Real, 1e3),
        new("LowerTriangularAffine(d=2)", s => Randomized(new LowerTriangularAffine<double>(2), s), OutputRange.Real, 1e3),
        new("LowerTriangularAffine(d=5)", s => Randomized(new LowerTriangularAffine<double>(5), s), OutputRange.Real, 1e3),
        new("SinhArcsinh(d=1)", s => Randomized(new SinhArcsinh<double>(1), s), OutputRange.Real, 1e3),
        new("SinhArcsinh(d=3)", s => Randomized(new SinhArcsinh<double>(3), s), OutputRange.Real, 1e3),
        new("Permutation.Reverse(d=5)", _ => Permutation<double>.Reverse(5), OutputRange.Real, 1e3),
        new("Permutation.Random(d=3)", s => Permutation<double>.Random(3, s), OutputRange.Real, 1e3),
        new("Exp(d=2)", _ => new Exp<double>(2), OutputRange.Positive, 700),
        new("Softplus(d=3)", _ => new Softplus<double>(3), OutputRange.Positive, 700),
        new("Sigmoid(d=2)", _ => new Sigmoid<double>(2), OutputRange.UnitInterval, 15),
        new("Tanh(d=1)", _ => new Tanh<double>(1), OutputRange.SymmetricUnitInterval, 7),
        new("Chain(SinhArcsinh, LowerTriangularAffine)(d=3)",
            s => Randomized(new Chain<double>(new SinhArcsinh<double>(3), new LowerTriangularAffine<double>(3)), s), OutputRange.Real, 10, 10),
        new("Inverted(SinhArcsinh)(d=2)", s => Randomized(new Inverted<double>(new SinhArcsinh<double>(2)), s), OutputRange.Real, 1e3),
        new("Inverted(LowerTriangularAffine)(d=3)", s => Randomized(new Inverted<double>(new LowerTriangularAffine<double>(3)), s), OutputRange.Real, 1e3),
        new("Chain(Affine, SinhArcsinh, LowerTriangularAffine)(d=2)",
            s => Randomized(new Chain<double>(new Affine<double>(2), new SinhArcsinh<double>(2), new LowerTriangularAffine<double>(2)), s),
            OutputRange.Real, 10, 10),
        new("Chain(LowerTriangularAffine, Permutation.Reverse, SinhArcsinh)(d=5)",
            s => Randomized(new Chain<double>(new LowerTriangularAffine<double>(5), Permutation<double>.Reverse(5), new SinhArcsinh<double>(5)), s),
            OutputRange.Real, 10, 10),
        new("MaskedAutoregressive(d=3)",
            s => Randomized(new MaskedAutoregressive<double>(3, [8, 8], Orders.Random(3, s), seed: s), s, 0.3), OutputRange.Real, 1e3),
        new("Inverted(MaskedAutoregressive)(d=3)",
            s => Randomized(new Inverted<double>(new MaskedAutoregressive<double>(3, [7], seed: s)), s, 0.3), OutputRange.Real, 1e3),
        // Conditioned splines take their batteries to 10: inputs of 1e3 drive the conditioner to bins of slope ~e^-15, where
        // the forward map loses ~1e-9 of z to rounding (condition-limited, as the elementwise spline tests show).
        new("MaskedAutoregressive(spline)(d=2)",
            s => Randomized(new MaskedAutoregressive<double>(2, [6], transform: new RationalQuadraticTransform<double>(5, 3), seed: s), s, 0.3), OutputRange.Real, 10, 10),
        new("AffineCoupling(d=4)",
            s => Randomized(new AffineCoupling<double>(Coupling<double>.AlternatingMask(4, s % 2), [8], seed: s), s, 0.3), OutputRange.Real, 1e3),
        new("Coupling(spline)(d=3)",
            s => Randomized(new Coupling<double>([true, false, true], [6], transform: new RationalQuadraticTransform<double>(4, 2.5), seed: s), s, 0.3), OutputRange.Real, 10, 10),
        new("RationalQuadraticSpline(d=2)",
            s => Randomized(new RationalQuadraticSpline<double>(2, new RationalQuadraticTransform<double>(5, 3)), s, 1.0), OutputRange.Real, 1e3),
        new("Chain(SinhArcsinh, Affine, Sigmoid)(d=2)",
            s => Randomized(new Chain<double>(new SinhArcsinh<double>(2), new Affine<double>(2), new Sigmoid<double>(2)), s),
            OutputRange.UnitInterval, 1),
        new("Planar(d=1)", s => Randomized(new Planar<double>(1), s), OutputRange.Real, 1e3),
        new("Planar(d=2)", s => Randomized(new Planar<double>(2), s), OutputRange.Real, 1e3),
        new("Planar(d=5)", s => Randomized(new Planar<double>(5), s), OutputRange.Real, 1e3),
        new("Radial(d=1)", s => Randomized(new Radial<double>(1), s), OutputRange.Real, 1e3),
        new("Radial(d=3)", s => Randomized(new Radial<double>(3), s), OutputRange.Real, 1e3),
        new("Sylvester.Orthogonal(d=3, M=2)", s => Randomized(new Sylvester<double>(3, SylvesterVariant.Orthogonal, 2), s), OutputRange.Real, 1e3),
        new("Sylvester.Orthogonal(d=4, M=4)", s => Randomized(new Sylvester<double>(4, SylvesterVariant.Orthogonal, 4), s), OutputRange.Real, 1e3),
        new("Sylvester.Householder(d=4, M=3, K=2)",
            s => Randomized(new Sylvester<double>(4, SylvesterVariant.Householder, 3, reflectionCount: 2), s), OutputRange.Real, 1e3),
        new("Sylvester.Triangular(d=3)", s => Randomized(new Sylvester<double>(3, SylvesterVariant.Triangular), s), OutputRange.Real, 1e3),
        new("Sylvester.Triangular(d=3, M=2, reversed)",
            s => Randomized(new Sylvester<double>(3, SylvesterVariant.Triangular, 2, reversed: true), s), OutputRange.Real, 1e3),
        new("Chain(Planar, Radial, Sylvester.Householder)(d=3)",
            s => Randomized(new Chain<double>(new Planar<double>(3), new Radial<double>(3), new Sylvester<double>(3, SylvesterVariant.Householder)), s),
            OutputRange.Real, 1e3),
        new("LULinear(d=1)", s => Randomized(new LULinear<double>(1), s), OutputRange.Real, 1e3),
        new("LULinear(d=4)", s => Randomized(new LULinear<double>(4, s), s), OutputRange.Real, 1e3),
        new("Chain(LULinear, SinhArcsinh)(d=3)",
            s => Randomized(new Chain<double>(new LULinear<double>(3, s), new SinhArcsinh<double>(3)), s), OutputRange.Real, 10, 10),
        new("ActNorm(d=3)", s => Randomized(InitializedActNorm(3), s), OutputRange.Real, 1e3),
        new("BatchNorm(d=3, evaluation)", s => Randomized(EvaluationBatchNorm(3, s), s), OutputRange.Real, 1e3),
        new("InvertibleResidual(d=2, h=8)", s => Randomized(new InvertibleResidual<double>(2, 8, seed: s), s), OutputRange.Real, 1e3),
        new("InvertibleResidual(d=3, h=5)", s => Randomized(new InvertibleResidual<double>(3, 5, seed: s), s), OutputRange.Real, 1e3),
    ];

    // An ActNorm past its data-dependent initialization, so that the suite sees a fixed map.
    private static ActNorm<double> InitializedActNorm(int dimension)
    {
        var actNorm = new ActNorm<double>(dimension);
        actNorm.Initialize(new double[1, dimension]);
        return actNorm;
    }

    // A BatchNorm in evaluation mode with seeded running statistics: only this mode is a fixed, row-wise map.
    private static BatchNorm<double> EvaluationBatchNorm(int dimension, int seed)
    {
        var batchNorm = new BatchNorm<double>(dimension) { IsTraining = false };
        var random = new Random(seed + 1000);
        for (int j = 0; j < dimension; j++)
        {
            batchNorm.RunningMean[j] = TestData.NextNormal(random);
            batchNorm.RunningVariance[j] = Math.Exp(TestData.NextNormal(random));
        }

        return batchNorm;
    }

    public static IEnumerable<string> Names => All.Select(c => c.Name);

    public static IEnumerable<string> ParametricNames => All.Where(c => c.HasParameters).Select(c => c.Name);

    public static IEnumerable<string> RestrictedRangeNames => All.Where(c => c.Range != OutputRange.Real).Select(c => c.Name);

    public static BijectorCase Get(string name) => All.Single(c => c.Name == name);

    public static IBijector<double> Create(string name, int seed) => Get(name).Create(seed);

    /// <summary>Overwrites every parameter of <paramref name="bijector"/> with N(0, scale²) draws from <paramref name="seed"/>.</summary>
    public static TBijector Randomized<TBijector>(TBijector bijector, int seed, double scale = ParameterScale)
        where TBijector : IBijector<double>
    {
        var random = new Random(seed);
        foreach (Parameter<double> parameter in bijector.Parameters)
        {
            for (int k = 0; k < parameter.Values.Length; k++)
            {
                parameter.Values[k] = scale * TestData.NextNormal(random);
            }
        }

        return bijector;
    }

    /// <summary>
    /// Base-space inputs: N(0, 1.5²) rows clamped to ±ForwardLimit, then rows built from the battery
    /// {0, ±1e-300, ±1, ±L, ±L(1 ± 1e-12)} with L = min(1e3, ForwardLimit).
    /// </summary>
    public static double[,] BaseInputs(BijectorCase c, int dimension, int rows, int seed)
    {
        double limit = Math.Min(1e3, c.ForwardLimit);
        double[] battery = [0, 1e-300, -1e-300, 1, -1, limit, -limit, limit * (1 + 1e-12), -limit * (1 - 1e-12)];
        double[,] random = TestData.StandardNormal(rows, dimension, seed, scale: 1.5);
        return WithBattery(random, battery, v => Math.Clamp(v, -limit, limit));
    }

    /// <summary>Data-space inputs inside the range of the forward map, including points next to its edges.</summary>
    public static double[,] DataInputs(BijectorCase c, int dimension, int rows, int seed)
    {
        double[,] random = TestData.StandardNormal(rows, dimension, seed, scale: 2);
        return c.Range switch
        {
            OutputRange.Real => WithBattery(random, [0, 1e-300, -1e-300, 1, -1, c.DataLimit, -c.DataLimit, c.DataLimit * (1 + 1e-12), -c.DataLimit * (1 - 1e-12)], v => v),
            OutputRange.Positive => WithBattery(random, [1e-300, 1e-12, 1, 1e3, 1e300], Math.Exp),
            OutputRange.UnitInterval => WithBattery(random, [1e-300, 1e-12, 0.5, 1 - 1e-12, 1 - Math.Pow(2, -53)], v => 1 / (1 + Math.Exp(-v))),
            _ => WithBattery(random, [0, 1e-300, -1e-300, 0.5, 1 - 1e-12, -(1 - 1e-12), 1 - Math.Pow(2, -53), -(1 - Math.Pow(2, -53))], Math.Tanh),
        };
    }

    /// <summary>Moderate data-space points (|x| ≤ 10, away from range edges) for finite-difference Jacobians.</summary>
    public static double[,] ModerateDataInputs(BijectorCase c, int dimension, int rows, int seed)
    {
        double[,] random = TestData.StandardNormal(rows, dimension, seed);
        Func<double, double> map = c.Range switch
        {
            OutputRange.Real => v => 2 * v,
            OutputRange.Positive => v => Math.Exp(0.5 * v),
            OutputRange.UnitInterval => v => 1 / (1 + Math.Exp(-v)),
            _ => v => Math.Tanh(0.5 * v),
        };
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < dimension; j++)
            {
                random[i, j] = map(random[i, j]);
            }
        }

        return random;
    }

    // The mapped random rows followed by rows that cycle through the battery with a per-row offset, so that every
    // battery value meets every column.
    private static double[,] WithBattery(double[,] random, double[] battery, Func<double, double> map)
    {
        int rows = random.GetLength(0);
        int d = random.GetLength(1);
        int extra = battery.Length;
        var result = new double[rows + extra, d];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < d; j++)
            {
                result[i, j] = map(random[i, j]);
            }
        }

        for (int i = 0; i < extra; i++)
        {
            for (int j = 0; j < d; j++)
            {
                result[rows + i, j] = battery[(i + j) % battery.Length];
            }
        }

        return result;
    }
}
