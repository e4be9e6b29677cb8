using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

public sealed class SylvesterTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("Sylvester.Orthogonal(d=3, M=2)", s => BijectorCases.Randomized(new Sylvester<double>(3, SylvesterVariant.Orthogonal, 2), s), OutputRange.Real, 1e3),
        new("Sylvester.Orthogonal(d=4, M=4)", s => BijectorCases.Randomized(new Sylvester<double>(4, SylvesterVariant.Orthogonal, 4), s), OutputRange.Real, 1e3),
        new("Sylvester.Householder(d=4, M=3, K=2)",
            s => BijectorCases.Randomized(new Sylvester<double>(4, SylvesterVariant.Householder, 3, reflectionCount: 2), s), OutputRange.Real, 1e3),
        new("Sylvester.Triangular(d=3)", s => BijectorCases.Randomized(new Sylvester<double>(3, SylvesterVariant.Triangular), s), OutputRange.Real, 1e3),
        new("Sylvester.Triangular(d=3, M=2, reversed)",
            s => BijectorCases.Randomized(new Sylvester<double>(3, SylvesterVariant.Triangular, 2, reversed: true), s), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("Sylvester.Orthogonal", () => new Sylvester<T>(4, SylvesterVariant.Orthogonal, 3, seed: 1)),
        new("Sylvester.Householder", () => new Sylvester<T>(3, SylvesterVariant.Householder, 2, reflectionCount: 2, seed: 2)),
        new("Sylvester.Triangular", () => new Sylvester<T>(3, SylvesterVariant.Triangular, reversed: true, seed: 3)),
    ];

    public static TheoryData<SylvesterVariant, int> VariantsAndDimensions
    {
        get
        {
            var data = new TheoryData<SylvesterVariant, int>();
            foreach (SylvesterVariant variant in Enum.GetValues<SylvesterVariant>())
            {
                foreach (int d in new[] { 2, 16, 64 })
                {
                    data.Add(variant, d);
                }
            }

            return data;
        }
    }

    [Fact]
    public void Constructor_ThrowsForNonPositiveDimension() =>
        Assert.Throws<ArgumentOutOfRangeException>("dimension", () => new Sylvester<double>(0, SylvesterVariant.Orthogonal));

    [Fact]
    public void Constructor_ThrowsForTooManyColumns() =>
        Assert.Throws<ArgumentOutOfRangeException>("columnCount", () => new Sylvester<double>(3, SylvesterVariant.Orthogonal, 4));

    [Fact]
    public void Constructor_ThrowsForAnUndefinedVariant() =>
        Assert.Throws<ArgumentOutOfRangeException>("variant", () => new Sylvester<double>(3, (SylvesterVariant)7));

    [Fact]
    public void Constructor_ThrowsForReflectionsOutsideTheHouseholderVariant() =>
        Assert.Throws<ArgumentException>("reflectionCount", () => new Sylvester<double>(3, SylvesterVariant.Orthogonal, reflectionCount: 2));

    [Fact]
    public void Constructor_ThrowsForReversedOutsideTheTriangularVariant() =>
        Assert.Throws<ArgumentException>("reversed", () => new Sylvester<double>(3, SylvesterVariant.Householder, reversed: true));

    [Fact]
    public void ToString_IsConstructorLike()
    {
        Assert.Equal("Sylvester(dimension: 4, variant: Orthogonal, columnCount: 2)", new Sylvester<double>(4, SylvesterVariant.Orthogonal, 2).ToString());
        Assert.Equal("Sylvester(dimension: 4, variant: Householder, columnCount: 4, reflectionCount: 3)",
            new Sylvester<double>(4, SylvesterVariant.Householder, reflectionCount: 3).ToString());
        Assert.Equal("Sylvester(dimension: 3, variant: Triangular, columnCount: 3, reversed: true)",
            new Sylvester<double>(3, SylvesterVariant.Triangular, reversed: true).ToString());
    }

    [Theory]
    [InlineData(SylvesterVariant.Orthogonal)]
    [InlineData(SylvesterVariant.Householder)]
    [InlineData(SylvesterVariant.Triangular)]
    public void NewLayer_IsTheIdentity(SylvesterVariant variant)
    {
        var sylvester = new Sylvester<double>(5, variant, seed: 2);
        double[,] z = TestData.StandardNormal(rows: 20, columns: 5, seed: 1);

        (double[,] x, double[] logDet) = sylvester.Forward(z);

        AssertClose.Bitwise(z, x);
        Assert.All(logDet, v => Assert.Equal(0.0, v));
    }

    // TESTING.md item 28: ‖QᵀQ − I‖_max ≤ 1e-12 for D ∈ {2, 16, 64}, with D reflections for the Householder variant.
    [Theory]
    [MemberData(nameof(VariantsAndDimensions))]
    public void Q_HasOrthonormalColumns(SylvesterVariant variant, int d)
    {
        var sylvester = new Sylvester<double>(d, variant, reflectionCount: variant == SylvesterVariant.Householder ? d : 0, seed: d);
        double[,] q = sylvester.GetQ();

        double worst = 0;
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < d; j++)
            {
                double dot = 0;
                for (int k = 0; k < d; k++)
                {
                    dot += q[k, i] * q[k, j];
                }

                worst = Math.Max(worst, Math.Abs(dot - (i == j ? 1 : 0)));
            }
        }

        Assert.True(worst <= 1e-12, $"{sylvester}: ‖QᵀQ − I‖_max = {worst:G3}");
    }

    // Issue #12 item 6: the Sylvester inverse solves its triangular system coordinate by coordinate with the root solver
    // that failed for a planar layer. Its diagonal products satisfy |rᵢᵢr̃ᵢᵢ| < 1, which keeps it clear of the Newton
    // cycles found there (they need a·s ≳ 4), so this is a guard rather than a regression test: strongly non-linear
    // layers (raw parameters of scale 3, products near ±1) at near and far points, no throw, and Forward(Inverse(x)) = x.
    [Theory]
    [InlineData(SylvesterVariant.Orthogonal)]
    [InlineData(SylvesterVariant.Householder)]
    [InlineData(SylvesterVariant.Triangular)]
    public void Inverse_OfStronglyNonLinearLayers_AtFarPoints_ConvergesAndRoundTrips(SylvesterVariant variant)
    {
        for (int seed = 0; seed < 20; seed++)
        {
            var sylvester = BijectorCases.Randomized(new Sylvester<double>(3, variant, seed: seed), seed, scale: 3);
            double[,] x = TestData.StandardNormal(rows: 400, columns: 3, seed: seed, scale: seed % 2 == 0 ? 4 : 300);

            (double[,] z, double[] logDet) = sylvester.Inverse(x);
            (double[,] xAgain, _) = sylvester.Forward(z);

            AssertClose.Finite(logDet, $"{sylvester}, seed {seed}");
            AssertClose.All(x, xAgain, 1e-8, $"{sylvester}, seed {seed}");
        }
    }

    [Fact]
    public void Orthogonalize_GivesThePolarFactor()
    {
        // For A = U diag(s) Vᵀ the polar factor is U Vᵀ; check Qᵀ A = (AᵀA)^½ is symmetric positive definite instead.
        double[] a = TestData.StandardNormal(5 * 3, seed: 4);
        var tape = new Tape<double>(isRecording: false);
        Node<double> q = tape.Orthogonalize(tape.Constant(a, 5, 3));
        var p = new double[3, 3];
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                for (int k = 0; k < 5; k++)
                {
                    p[i, j] += q[k, i] * a[(k * 3) + j];
                }
            }
        }

        for (int i = 0; i < 3; i++)
        {
            Assert.True(p[i, i] > 0);
            for (int j = 0; j < 3; j++)
            {
                Assert.Equal(p[i, j], p[j, i], 1e-12);
            }
        }
    }

    // Item 28: an orthogonalization that cannot converge throws; it never returns a non-orthogonal Q silently.
    [Fact]
    public void Orthogonalize_ThrowsForARankDeficientMatrix()
    {
        var sylvester = new Sylvester<double>(4, SylvesterVariant.Orthogonal, 2);
        for (int k = 0; k < 4; k++)
        {
            sylvester.Parameters[0].Values[(k * 2) + 1] = sylvester.Parameters[0].Values[k * 2]; // two equal columns
        }

        var e = Assert.Throws<InvalidOperationException>(() => sylvester.Forward(new double[1, 4]));
        Assert.Contains("did not converge", e.Message, StringComparison.Ordinal);
        Assert.Contains("tolerance", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => sylvester.Inverse(new double[1, 4]));
    }

    [Fact]
    public void Orthogonalize_ThrowsForAZeroMatrix()
    {
        var sylvester = new Sylvester<double>(3, SylvesterVariant.Orthogonal, 2);
        sylvester.Parameters[0].Values.AsSpan().Clear();

        var e = Assert.Throws<InvalidOperationException>(() => sylvester.GetQ());
        Assert.Contains("norm", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Orthogonalize_ThrowsWhenTheIterationLimitIsTooSmall()
    {
        // Condition number 1e6: the iteration needs ~40 steps from σ = 1e-6; five are not enough.
        double[] a = [1, 0, 0, 1e-6, 0, 0];
        var tape = new Tape<double>(isRecording: false);

        Assert.Throws<InvalidOperationException>(() => tape.Orthogonalize(tape.Constant(a, 3, 2), maxIterations: 5));
        Node<double> q = tape.Orthogonalize(tape.Constant(a, 3, 2));
        Assert.Equal(1.0, q[1, 1], 1e-12);
    }

    [Fact]
    public void OrthogonalizeGradient_MatchesCentralDifferences()
        => AssertOpGradient(5, 3, (tape, a) => tape.Orthogonalize(a), seed: 6);

    [Fact]
    public void OrthogonalizeGradient_MatchesCentralDifferences_ForASquareMatrix()
        => AssertOpGradient(4, 4, (tape, a) => tape.Orthogonalize(a), seed: 7);

    [Fact]
    public void HouseholderProductGradient_MatchesCentralDifferences()
        => AssertOpGradient(3, 5, (tape, v) => tape.HouseholderProduct(v, 4), seed: 8);

    // Stacked blocks (one Q per row of an amortized Sylvester layer, O-SNF and H-SNF): the gradient with blocks that
    // differ, so that a backward pass reading another block's values or writing another block's gradient fails.
    [Fact]
    public void OrthogonalizeGradient_MatchesCentralDifferences_ForStackedBlocks()
        => AssertOpGradient(3 * 4, 3, (tape, a) => tape.Orthogonalize(a, blockCount: 3), seed: 10);

    [Fact]
    public void HouseholderProductGradient_MatchesCentralDifferences_ForStackedBlocks()
        => AssertOpGradient(3 * 2, 4, (tape, v) => tape.HouseholderProduct(v, 3, blockCount: 3), seed: 11);

    [Fact]
    public void StackedBlocks_GiveEachBlocksOwnProduct_BitForBit()
    {
        var tape = new Tape<double>(isRecording: false);
        double[] a = TestData.StandardNormal(3 * 4 * 2, seed: 12);
        double[] v = TestData.StandardNormal(3 * 2 * 4, seed: 13);
        Node<double> orthogonal = tape.Orthogonalize(tape.Constant(a, 12, 2), blockCount: 3);
        Node<double> householder = tape.HouseholderProduct(tape.Constant(v, 6, 4), 3, blockCount: 3);
        for (int block = 0; block < 3; block++)
        {
            Node<double> alone = tape.Orthogonalize(tape.Constant(a.AsSpan(block * 8, 8), 4, 2));
            AssertClose.Bitwise(alone.Values, orthogonal.Values.Slice(block * 8, 8));
            alone = tape.HouseholderProduct(tape.Constant(v.AsSpan(block * 8, 8), 2, 4), 3);
            AssertClose.Bitwise(alone.Values, householder.Values.Slice(block * 12, 12));
        }
    }

    [Fact]
    public void StackedBlocks_ThrowForRowsThatAreNotWholeBlocks()
    {
        var tape = new Tape<double>(isRecording: false);
        Assert.Throws<ArgumentException>("matrix", () => tape.Orthogonalize(tape.Constant(new double[10], 5, 2), blockCount: 2));
        Assert.Throws<ArgumentException>("vectors", () => tape.HouseholderProduct(tape.Constant(new double[12], 3, 4), 2, blockCount: 2));
    }

    // Item 28: rᵢᵢ r̃ᵢᵢ > −1 for every raw value, including ±1e3 where tanh rounds to ±1.
    [Fact]
    public void Diagonals_KeepTheirProductAboveMinusOne()
    {
        var sylvester = new Sylvester<double>(3, SylvesterVariant.Triangular);
        var random = new Random(28);
        double[] raws = [-1e3, -40, -19, -1, 0, 1, 19, 40, 1e3];
        for (int draw = 0; draw < 2000; draw++)
        {
            double[] r = sylvester.Parameters[0].Values;
            double[] rTilde = sylvester.Parameters[1].Values;
            for (int k = 0; k < r.Length; k++)
            {
                r[k] = draw < 81 ? raws[draw % 9] : 30 * TestData.NextNormal(random);
                rTilde[k] = draw < 81 ? -raws[draw / 9] : 30 * TestData.NextNormal(random);
            }

            (double[,] rm, double[,] rt) = sylvester.GetTriangles();
            for (int i = 0; i < 3; i++)
            {
                Assert.True(rm[i, i] * rt[i, i] > -1, $"draw {draw}: r{i}{i}·r̃{i}{i} = {rm[i, i] * rt[i, i]:R}");
                for (int j = 0; j < i; j++)
                {
                    Assert.Equal(0.0, rm[i, j]);
                    Assert.Equal(0.0, rt[i, j]);
                }
            }

            double[,] z = TestData.StandardNormal(rows: 3, columns: 3, seed: draw);
            (double[,] x, double[] logDet) = sylvester.Forward(z);
            AssertClose.Finite(logDet, $"draw {draw}");
            AssertClose.All(z, sylvester.Inverse(x).Output, 1e-6, $"draw {draw}: round trip at condition up to 1e6");
        }
    }

    [Theory]
    [InlineData(SylvesterVariant.Orthogonal)]
    [InlineData(SylvesterVariant.Householder)]
    [InlineData(SylvesterVariant.Triangular)]
    public void Inverse_InSixteenDimensions_RoundTripsAndCancelsTheLogDet(SylvesterVariant variant)
    {
        var sylvester = BijectorCases.Randomized(new Sylvester<double>(16, variant, 12, reversed: variant == SylvesterVariant.Triangular), seed: 3, scale: 0.3);
        double[,] z = TestData.StandardNormal(rows: 40, columns: 16, seed: 5, scale: 2);

        (double[,] x, double[] logDet) = sylvester.Forward(z);
        (double[,] zAgain, double[] inverseLogDet) = sylvester.Inverse(x);

        AssertClose.All(z, zAgain, Tolerance.RoundTrip);
        for (int i = 0; i < logDet.Length; i++)
        {
            Assert.True(Math.Abs(logDet[i] + inverseLogDet[i]) <= Tolerance.LogDetNegatives * Math.Max(1, Math.Abs(logDet[i])));
        }
    }

    [Theory]
    [InlineData(SylvesterVariant.Orthogonal)]
    [InlineData(SylvesterVariant.Householder)]
    [InlineData(SylvesterVariant.Triangular)]
    public void InverseGradients_WithRespectToEveryRawParameter_MatchCentralDifferences_ThroughTheDensity(SylvesterVariant variant)
    {
        var sylvester = BijectorCases.Randomized(new Sylvester<double>(4, variant, 3), seed: 12, scale: 1);
        PlanarFamilyChecks.AssertDensityGradientsMatchCentralDifferences(sylvester, seed: 13);
    }

    [Theory]
    [InlineData(SylvesterVariant.Orthogonal)]
    [InlineData(SylvesterVariant.Householder)]
    [InlineData(SylvesterVariant.Triangular)]
    public void FittedDensity_IntegratesToOne_AndScoresHeldOutData(SylvesterVariant variant)
    {
        var chain = new Chain<double>(
            new Sylvester<double>(2, variant, reversed: false, seed: 1),
            new Sylvester<double>(2, variant, reversed: variant == SylvesterVariant.Triangular, seed: 2),
            new Sylvester<double>(2, variant, reversed: false, seed: 3),
            new Sylvester<double>(2, variant, reversed: variant == SylvesterVariant.Triangular, seed: 4));
        PlanarFamilyChecks.AssertFittedDensityIntegratesToOne(chain);
    }

    [Fact]
    public void SaveLoad_RoundTrip_IsBitwise_ForEveryVariant()
        => PlanarFamilyChecks.AssertSaveLoadIsBitwise(BijectorCases.Randomized(
            new Chain<double>(
                new Sylvester<double>(3, SylvesterVariant.Orthogonal, 2),
                new Sylvester<double>(3, SylvesterVariant.Householder, 3, reflectionCount: 2),
                new Sylvester<double>(3, SylvesterVariant.Triangular, 2, reversed: true),
                new Sylvester<double>(3, SylvesterVariant.Triangular)),
            seed: 9));

    // ∂(Σ W ⊙ op(P))/∂P from the tape against central differences, for a random weight W.
    private static void AssertOpGradient(int rows, int columns, Func<Tape<double>, Node<double>, Node<double>> op, int seed)
    {
        var parameter = new Parameter<double>("p", rows, columns);
        TestData.StandardNormal(rows * columns, seed).CopyTo(parameter.Values, 0);
        var tape = new Tape<double>();
        Node<double> output = op(tape, tape.Use(parameter));
        double[] weights = TestData.StandardNormal(output.Length, seed + 100);
        tape.Backward(tape.Sum(tape.Multiply(output, tape.Constant(weights, output.Rows, output.Columns))));

        double Loss()
        {
            var t = new Tape<double>(isRecording: false);
            Node<double> o = op(t, t.Use(parameter));
            double sum = 0;
            for (int k = 0; k < o.Length; k++)
            {
                sum += weights[k] * o.Values[k];
            }

            return sum;
        }

        double[] expected = FiniteDifference.Gradient(Loss, parameter.Values, Tolerance.FiniteDifferenceGradientStep);
        AssertClose.All(expected, parameter.Gradients, Tolerance.Gradient);
    }
}
