using System.Globalization;
using System.Numerics;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Tests.Testing;
using Flows.Training;
using MathNet.Numerics.Distributions;

namespace Flows.Tests.Training;

/// <summary>Integer columns: cell masses against exact Gaussian cell integrals, their standard errors, the dequantized
/// fit's determinism and errors, and Iris with its species as an integer column.</summary>
public sealed class DequantizationTests
{
    private static readonly double[] Mean = [0.3, -1];
    private static readonly double[] Scale = [1.7, 0.5];

    // x = μ + σ ⊙ z on a standard normal base: a known continuous density whose cell integrals MathNet gives exactly.
    private static TransformedDistribution<T> Gaussian<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var affine = new Affine<T>(2);
        for (int j = 0; j < 2; j++)
        {
            affine.Parameters[0].Values[j] = T.CreateTruncating(Mean[j]);
            affine.Parameters[1].Values[j] = T.CreateTruncating(Math.Log(Scale[j]));
        }

        return new TransformedDistribution<T>(new StandardNormal<T>(2), affine);
    }

    private static readonly double[,] Rows = { { 0, 0 }, { 2, -1 }, { -3, -2 }, { 1, 1 } };

    // log P(x): the normal probability of [k, k + 1) in each integer column, the density in the others.
    private static double ExactLogMass(int row, int[] integerColumns)
    {
        double sum = 0;
        for (int j = 0; j < 2; j++)
        {
            double v = Rows[row, j];
            sum += integerColumns.Contains(j)
                ? Math.Log(Normal.CDF(Mean[j], Scale[j], v + 1) - Normal.CDF(Mean[j], Scale[j], v))
                : Normal.PDFLn(Mean[j], Scale[j], v);
        }

        return sum;
    }

    public static TheoryData<string, int[]> Cases => new()
    {
        { "double", [0] },
        { "double", [0, 1] },
        { "float", [0] },
        { "float", [1, 0] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void CellMassLn_OfAGaussianFlow_AgreesWithTheExactCellIntegral_WithinFourStandardErrors(string type, int[] integerColumns)
    {
        CellMassEstimate[] estimates = type == "double" ? Estimate<double>(integerColumns, 4000, seed: 1) : Estimate<float>(integerColumns, 4000, seed: 1);

        for (int i = 0; i < estimates.Length; i++)
        {
            CellMassEstimate e = estimates[i];
            double exact = ExactLogMass(i, integerColumns);
            Assert.True(e.StandardError > 0 && e.StandardError < 0.1, $"row {i}: {e}");
            Assert.True(Math.Abs(e.LogMass - exact) < 4 * e.StandardError, $"row {i}: {e}, exact {exact}");
            Assert.True(e.DequantizedLogDensity <= e.LogMass, $"row {i}: Jensen's bound broken, {e}");
        }
    }

    private static CellMassEstimate[] Estimate<T>(int[] integerColumns, int samples, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x = new T[Rows.GetLength(0), 2];
        for (int i = 0; i < x.GetLength(0); i++)
        {
            for (int j = 0; j < 2; j++)
            {
                x[i, j] = T.CreateTruncating(Rows[i, j]);
            }
        }

        return Gaussian<T>().CellMassLn(x, integerColumns, samples, new Random(seed));
    }

    [Fact]
    public void StandardError_ShrinksLikeOneOverTheSquareRootOfTheSamples()
    {
        CellMassEstimate[] small = Estimate<double>([0, 1], 500, seed: 2);
        CellMassEstimate[] large = Estimate<double>([0, 1], 8000, seed: 3);

        for (int i = 0; i < small.Length; i++)
        {
            // √(8000/500) = 4.
            Assert.InRange(small[i].StandardError / large[i].StandardError, 3.3, 4.8);
        }
    }

    [Fact]
    public void CellMassLn_ThrowsForAValueThatIsNotAWholeNumber_NamingRowAndColumn()
    {
        ArgumentException e = Assert.Throws<ArgumentException>("x", () => Gaussian<double>().CellMassLn(new double[,] { { 1, 0.5 }, { 1.5, 0 } }, [0], 10, new Random(0)));
        Assert.Contains("x[1, 0]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CellMassLn_ThrowsForBadColumnsOrSampleCount()
    {
        double[,] x = { { 1, 0.5 } };
        Assert.Throws<ArgumentException>("integerColumns", () => Gaussian<double>().CellMassLn(x, [2], 10, new Random(0)));
        Assert.Throws<ArgumentException>("integerColumns", () => Gaussian<double>().CellMassLn(x, [0, 0], 10, new Random(0)));
        Assert.Throws<ArgumentException>("integerColumns", () => Gaussian<double>().CellMassLn(x, [], 10, new Random(0)));
        Assert.Throws<ArgumentOutOfRangeException>("sampleCount", () => Gaussian<double>().CellMassLn(x, [0], 1, new Random(0)));
    }

    [Fact]
    public void Fit_ThrowsForIntegerColumnsThatDoNotFitTheData()
    {
        double[,] data = Counts(200, seed: 1);
        data[7, 0] += 0.25;
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(2, transforms: 1, hiddenFeatures: [4]);

        ArgumentException e = Assert.Throws<ArgumentException>("data", () => flow.Fit(data, new FitOptions { IntegerColumns = [0] }));
        Assert.Contains("data[7, 0]", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>("options", () => flow.Fit(Counts(200, seed: 1), new FitOptions { IntegerColumns = [2] }));
        Assert.Throws<ArgumentOutOfRangeException>("IntegerColumns", () => flow.Fit(Counts(200, seed: 1), new FitOptions { IntegerColumns = [-1] }));
    }

    [Fact]
    public void Fit_WithIntegerColumns_IsTheSameForTheSameSeed_AndDequantizes_InDouble() => AssertDeterministicDequantizedFit<double>();

    [Fact]
    public void Fit_WithIntegerColumns_IsTheSameForTheSameSeed_AndDequantizes_InFloat() => AssertDeterministicDequantizedFit<float>();

    private static void AssertDeterministicDequantizedFit<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        double[,] counts = Counts(300, seed: 2);
        var data = new T[300, 2];
        for (int i = 0; i < 300; i++)
        {
            data[i, 0] = T.CreateTruncating(counts[i, 0]);
            data[i, 1] = T.CreateTruncating(counts[i, 1]);
        }

        T[] Fitted(IReadOnlyList<int>? integerColumns)
        {
            TransformedDistribution<T> flow = MaskedAutoregressiveFlow.Create<T>(2, transforms: 1, hiddenFeatures: [8], seed: 1);
            flow.Fit(data, new FitOptions { Epochs = 3, IntegerColumns = integerColumns, Seed = 5 });
            return [.. flow.Parameters.SelectMany(p => p.Values)];
        }

        T[] once = Fitted([0]);
        Assert.Equal(once, Fitted([0]));
        Assert.NotEqual(once, Fitted(null));
    }

    // A count column (Poisson(3)) beside a real one that depends on it: the fitted discrete model's cell masses of the
    // count, summed over the real column's density, must give back the Poisson probabilities. A fit to the raw integers
    // (no dequantization) puts spikes at the integers, which straddle two cells and fail this.
    [Fact]
    public void Fit_WithACountColumn_GivesCellMassesThatMatchThePoissonProbabilities()
    {
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(2, transforms: 2, hiddenFeatures: [16, 16], seed: 1);
        flow.Fit(Counts(3000, seed: 3), new FitOptions { Epochs = 30, IntegerColumns = [0], Seed = 1 });

        // P(k) = E over x₁ | k of P(k, x₁)/p(x₁ | k); with x₁ | k ~ N(0.5k, 1): P(k) ≈ mean of P̂(k, x₁)/φ(x₁ − 0.5k).
        var random = new Random(4);
        for (int k = 0; k <= 6; k++)
        {
            var x = new double[200, 2];
            for (int i = 0; i < 200; i++)
            {
                x[i, 0] = k;
                x[i, 1] = Normal.Sample(random, 0.5 * k, 1);
            }

            CellMassEstimate[] masses = flow.CellMassLn(x, [0], 64, random);
            double pk = Enumerable.Range(0, 200).Average(i => Math.Exp(masses[i].LogMass - Normal.PDFLn(0.5 * k, 1, x[i, 1])));
            // Measured: at most 0.008 from the Poisson probabilities; the same fit without IntegerColumns is 0.038–0.042 off at k = 0, 1, 4.
            Assert.True(Math.Abs(pk - Poisson.PMF(3, k)) < 0.02, $"P({k}) = {pk}, Poisson {Poisson.PMF(3, k)}");
        }
    }

    private static double[,] Counts(int rows, int seed)
    {
        var random = new Random(seed);
        var result = new double[rows, 2];
        for (int i = 0; i < rows; i++)
        {
            result[i, 0] = Poisson.Sample(random, 3);
            result[i, 1] = Normal.Sample(random, 0.5 * result[i, 0], 1);
        }

        return result;
    }

    // The end-to-end case: the four Iris measurements and the species (0, 1, 2) as an integer column.
    [Fact]
    public void Iris_WithSpeciesAsAnIntegerColumn_FitsAndGivesCellMassesWithStandardErrors()
    {
        double[,] iris = IrisWithSpecies();
        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(5, transforms: 2, hiddenFeatures: [16, 16], seed: 1);

        FitReport report = flow.Fit(iris, new FitOptions { Epochs = 40, IntegerColumns = [4], Seed = 2 });
        CellMassEstimate[] masses = flow.CellMassLn(iris, [4], 256, new Random(3));

        Assert.NotEqual(FitStatus.Diverged, report.Status);
        Assert.Equal(150, masses.Length);
        Assert.All(masses, m =>
        {
            Assert.True(double.IsFinite(m.LogMass), m.ToString());
            Assert.True(m.StandardError > 0 && m.StandardError < 0.5, m.ToString());
            Assert.True(m.DequantizedLogDensity <= m.LogMass, m.ToString());
        });
        // Each flower's species is nearly certain given its measurements: relabelling the species must cost mass.
        double[,] relabelled = (double[,])iris.Clone();
        for (int i = 0; i < 150; i++)
        {
            relabelled[i, 4] = (relabelled[i, 4] + 1) % 3;
        }

        double right = masses.Average(m => m.LogMass);
        double wrong = flow.CellMassLn(relabelled, [4], 256, new Random(3)).Average(m => m.LogMass);
        Assert.True(right > wrong + 1, $"mean log P with the right species {right}, with the wrong ones {wrong}");
    }

    private static double[,] IrisWithSpecies()
    {
        string[] lines = [.. File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "data", "iris.csv")).Skip(1).Where(l => l.Length > 0)];
        string[] species = [.. lines.Select(l => l.Split(',')[4]).Distinct()];
        var result = new double[lines.Length, 5];
        for (int i = 0; i < lines.Length; i++)
        {
            string[] cells = lines[i].Split(',');
            for (int j = 0; j < 4; j++)
            {
                result[i, j] = double.Parse(cells[j], CultureInfo.InvariantCulture);
            }

            result[i, 4] = Array.IndexOf(species, cells[4]);
        }

        return result;
    }

    [Fact]
    public void AddNoise_InFloat_KeepsEveryPointInsideItsCell_WhereRoundingWouldReachTheNext()
    {
        // At 99,999 a float's ulp is 2^-7, so x + u rounds up to x + 1 for u above 1 − 2^-8: 0.4 % of draws (review finding).
        float[] rows = new float[100_000];
        Array.Fill(rows, 99_999f);

        Dequantization.AddNoise<float>(rows, 1, [0], new Random(1));

        Assert.All(rows, v => Assert.InRange(v, 99_999f, float.BitDecrement(100_000f)));
    }

    [Fact]
    public void Fit_WithASupportThatHoldsTheValuesButNotTheirCells_ThrowsNamingTheIntegerCell()
    {
        // Counts 0–4 inside Interval(−0.5, 4.5): the values fit, the cell [4, 5) does not (review finding: the fit diverged).
        var data = new double[50, 1];
        for (int i = 0; i < 50; i++)
        {
            data[i, 0] = i % 5;
        }

        TransformedDistribution<double> flow = MaskedAutoregressiveFlow.Create<double>(1, transforms: 1, hiddenFeatures: [8], supports: [Support.Interval(-0.5, 4.5)]);

        var exception = Assert.Throws<ArgumentException>("data", () => flow.Fit(data, new FitOptions { Epochs = 1, IntegerColumns = [0] }));
        Assert.Contains("integer cell", exception.Message, StringComparison.Ordinal);
        Assert.Contains("Interval", exception.Message, StringComparison.Ordinal);
    }
}

