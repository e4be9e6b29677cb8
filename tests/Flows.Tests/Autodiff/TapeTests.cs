using Flows.Autodiff;
using Flows.Neural;

namespace Flows.Tests.Autodiff;

public sealed class TapeTests
{
    private static Parameter<double> NewParameter(params double[] values)
    {
        var parameter = new Parameter<double>("p", 1, values.Length);
        values.CopyTo(parameter.Values, 0);
        return parameter;
    }

    // loss = Σ exp(p) ⊙ p, so ∂loss/∂pᵢ = exp(pᵢ)(1 + pᵢ).
    private static Node<double> Loss(Tape<double> tape, Parameter<double> p)
    {
        Node<double> node = tape.Use(p);
        return tape.Sum(tape.Multiply(tape.Exp(node), node));
    }

    [Fact]
    public void Backward_AccumulatesParameterGradientsAcrossCalls()
    {
        Parameter<double> p = NewParameter(0.3, -1.2, 2.0);
        var tape = new Tape<double>();
        tape.Backward(Loss(tape, p));
        double[] once = (double[])p.Gradients.Clone();

        tape.Reset();
        tape.Backward(Loss(tape, p));

        for (int i = 0; i < once.Length; i++)
        {
            Assert.Equal(Math.Exp(p.Values[i]) * (1 + p.Values[i]), once[i], 1e-14);
            Assert.Equal(2 * once[i], p.Gradients[i], 1e-15 * Math.Abs(once[i]));
        }
    }

    [Fact]
    public void Backward_CalledTwiceOnOneRecording_ZeroesIntermediateGradientsFirst()
    {
        Parameter<double> p = NewParameter(0.3, -1.2, 2.0);
        var tape = new Tape<double>();
        Node<double> loss = Loss(tape, p);
        tape.Backward(loss);
        double[] once = (double[])p.Gradients.Clone();

        tape.Backward(loss);

        for (int i = 0; i < once.Length; i++)
        {
            Assert.Equal(2 * once[i], p.Gradients[i], 1e-15 * Math.Abs(once[i]));
        }
    }

    [Fact]
    public void ZeroGradients_ClearsTheParameter()
    {
        Parameter<double> p = NewParameter(0.3, -1.2);
        var tape = new Tape<double>();
        tape.Backward(Loss(tape, p));

        p.ZeroGradients();

        Assert.All(p.Gradients, g => Assert.Equal(0.0, g));
    }

    [Fact]
    public void Backward_ThrowsOnANonRecordingTape()
    {
        Parameter<double> p = NewParameter(1.0);
        var tape = new Tape<double>(isRecording: false);
        Node<double> loss = Loss(tape, p);

        Assert.Throws<InvalidOperationException>(() => tape.Backward(loss));
        Assert.Equal(0, tape.EntryCount);
    }

    [Fact]
    public void Backward_ThrowsForALossThatIsNotOneByOne()
    {
        Parameter<double> p = NewParameter(1.0, 2.0);
        var tape = new Tape<double>();
        Node<double> notScalar = tape.Exp(tape.Use(p));

        var exception = Assert.Throws<ArgumentException>("loss", () => tape.Backward(notScalar));
        Assert.Contains("1 × 2", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Backward_ThrowsWhenTheLossDependsOnNoParameter()
    {
        var tape = new Tape<double>();
        Node<double> loss = tape.Sum(tape.Exp(tape.Constant([1.0, 2.0], 1, 2)));

        Assert.Throws<InvalidOperationException>(() => tape.Backward(loss));
    }

    [Fact]
    public void Reset_ReusesTheSameNodesForRepeatedShapes()
    {
        Parameter<double> p = NewParameter(0.3, -1.2, 2.0);
        var tape = new Tape<double>();
        var first = new List<Node<double>> { tape.Allocate(4, 3), tape.Allocate(1, 3) };
        tape.Backward(Loss(tape, p));
        first.Add(tape.Allocate(2, 2));
        int[] capacities = [.. first.Select(n => n.Capacity)];

        tape.Reset();
        var second = new List<Node<double>> { tape.Allocate(4, 3), tape.Allocate(1, 3) };
        tape.Backward(Loss(tape, p));
        second.Add(tape.Allocate(2, 2));

        for (int i = 0; i < first.Count; i++)
        {
            Assert.Same(first[i], second[i]);
            Assert.Equal(capacities[i], second[i].Capacity);
        }
    }

    [Fact]
    public void Reset_ReusesALargerNodeForASmallerShapeWithoutGrowing()
    {
        var tape = new Tape<double>();
        Node<double> big = tape.Allocate(10, 10);
        tape.Reset();

        Node<double> small = tape.Allocate(3, 2);

        Assert.Same(big, small);
        Assert.Equal(100, small.Capacity);
        Assert.Equal((3, 2, 6), (small.Rows, small.Columns, small.Values.Length));
    }

    [Fact]
    public void Reset_ForgetsTheRecordedOperations()
    {
        Parameter<double> p = NewParameter(1.0);
        var tape = new Tape<double>();
        Loss(tape, p);
        Assert.True(tape.EntryCount > 0, "precondition");

        tape.Reset();

        Assert.Equal(0, tape.EntryCount);
    }

    [Fact]
    public void Constant_ThrowsWhenTheValuesDoNotFitTheShape()
    {
        var tape = new Tape<double>();
        var exception = Assert.Throws<ArgumentException>("values", () => tape.Constant([1.0, 2.0, 3.0], 2, 2));
        Assert.Contains("2 × 2", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Allocate_ThrowsForNegativeDimensions()
    {
        var tape = new Tape<double>();
        Assert.Throws<ArgumentOutOfRangeException>("rows", () => tape.Allocate(-1, 2));
        Assert.Throws<ArgumentOutOfRangeException>("columns", () => tape.Allocate(1, -2));
    }

    [Fact]
    public void BinaryOps_ThrowForMismatchedShapes_NamingThem()
    {
        var tape = new Tape<double>();
        Node<double> a = tape.Allocate(4, 3);
        Node<double> b = tape.Allocate(2, 3);

        var exception = Assert.Throws<ArgumentException>("b", () => tape.Add(a, b));
        Assert.Contains("4 × 3", exception.Message, StringComparison.Ordinal);
        Assert.Contains("2 × 3", exception.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>("b", () => tape.Multiply(a, b));
        Assert.Throws<ArgumentException>("b", () => tape.Subtract(a, b));
    }

    [Fact]
    public void Node_GradientsThrowForAConstant()
    {
        var tape = new Tape<double>();
        Node<double> constant = tape.Constant([1.0], 1, 1);
        Assert.Throws<InvalidOperationException>(() => constant.Gradients.Length);
    }

    [Fact]
    public void Mean_ThrowsForAnEmptyNode()
    {
        var tape = new Tape<double>();
        Assert.Throws<ArgumentException>("x", () => tape.Mean(tape.Allocate(0, 3)));
    }
}
