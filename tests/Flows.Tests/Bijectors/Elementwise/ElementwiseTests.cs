using Flows.Bijectors;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

/// <summary>Exp, Softplus, Sigmoid and Tanh against closed forms written with <see cref="Math"/>.</summary>
public sealed class ElementwiseTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("Exp(d=2)", _ => Elementwise.Exp<double>(2), OutputRange.Positive, 700),
        new("Softplus(d=3)", _ => Elementwise.Softplus<double>(3), OutputRange.Positive, 700),
        new("Sigmoid(d=2)", _ => Elementwise.Sigmoid<double>(2), OutputRange.UnitInterval, 15),
        new("Tanh(d=1)", _ => Elementwise.Tanh<double>(1), OutputRange.SymmetricUnitInterval, 7),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("Exp", () => Elementwise.Exp<T>(2)),
        new("Softplus", () => Elementwise.Softplus<T>(2)),
        new("Sigmoid", () => Elementwise.Sigmoid<T>(2)),
        new("Tanh", () => Elementwise.Tanh<T>(2)),
    ];

    private static readonly Dictionary<string, (Func<int, IBijector<double>> Create, Func<double, double> Map, Func<double, double> LogDerivative)> Cases = new()
    {
        ["Exp"] = (d => Elementwise.Exp<double>(d), Math.Exp, z => z),
        ["Softplus"] = (d => Elementwise.Softplus<double>(d), z => Math.Log(1 + Math.Exp(z)), z => Math.Log(1 / (1 + Math.Exp(-z)))),
        ["Sigmoid"] = (d => Elementwise.Sigmoid<double>(d), z => 1 / (1 + Math.Exp(-z)), z => Math.Log(Math.Exp(-z) / Math.Pow(1 + Math.Exp(-z), 2))),
        ["Tanh"] = (d => Elementwise.Tanh<double>(d), Math.Tanh, z => Math.Log(1 - (Math.Tanh(z) * Math.Tanh(z)))),
    };

    public static TheoryData<string> Names => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(Names))]
    public void Constructor_ThrowsForNonPositiveDimension(string name)
        => Assert.Throws<ArgumentOutOfRangeException>("dimension", () => Cases[name].Create(0));

    [Theory]
    [MemberData(nameof(Names))]
    public void Forward_MatchesTheClosedForm(string name)
    {
        var (create, map, logDerivative) = Cases[name];
        IBijector<double> bijector = create(3);
        double[,] z = TestData.StandardNormal(32, 3, seed: 1, scale: 2);

        (double[,] x, double[] logDet) = bijector.Forward(z);

        for (int i = 0; i < 32; i++)
        {
            double expectedLogDet = 0;
            for (int j = 0; j < 3; j++)
            {
                AssertClose.Relative(map(z[i, j]), x[i, j], Tolerance.ClosedForm, $"{name}({z[i, j]})");
                expectedLogDet += logDerivative(z[i, j]);
            }

            AssertClose.Relative(expectedLogDet, logDet[i], Tolerance.ClosedForm, $"{name} log-det of row {i}");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void HasNoParameters(string name) => Assert.Empty(Cases[name].Create(2).Parameters);

    [Fact]
    public void Softplus_OfALargeInput_IsTheInputExactly()
        => Assert.Equal(1000.0, Elementwise.Softplus<double>(1).Forward(new[,] { { 1000.0 } }).Output[0, 0]);

    [Fact]
    public void Softplus_OfAVeryNegativeInput_StaysInsideItsRange()
    {
        (double[,] x, double[] logDet) = Elementwise.Softplus<double>(1).Forward(new[,] { { -700.0 } });
        AssertClose.Relative(Math.Exp(-700), x[0, 0], 1e-14, "softplus(-700)");
        Assert.Equal(-700.0, logDet[0], 1e-12);
    }

    [Fact]
    public void Softplus_InverseOfATinyValue_IsFinite()
    {
        (double[,] z, double[] logDet) = Elementwise.Softplus<double>(1).Inverse(new[,] { { 1e-300 } });
        AssertClose.Relative(Math.Log(1e-300), z[0, 0], Tolerance.ClosedForm, "InverseSoftplus(1e-300)");
        AssertClose.Relative(-Math.Log(1e-300), logDet[0], Tolerance.ClosedForm, "its log-det");
    }

    [Fact]
    public void Sigmoid_InverseNearOne_IsTheLogit()
    {
        double x = 1 - 1e-12;
        double z = Elementwise.Sigmoid<double>(1).Inverse(new[,] { { x } }).Output[0, 0];
        AssertClose.Relative(Math.Log(x / (1 - x)), z, 1e-10, "logit(1 − 1e-12)");
    }
}
