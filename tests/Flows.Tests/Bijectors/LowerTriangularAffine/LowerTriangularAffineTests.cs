using Flows.Bijectors;
using Flows.Distributions;
using Flows.Tests.Testing;
using MathNet.Numerics.LinearAlgebra;

namespace Flows.Tests.Bijectors;

public sealed class LowerTriangularAffineTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("LowerTriangularAffine(d=2)", s => BijectorCases.Randomized(new LowerTriangularAffine<double>(2), s), OutputRange.Real, 1e3),
        new("LowerTriangularAffine(d=5)", s => BijectorCases.Randomized(new LowerTriangularAffine<double>(5), s), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("LowerTriangularAffine", () => new LowerTriangularAffine<T>(3)),
    ];

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
}
