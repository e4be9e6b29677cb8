using Flows.Bijectors;
using Flows.Tests.Testing;

namespace Flows.Tests.Bijectors;

public sealed class PermutationTests : IFamilyCases
{
    static IEnumerable<BijectorCase> IFamilyCases.PropertyCases =>
    [
        new("Permutation.Reverse(d=5)", _ => Permutation<double>.Reverse(5), OutputRange.Real, 1e3),
        new("Permutation.Random(d=3)", s => Permutation<double>.Random(3, s), OutputRange.Real, 1e3),
    ];

    static IEnumerable<SavedCase<T>> IFamilyCases.SavedCases<T>() =>
    [
        new("Permutation", () => Permutation<T>.Random(5, 3)),
    ];

    public static TheoryData<int[]> InvalidOrders => [[0, 0], [0, 2], [-1, 0], [1, 2, 3], [2, 0, 2]];

    [Fact]
    public void LogDet_IsExactlyZeroInBothDirections()
    {
        Permutation<double> permutation = Permutation<double>.Random(5, 1);
        double[,] z = TestData.StandardNormal(16, 5, seed: 2);

        Assert.All(permutation.Forward(z).LogDet, v => Assert.Equal(0.0, v));
        Assert.All(permutation.Inverse(z).LogDet, v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void Inverse_UndoesForward_Bitwise()
    {
        Permutation<double> permutation = Permutation<double>.Random(7, 3);
        double[,] z = TestData.StandardNormal(16, 7, seed: 4);

        AssertClose.Bitwise(z, permutation.Inverse(permutation.Forward(z).Output).Output);
        AssertClose.Bitwise(z, permutation.Forward(permutation.Inverse(z).Output).Output);
    }

    [Fact]
    public void Forward_TakesColumnOrderJIntoColumnJ()
    {
        var permutation = new Permutation<double>([2, 0, 3, 1]);
        double[,] z = { { 10, 11, 12, 13 }, { 20, 21, 22, 23 } };

        double[,] x = permutation.Forward(z).Output;

        AssertClose.Bitwise(new double[,] { { 12, 10, 13, 11 }, { 22, 20, 23, 21 } }, x);
    }

    [Fact]
    public void Forward_OfTheIdentityMatrix_IsAPermutationMatrix()
    {
        Permutation<double> permutation = Permutation<double>.Random(6, 5);
        var identity = new double[6, 6];
        for (int i = 0; i < 6; i++)
        {
            identity[i, i] = 1;
        }

        double[,] p = permutation.Forward(identity).Output;

        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(1.0, Enumerable.Range(0, 6).Sum(j => p[i, j]));
            Assert.Equal(1.0, Enumerable.Range(0, 6).Sum(j => p[j, i]));
            Assert.All(Enumerable.Range(0, 6), j => Assert.True(p[i, j] is 0.0 or 1.0));
        }
    }

    [Fact]
    public void Reverse_ReversesTheColumns()
        => Assert.Equal([4, 3, 2, 1, 0], Permutation<double>.Reverse(5).Order);

    [Fact]
    public void Random_IsReproducibleWithASeed()
        => Assert.Equal(Permutation<double>.Random(9, 6).Order, Permutation<double>.Random(9, 6).Order);

    [Fact]
    public void Constructor_CopiesTheOrder()
    {
        int[] order = [1, 0, 2];
        var permutation = new Permutation<double>(order);
        order[0] = 2;

        Assert.Equal([1, 0, 2], permutation.Order);
    }

    [Theory]
    [MemberData(nameof(InvalidOrders))]
    public void Constructor_RejectsOrdersThatAreNotPermutations(int[] invalidOrder)
        => Assert.Throws<ArgumentException>("order", () => new Permutation<double>(invalidOrder));

    [Fact]
    public void Constructor_RejectsAnEmptyOrder()
        => Assert.Throws<ArgumentException>("order", () => new Permutation<double>([]));

    [Fact]
    public void Constructor_RejectsANullOrder()
        => Assert.Throws<ArgumentNullException>("order", () => new Permutation<double>(null!));

    [Fact]
    public void Reverse_ThrowsForNonPositiveDimension()
        => Assert.Throws<ArgumentOutOfRangeException>("dimension", () => Permutation<double>.Reverse(0));

    [Fact]
    public void Random_ThrowsForNonPositiveDimension()
        => Assert.Throws<ArgumentOutOfRangeException>("dimension", () => Permutation<double>.Random(0, 1));

    [Fact]
    public void HasNoParameters() => Assert.Empty(Permutation<double>.Reverse(3).Parameters);
}
