using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Persistence;
using Flows.Tests.Testing;
using MathNet.Numerics.LinearAlgebra;

namespace Flows.Tests.Bijectors;

public sealed class LowerTriangularAffineTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("LowerTriangularAffine(d=2)", s => BijectorCases.Randomized(new LowerTriangularAffine<double>(2), s), OutputRange.Real, 1e3),
        new("LowerTriangularAffine(d=5)", s => BijectorCases.Randomized(new LowerTriangularAffine<double>(5), s), OutputRange.Real, 1e3),
        new("LowerTriangularAffine(d=3, context=2)",
            s => BijectorCases.Randomized(new FixedContext(new LowerTriangularAffine<double>(3, contextDimension: 2), [0.7, -1.3]), s), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("LowerTriangularAffine", () => new LowerTriangularAffine<T>(3)),
        new("LowerTriangularAffine(initializeFromData, not yet)", () => new LowerTriangularAffine<T>(3, initializeFromData: true)),
        new("LowerTriangularAffine(initializeFromData, done)", () => InitializedOnData<T>(3)),
        new("LowerTriangularAffine(context, diagonalStart, not yet)",
            () => new LowerTriangularAffine<T>(3, initializeFromData: true, contextDimension: 2, diagonalStart: true)),
        new("LowerTriangularAffine(context, done)", () => RegressionOnData<T>()),
    ];

    // A conditional layer that initialized from data.
    private static LowerTriangularAffine<T> RegressionOnData<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var bijector = new LowerTriangularAffine<T>(2, initializeFromData: true, contextDimension: 2);
        (double[,] x, double[,] c) = RegressionData(100, seed: 5);
        bijector.Inverse(Cast<T>(x), Cast<T>(c));
        return bijector;
    }

    private static T[,] Cast<T>(double[,] values) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var result = new T[values.GetLength(0), values.GetLength(1)];
        for (int i = 0; i < values.GetLength(0); i++)
        {
            for (int j = 0; j < values.GetLength(1); j++)
            {
                result[i, j] = T.CreateTruncating(values[i, j]);
            }
        }

        return result;
    }

    // x = B c + 1 + correlated noise, with c on scales 1 and 100 and an offset: a regression with every coefficient nonzero.
    private static (double[,] X, double[,] Context) RegressionData(int rows, int seed)
    {
        double[,] c = TestData.StandardNormal(rows, 2, seed);
        double[,] noise = TestData.StandardNormal(rows, 2, seed + 1);
        var x = new double[rows, 2];
        for (int i = 0; i < rows; i++)
        {
            c[i, 1] = (100 * c[i, 1]) + 40;
            x[i, 0] = 1 + (2 * c[i, 0]) - (0.01 * c[i, 1]) + (0.5 * noise[i, 0]);
            x[i, 1] = (-c[i, 0]) + (0.03 * c[i, 1]) + (0.3 * noise[i, 0]) + (0.2 * noise[i, 1]);
        }

        return (x, c);
    }

    // A layer that initialized from data, as a fitted preset holds it.
    private static LowerTriangularAffine<T> InitializedOnData<T>(int dimension) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var bijector = new LowerTriangularAffine<T>(dimension, initializeFromData: true);
        double[,] x = TestData.StandardNormal(20, dimension, seed: 12, scale: 2);
        var data = new T[20, dimension];
        for (int i = 0; i < 20; i++)
        {
            for (int j = 0; j < dimension; j++)
            {
                data[i, j] = T.CreateTruncating(x[i, j] + (0.5 * x[i, 0] * j));
            }
        }

        bijector.Inverse(data);
        return bijector;
    }

    // Correlated, skewed rows: a covariance with every entry nonzero.
    private static double[,] CorrelatedData(int rows, int seed)
    {
        double[,] x = TestData.StandardNormal(rows, 3, seed);
        for (int i = 0; i < rows; i++)
        {
            x[i, 1] = (0.8 * x[i, 0]) + (0.5 * x[i, 1]) + 3;
            x[i, 2] = Math.Exp(0.5 * x[i, 2]) - (0.3 * x[i, 1]);
        }

        return x;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Constructor_ThrowsForNonPositiveDimension(int value)
        => Assert.Throws<ArgumentOutOfRangeException>("dimension", () => new LowerTriangularAffine<double>(value));

    [Fact]
    public void ZeroParameters_GiveTheIdentity()
    {
        var bijector = new LowerTriangularAffine<double>(4);
        double[,] z = TestData.StandardNormal(16, 4, seed: 1);

        (double[,] x, double[] forwardLogDet) = bijector.Forward(z);
        (double[,] zAgain, double[] inverseLogDet) = bijector.Inverse(z);

        AssertClose.Bitwise(z, x);
        AssertClose.Bitwise(z, zAgain);
        Assert.All(forwardLogDet, v => Assert.Equal(0.0, v));
        Assert.All(inverseLogDet, v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void GetScaleMatrix_UnpacksRowByRow_WithExpOnTheDiagonal()
    {
        var bijector = new LowerTriangularAffine<double>(3);
        double[] packed = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]; // (0,0) (1,0) (1,1) (2,0) (2,1) (2,2)
        packed.CopyTo(bijector.PackedScale.Values, 0);

        double[,] l = bijector.GetScaleMatrix();

        double[,] expected =
        {
            { Math.Exp(0.1), 0, 0 },
            { 0.2, Math.Exp(0.3), 0 },
            { 0.4, 0.5, Math.Exp(0.6) },
        };
        AssertClose.Bitwise(expected, l);
    }

    [Fact]
    public void Forward_IsShiftPlusLTimesInput()
    {
        LowerTriangularAffine<double> bijector = BijectorCases.Randomized(new LowerTriangularAffine<double>(4), seed: 2, scale: 0.7);
        Matrix<double> l = Matrix<double>.Build.DenseOfArray(bijector.GetScaleMatrix());
        Vector<double> mu = Vector<double>.Build.DenseOfArray(bijector.Shift.Values);
        double[,] z = TestData.StandardNormal(16, 4, seed: 3);

        double[,] x = bijector.Forward(z).Output;

        for (int i = 0; i < 16; i++)
        {
            Vector<double> expected = (l * Vector<double>.Build.DenseOfArray(TestData.Row(z, i))) + mu;
            AssertClose.All(expected.ToArray(), TestData.Row(x, i), Tolerance.ClosedForm, $"row {i}");
        }
    }

    [Fact]
    public void DensityLn_OnAStandardNormalBase_EqualsTheMultivariateNormalWithCovarianceLLt()
    {
        const int d = 4;
        LowerTriangularAffine<double> bijector = BijectorCases.Randomized(new LowerTriangularAffine<double>(d), seed: 4, scale: 0.7);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(d), bijector);
        double[,] x = TestData.StandardNormal(32, d, seed: 5, scale: 2);

        // An independent oracle: Σ = L Lᵀ formed densely, its own Cholesky factorization, log det from that factor.
        Matrix<double> l = Matrix<double>.Build.DenseOfArray(bijector.GetScaleMatrix());
        Matrix<double> covariance = l * l.Transpose();
        var cholesky = covariance.Cholesky();
        Vector<double> mu = Vector<double>.Build.DenseOfArray(bijector.Shift.Values);

        double[] logDensity = flow.DensityLn(x);

        for (int i = 0; i < 32; i++)
        {
            Vector<double> r = Vector<double>.Build.DenseOfArray(TestData.Row(x, i)) - mu;
            double mahalanobis = r.DotProduct(cholesky.Solve(r));
            double expected = -0.5 * ((d * Math.Log(2 * Math.PI)) + cholesky.DeterminantLn + mahalanobis);
            AssertClose.Relative(expected, logDensity[i], Tolerance.MultivariateNormal, $"row {i}");
        }
    }

    [Fact]
    public void Initialize_GivesTheMaximumLikelihoodNormal_TheDensitiesOfMultivariateNormalFit()
    {
        double[,] data = CorrelatedData(50, seed: 1);
        var bijector = new LowerTriangularAffine<double>(3);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(3), bijector);

        bijector.Initialize(data);

        double[,] x = CorrelatedData(20, seed: 2);
        AssertClose.Bitwise(MultivariateNormal.Fit(data).DensityLn(x), flow.DensityLn(x));
        Assert.True(bijector.IsInitialized);
    }

    [Fact]
    public void Initialize_IsTheSampleMeanAndTheCholeskyFactorOfTheCovarianceWithDivisorN()
    {
        const int n = 50;
        double[,] data = CorrelatedData(n, seed: 3);
        var bijector = new LowerTriangularAffine<double>(3);

        bijector.Initialize(data);

        // An independent oracle: MathNet's mean, covariance and Cholesky factor.
        Matrix<double> x = Matrix<double>.Build.DenseOfArray(data);
        Vector<double> mean = x.ColumnSums() / n;
        Matrix<double> centred = x - Matrix<double>.Build.Dense(n, 3, (_, j) => mean[j]);
        Matrix<double> expected = (centred.TransposeThisAndMultiply(centred) / n).Cholesky().Factor;
        AssertClose.All(mean.ToArray(), bijector.Shift.Values, Tolerance.ClosedForm, "μ");
        AssertClose.All(TestData.Flatten(expected.ToArray()), TestData.Flatten(bijector.GetScaleMatrix()), Tolerance.ClosedForm, "L");
    }

    [Fact]
    public void InitializeFromData_TheFirstInverseBatchSetsTheGaussian_AndNoLaterBatchChangesIt()
    {
        var bijector = new LowerTriangularAffine<double>(3, initializeFromData: true);
        Assert.False(bijector.IsInitialized);
        double[,] first = CorrelatedData(40, seed: 4);

        bijector.Inverse(first);
        double[] shift = [.. bijector.Shift.Values];
        double[] scale = [.. bijector.PackedScale.Values];
        bijector.Inverse(TestData.StandardNormal(40, 3, seed: 5, scale: 7));

        var reference = new LowerTriangularAffine<double>(3);
        reference.Initialize(first);
        Assert.True(bijector.IsInitialized);
        AssertClose.Bitwise(reference.Shift.Values, shift);
        AssertClose.Bitwise(reference.PackedScale.Values, scale);
        AssertClose.Bitwise(shift, bijector.Shift.Values);
        AssertClose.Bitwise(scale, bijector.PackedScale.Values);
    }

    [Fact]
    public void InitializeFromData_Forward_DoesNotInitialize()
    {
        var bijector = new LowerTriangularAffine<double>(2, initializeFromData: true);
        double[,] z = TestData.StandardNormal(10, 2, seed: 6);

        double[,] x = bijector.Forward(z).Output;

        Assert.False(bijector.IsInitialized);
        AssertClose.Bitwise(z, x);
    }

    [Fact]
    public void InitializeFromData_OnARecordingTapeOutsideTraining_AdoptsTheCurrentParameters()
    {
        // Variational inference scores q's own samples: fitting the layer to them would make q chase itself.
        var bijector = new LowerTriangularAffine<double>(2, initializeFromData: true);
        var tape = new Tape<double>(isRecording: true, isTraining: false);
        double[,] x = TestData.StandardNormal(10, 2, seed: 7, scale: 3);

        bijector.Inverse(tape, tape.Constant(TestData.Flatten(x), 10, 2));
        bijector.Inverse(x);

        Assert.True(bijector.IsInitialized);
        Assert.All(bijector.Shift.Values, v => Assert.Equal(0.0, v));
        Assert.All(bijector.PackedScale.Values, v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void InitializeFromData_EmptyBatch_DoesNotInitialize()
    {
        var bijector = new LowerTriangularAffine<double>(2, initializeFromData: true);
        bijector.Inverse(new double[0, 2]);
        Assert.False(bijector.IsInitialized);
    }

    [Theory]
    [InlineData("fewer rows than features")]
    [InlineData("constant feature")]
    [InlineData("collinear features")]
    public void InitializeFromData_SingularCovariance_FallsBackToTheDiagonalOfStandardDeviations(string kind)
    {
        double[,] data = kind == "fewer rows than features" ? TestData.StandardNormal(2, 3, seed: 8) : TestData.StandardNormal(30, 3, seed: 8);
        for (int i = 0; i < data.GetLength(0); i++)
        {
            if (kind == "constant feature")
            {
                data[i, 1] = 0.1; // inexact in binary, so its computed mean may differ from it by an ulp
            }
            else if (kind == "collinear features")
            {
                data[i, 2] = data[i, 0] - (2 * data[i, 1]);
            }
        }

        var bijector = new LowerTriangularAffine<double>(3, initializeFromData: true);
        double[,] z = bijector.Inverse(data).Output;

        double[,] l = bijector.GetScaleMatrix();
        AssertClose.Finite(z, "outputs");
        Assert.Equal(0.0, l[1, 0]);
        Assert.Equal(0.0, l[2, 0]);
        Assert.Equal(0.0, l[2, 1]);
        if (kind == "constant feature")
        {
            Assert.Equal(1.0, l[1, 1]);
        }
    }

    [Fact]
    public void Initialize_ThrowsForANonFiniteValue_NamingIt()
    {
        var bijector = new LowerTriangularAffine<double>(2, initializeFromData: true);
        var e = Assert.Throws<ArgumentException>("data", () => bijector.Initialize(new double[,] { { 1, 2 }, { double.NaN, 0 } }));
        Assert.Contains("data[1, 0]", e.Message, StringComparison.Ordinal);
        Assert.False(bijector.IsInitialized);
    }

    [Fact]
    public void SaveLoad_KeepsTheInitializedState_SoALoadedLayerNeverReinitializes()
    {
        LowerTriangularAffine<double> bijector = InitializedOnData<double>(3);
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(3), bijector);
        using var stream = new MemoryStream();
        flow.Save(stream);
        stream.Position = 0;

        TransformedDistribution<double> loaded = FlowSerializer.Load<double>(stream);
        var loadedAffine = (LowerTriangularAffine<double>)loaded.Bijector;
        double[,] fresh = TestData.StandardNormal(16, 3, seed: 9, scale: 5);
        double[] loadedDensity = loaded.DensityLn(fresh);

        Assert.True(loadedAffine.InitializesFromData);
        Assert.True(loadedAffine.IsInitialized);
        AssertClose.Bitwise(flow.DensityLn(fresh), loadedDensity);
    }

    [Fact]
    public void SaveLoad_OfALayerNotYetInitialized_StillInitializesOnFirstData()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new LowerTriangularAffine<double>(2, initializeFromData: true));
        using var stream = new MemoryStream();
        flow.Save(stream);
        stream.Position = 0;

        TransformedDistribution<double> loaded = FlowSerializer.Load<double>(stream);
        loaded.DensityLn(TestData.StandardNormal(10, 2, seed: 10, scale: 5));

        Assert.True(((LowerTriangularAffine<double>)loaded.Bijector).IsInitialized);
    }

    [Fact]
    public void Save_OfAPlainLayer_WritesOnlyItsDimension_AsFilesDidBeforeDataInitialization()
    {
        var flow = new TransformedDistribution<double>(new StandardNormal<double>(2), new LowerTriangularAffine<double>(2));
        using var stream = new MemoryStream();
        flow.Save(stream);

        string json = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        Assert.DoesNotContain("initialize", json, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void ToString_IsConstructorLike()
    {
        Assert.Equal("LowerTriangularAffine(dimension: 3)", new LowerTriangularAffine<double>(3).ToString());
        Assert.Equal("LowerTriangularAffine(dimension: 3, initializeFromData: true)", new LowerTriangularAffine<double>(3, initializeFromData: true).ToString());
        Assert.Equal("LowerTriangularAffine(dimension: 3, contextDimension: 2, initializeFromData: true, diagonalStart: true)",
            new LowerTriangularAffine<double>(3, initializeFromData: true, contextDimension: 2, diagonalStart: true).ToString());
    }

    [Fact]
    public void Conditional_ForwardIsShiftPlusContextWeightTimesContextPlusLTimesInput()
    {
        var bijector = BijectorCases.Randomized(new LowerTriangularAffine<double>(3, contextDimension: 2), seed: 3);
        double[,] z = TestData.StandardNormal(5, 3, seed: 4);
        double[,] c = TestData.StandardNormal(5, 2, seed: 5);

        (double[,] x, double[] logDet) = bijector.Forward(z, c);

        Matrix<double> l = Matrix<double>.Build.DenseOfArray(bijector.GetScaleMatrix());
        Matrix<double> a = Matrix<double>.Build.Dense(3, 2, (i, j) => bijector.ContextWeight!.Values[(i * 2) + j]);
        for (int row = 0; row < 5; row++)
        {
            Vector<double> expected = Vector<double>.Build.DenseOfArray(bijector.Shift.Values)
                + (a * Vector<double>.Build.DenseOfArray(TestData.Row(c, row))) + (l * Vector<double>.Build.DenseOfArray(TestData.Row(z, row)));
            AssertClose.All(expected.ToArray(), TestData.Row(x, row), Tolerance.ClosedForm, $"row {row}");
            Assert.Equal(Math.Log(l.Determinant()), logDet[row], 1e-12);
        }
    }

    [Fact]
    public void Conditional_Initialize_IsTheLeastSquaresRegressionAndTheCholeskyFactorOfItsResidualCovariance()
    {
        const int n = 200;
        (double[,] data, double[,] context) = RegressionData(n, seed: 6);
        var bijector = new LowerTriangularAffine<double>(2, contextDimension: 2);

        bijector.Initialize(data, context);

        // An independent oracle: MathNet's QR least squares of x on [1, c], and the residuals' covariance (divisor n).
        Matrix<double> design = Matrix<double>.Build.Dense(n, 3, (i, j) => j == 0 ? 1 : context[i, j - 1]);
        Matrix<double> x = Matrix<double>.Build.DenseOfArray(data);
        Matrix<double> coefficients = design.QR().Solve(x); // 3 × 2: intercept, then one row per context feature
        Matrix<double> residuals = x - (design * coefficients);
        Matrix<double> lower = (residuals.TransposeThisAndMultiply(residuals) / n).Cholesky().Factor;
        AssertClose.All(coefficients.Row(0).ToArray(), bijector.Shift.Values, 1e-9, "μ");
        AssertClose.All(coefficients.SubMatrix(1, 2, 0, 2).Transpose().ToRowMajorArray(), bijector.ContextWeight!.Values, 1e-9, "A");
        AssertClose.All(TestData.Flatten(lower.ToArray()), TestData.Flatten(bijector.GetScaleMatrix()), 1e-9, "L");
    }

    [Fact]
    public void Conditional_DiagonalStart_KeepsTheResidualStandardDeviationsOnly()
    {
        (double[,] data, double[,] context) = RegressionData(200, seed: 6);
        var full = new LowerTriangularAffine<double>(2, contextDimension: 2);
        var diagonal = new LowerTriangularAffine<double>(2, contextDimension: 2, diagonalStart: true);

        full.Initialize(data, context);
        diagonal.Initialize(data, context);

        double[,] l = full.GetScaleMatrix();
        double[,] d = diagonal.GetScaleMatrix();
        Assert.Equal(0, d[1, 0]);
        Assert.Equal(l[0, 0], d[0, 0], 1e-12);
        Assert.Equal(Math.Sqrt((l[1, 0] * l[1, 0]) + (l[1, 1] * l[1, 1])), d[1, 1], 1e-12);
        Assert.Equal(full.ContextWeight!.Values, diagonal.ContextWeight!.Values);
    }

    [Fact]
    public void Conditional_Initialize_WithFewerThanTenRowsPerCoefficient_TakesThePlainGaussian()
    {
        (double[,] data, double[,] context) = RegressionData(29, seed: 7); // 3 coefficients per feature need 30 rows
        var bijector = BijectorCases.Randomized(new LowerTriangularAffine<double>(2, contextDimension: 2), seed: 1);

        bijector.Initialize(data, context);

        Assert.All(bijector.ContextWeight!.Values, a => Assert.Equal(0, a));
        var plain = new LowerTriangularAffine<double>(2);
        plain.Initialize(data);
        Assert.Equal(plain.Shift.Values, bijector.Shift.Values);
    }

    [Fact]
    public void Conditional_Initialize_AFeatureTheContextDetermines_StartsAtAThousandthOfItsScale()
    {
        (double[,] data, double[,] context) = RegressionData(100, seed: 8);
        for (int i = 0; i < 100; i++)
        {
            data[i, 1] = (3 * context[i, 0]) - 2; // exactly linear in the context
        }

        var bijector = new LowerTriangularAffine<double>(2, contextDimension: 2);
        bijector.Initialize(data, context);

        double featureScale = Math.Sqrt(Enumerable.Range(0, 100).Select(i => data[i, 1]).Select(v => v * v).Average()
            - Math.Pow(Enumerable.Range(0, 100).Select(i => data[i, 1]).Average(), 2));
        Assert.Equal(1e-3 * featureScale, bijector.GetScaleMatrix()[1, 1], 1e-9 * featureScale);
        Assert.Equal(0, bijector.GetScaleMatrix()[1, 0]);
    }

    [Fact]
    public void Conditional_Initialize_AFeatureNearAMillionTheContextFixes_StartsAtAThousandthOfItsSpread()
    {
        // x = 1e6 + 1e-3 c: the residuals keep no spread but rounding; uncentred, their moments called the feature constant
        // and gave L = 1, 1.7e6 times wider than the floor (review finding).
        var random = new Random(2);
        var x = new double[200, 1];
        var c = new double[200, 1];
        for (int i = 0; i < 200; i++)
        {
            c[i, 0] = (2 * random.NextDouble()) - 1;
            x[i, 0] = 1e6 + (1e-3 * c[i, 0]);
        }

        var bijector = new LowerTriangularAffine<double>(1, contextDimension: 1);
        bijector.Initialize(x, c);

        double mean = Enumerable.Range(0, 200).Average(i => x[i, 0]);
        double spread = Math.Sqrt(Enumerable.Range(0, 200).Average(i => (x[i, 0] - mean) * (x[i, 0] - mean)));
        Assert.Equal(1e-3 * spread, bijector.GetScaleMatrix()[0, 0], 1e-6 * spread);
        Assert.Equal(1e-3, bijector.ContextWeight!.Values[0], 1e-9);
    }

    [Fact]
    public void Conditional_Initialize_RefusesAMissingContext()
        => Assert.Throws<ArgumentNullException>("context", () => new LowerTriangularAffine<double>(2, contextDimension: 2).Initialize(new double[40, 2]));
}
