using System.Reflection;
using Flows.Autodiff;
using Flows.Tests.Testing;

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

    // Review finding: counting a pass's uses of a parameter (for a data-parallel step's running sum) stamped the
    // parameter's node with the tape, so a finished fit's block tapes lived as long as the flow.
    [Fact]
    public void ATapeThatRecordedWithAParameter_IsNotKeptAliveByIt()
    {
        Parameter<double> parameter = NewParameter(0.5, -1.0);
        WeakReference tape = RecordAndBackward(parameter);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.False(tape.IsAlive);
        GC.KeepAlive(parameter);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference RecordAndBackward(Parameter<double> parameter)
    {
        var tape = new Tape<double>();
        tape.Backward(Loss(tape, parameter));
        return new WeakReference(tape);
    }

    // Issue 12: ∞/∞ made a soft-clipped ±∞ NaN, and x·(1/B) overflowing made a value near overflow 0 instead of ±B.
    [Fact]
    public void SoftClip_AtInfinityAndWhereXOverBOverflows_IsTheBound_AndNaNStaysNaN()
    {
        var tape = new Tape<double>(isRecording: false, isTraining: false);
        double[] x = [double.PositiveInfinity, double.NegativeInfinity, double.MaxValue, -double.MaxValue, double.NaN];

        double[] y = tape.SoftClip(tape.Constant(x, 1, x.Length), 0.5).Values.ToArray();

        Assert.Equal([0.5, -0.5, 0.5, -0.5], y[..4]);
        Assert.True(double.IsNaN(y[4]));
    }

    // Issue 12: a coupling layer masked its conditioner's input by multiplying with 0, so a transformed feature at ±∞
    // gave 0 · ∞ = NaN in every parameter of the layer.
    [Fact]
    public void MaskColumns_GivesExactZeroOnMaskedColumns_WhateverTheirValue()
    {
        var tape = new Tape<double>(isRecording: false, isTraining: false);
        double[] x = [double.PositiveInfinity, 2, double.NaN, -double.MaxValue, double.NegativeInfinity, -3];

        double[] y = tape.MaskColumns(tape.Constant(x, 2, 3), tape.Constant(new double[] { 0, 1, 0 }, 1, 3)).Values.ToArray();

        Assert.Equal([0, 2, 0, 0, double.NegativeInfinity, 0], y);
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

    // A fused op written as a user outside the assembly would write it, through the public Record: y = x ⊙ exp(w) with
    // a 1 × d row w broadcast over the rows, and a second output rᵢ = Σⱼ wⱼ·xᵢⱼ², exp(w) saved for the backward pass.
    private static (Node<double> Y, Node<double> R) ScaleAndWeightedSquares(Tape<double> tape, Node<double> x, Node<double> w)
    {
        int n = x.Rows;
        int d = x.Columns;
        Node<double> y = tape.Allocate(n, d);
        Node<double> r = tape.Allocate(n, 1);
        Node<double> expW = tape.Allocate(1, d);
        for (int j = 0; j < d; j++)
        {
            expW.Values[j] = Math.Exp(w.Values[j]);
        }

        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            for (int j = 0; j < d; j++)
            {
                double v = x.Values[(i * d) + j];
                y.Values[(i * d) + j] = v * expW.Values[j];
                sum += w.Values[j] * v * v;
            }

            r.Values[i] = sum;
        }

        tape.Record(ScaleAndWeightedSquaresBackward.Instance, y, x, w, output1: r, saved: expW);
        return (y, r);
    }

    private static class ScaleAndWeightedSquaresBackward
    {
        public static readonly Backward<double> Instance = Run;

        // ∂y/∂x = exp(w), ∂y/∂w = x·exp(w); ∂r/∂x = 2wx, ∂r/∂w = x². w is broadcast, so its gradient sums over rows.
        private static void Run(in TapeEntry<double> e)
        {
            Node<double> x = e.Input0;
            Node<double> w = e.Input1!;
            ReadOnlySpan<double> gy = e.Output.Gradients;
            ReadOnlySpan<double> gr = e.Output1!.Gradients;
            ReadOnlySpan<double> expW = e.Saved!.Values;
            int d = x.Columns;
            for (int i = 0; i < x.Rows; i++)
            {
                for (int j = 0; j < d; j++)
                {
                    int k = (i * d) + j;
                    double v = x.Values[k];
                    if (x.RequiresGradient)
                    {
                        x.Gradients[k] += (gy[k] * expW[j]) + (gr[i] * 2 * w.Values[j] * v);
                    }

                    if (w.RequiresGradient)
                    {
                        w.Gradients[j] += (gy[k] * v * expW[j]) + (gr[i] * v * v);
                    }
                }
            }
        }
    }

    [Fact]
    public void Record_IsPublic_AndACustomOpRecordedThroughItGetsGradientsMatchingCentralDifferences()
    {
        MethodInfo? record = typeof(Tape<double>).GetMethod(nameof(Tape<double>.Record));
        Assert.True(record is { IsPublic: true }, "Tape<T>.Record is public, so code outside the assembly can record fused ops");

        Parameter<double> w = NewParameter(0.4, -0.7, 1.1);
        double[] x = TestData.StandardNormal(12, seed: 21);
        double[] c = TestData.StandardNormal(12, seed: 22);
        double[] k = TestData.StandardNormal(4, seed: 23);
        Node<double>? xNode = null;

        // loss = Σ c ⊙ y + Σ k ⊙ r, with y and r used by built-in ops downstream of the custom one.
        double Loss(bool backward)
        {
            var tape = new Tape<double>();
            xNode = tape.Variable(x, 4, 3);
            (Node<double> y, Node<double> r) = ScaleAndWeightedSquares(tape, xNode, tape.Use(w));
            Node<double> loss = tape.Add(tape.Sum(tape.Multiply(y, tape.Constant(c, 4, 3))), tape.Sum(tape.Multiply(r, tape.Constant(k, 4, 1))));
            if (backward)
            {
                tape.Backward(loss);
            }

            return loss.Values[0];
        }

        w.ZeroGradients();
        Loss(backward: true);
        double[] xGradient = xNode!.Gradients.ToArray();

        AssertClose.All(FiniteDifference.Gradient(() => Loss(backward: false), x, Tolerance.FiniteDifferenceGradientStep), xGradient, Tolerance.Gradient, "∂/∂x");
        AssertClose.All(FiniteDifference.Gradient(() => Loss(backward: false), w.Values, Tolerance.FiniteDifferenceGradientStep), w.Gradients, Tolerance.Gradient, "∂/∂w");
    }

    [Fact]
    public void Record_RecordsNothing_OnANonRecordingTape_OrWhenNoInputNeedsAGradient()
    {
        Parameter<double> w = NewParameter(0.4, -0.7);
        var evaluation = new Tape<double>(isRecording: false);
        (Node<double> y, Node<double> r) = ScaleAndWeightedSquares(evaluation, evaluation.Constant([1.0, 2.0], 1, 2), evaluation.Use(w));
        Assert.Equal(0, evaluation.EntryCount);
        Assert.False(y.RequiresGradient || r.RequiresGradient);

        var recording = new Tape<double>();
        (y, r) = ScaleAndWeightedSquares(recording, recording.Constant([1.0, 2.0], 1, 2), recording.Constant([0.4, -0.7], 1, 2));
        Assert.Equal(0, recording.EntryCount);
        Assert.False(y.RequiresGradient || r.RequiresGradient);

        (y, r) = ScaleAndWeightedSquares(recording, recording.Constant([1.0, 2.0], 1, 2), recording.Use(w));
        Assert.Equal(1, recording.EntryCount);
        Assert.True(y.RequiresGradient && r.RequiresGradient);
    }

    [Fact]
    public void Record_ThrowsForAParameterAsOutput_NamingIt()
    {
        Parameter<double> w = NewParameter(0.4);
        var tape = new Tape<double>();
        Node<double> x = tape.Variable([1.0], 1, 1);

        Assert.Throws<ArgumentException>("output", () => tape.Record(ScaleAndWeightedSquaresBackward.Instance, tape.Use(w), x));
        Assert.Throws<ArgumentException>("output1", () => tape.Record(ScaleAndWeightedSquaresBackward.Instance, tape.Allocate(1, 1), x, output1: tape.Use(w)));
        Assert.Throws<ArgumentNullException>("rule", () => tape.Record(null!, tape.Allocate(1, 1), x));
    }

    [Fact]
    public void Mean_ThrowsForAnEmptyNode()
    {
        var tape = new Tape<double>();
        Assert.Throws<ArgumentException>("x", () => tape.Mean(tape.Allocate(0, 3)));
    }
}
