using Flows.Autodiff;
using Flows.Bijectors;

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

    /// <summary>
    /// [−π, π)ᵈ: angles (a circular bijector maps the circle onto itself, so base inputs lie there too). Not a restricted
    /// range: a value outside is an angle in another period, not a point outside the support.
    /// </summary>
    Circle,
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

/// <summary>
/// Every bijector case of the shared property suite, registered by name with a seeded factory in its family's test file
/// (see <see cref="IFamilyCases"/>), and the input batteries the suite runs them on.
/// </summary>
internal static class BijectorCases
{
    /// <summary>Standard deviation of the raw parameter draws.</summary>
    public const double ParameterScale = 0.5;

    // Every family's cases, gathered from the test classes that implement IFamilyCases.
    private static readonly BijectorCase[] All = [.. FamilyCases.PropertyCases()];

    public static IEnumerable<string> Names => All.Select(c => c.Name);

    public static IEnumerable<string> ParametricNames => All.Where(c => c.HasParameters).Select(c => c.Name);

    public static IEnumerable<string> RestrictedRangeNames => All.Where(c => c.Range is not (OutputRange.Real or OutputRange.Circle)).Select(c => c.Name);

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
        if (c.Range == OutputRange.Circle)
        {
            return CircleInputs(dimension, rows, seed);
        }

        double limit = Math.Min(1e3, c.ForwardLimit);
        double[] battery = [0, 1e-300, -1e-300, 1, -1, limit, -limit, limit * (1 + 1e-12), -limit * (1 - 1e-12)];
        double[,] random = TestData.StandardNormal(rows, dimension, seed, scale: 1.5);
        return WithBattery(random, battery, v => Math.Clamp(v, -limit, limit));
    }

    /// <summary>Data-space inputs inside the range of the forward map, including points next to its edges.</summary>
    public static double[,] DataInputs(BijectorCase c, int dimension, int rows, int seed)
    {
        if (c.Range == OutputRange.Circle)
        {
            return CircleInputs(dimension, rows, seed);
        }

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
            OutputRange.Circle => v => 2.5 * Math.Tanh(0.5 * v), // inside (−2.5, 2.5), away from the seam at ±π
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

    // Angles: uniform on the circle, then the battery {0, ±1e-300, ±1, ±π(1 − 1e-12)}. Not ±π itself: a rotation's round
    // trip of −π may return π less an ulp, the same point of the circle but not the same number.
    private static double[,] CircleInputs(int dimension, int rows, int seed)
    {
        var random = new Random(seed);
        var uniform = new double[rows, dimension];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < dimension; j++)
            {
                uniform[i, j] = Math.PI * ((2 * random.NextDouble()) - 1);
            }
        }

        return WithBattery(uniform, [0, 1e-300, -1e-300, 1, -1, Math.PI * (1 - 1e-12), -Math.PI * (1 - 1e-12)], v => v);
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
