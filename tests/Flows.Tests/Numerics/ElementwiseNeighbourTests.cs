using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Tests.Testing;

namespace Flows.Tests.Numerics;

/// <summary>An elementwise tape op gives each element the same bits whatever values share its SIMD vector.</summary>
public sealed class ElementwiseNeighbourTests
{
    private const int Length = 64;

    public static TheoryData<string, double> Cases => new()
    {
        { "Tanh", 453.7 },      // exp(−2|x|) below −708: the whole vector used to be redone in scalar code
        { "Exp", -800.0 },
        { "Exp", 750.0 },
        { "Log", 0.0 },
        { "Log", -1.0 },
        { "Log", double.PositiveInfinity },
        { "Log", 1e-310 },
        { "Density", double.NegativeInfinity },
        { "Density", -800.0 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Element_DoesNotDependOnItsNeighbours_Bitwise(string op, double neighbour)
    {
        // Moderate values at even indices; at odd ones either more moderate values or an extreme one, so that every
        // SIMD vector, however the buffer is aligned and however wide, holds an extreme lane in the second batch.
        double[] moderate = TestData.StandardNormal(Length, seed: 17);
        for (int i = 0; i < Length; i++)
        {
            moderate[i] = op == "Log" ? Math.Exp(moderate[i]) : moderate[i];
        }

        double[] mixed = [.. moderate];
        for (int i = 1; i < Length; i += 2)
        {
            mixed[i] = neighbour;
        }

        double[] expected = Run(op, moderate);
        double[] actual = Run(op, mixed);

        for (int i = 0; i < Length; i += 2)
        {
            AssertClose.Bitwise([expected[i]], [actual[i]], $"{op}({moderate[i]:R}) beside {neighbour}");
        }
    }

    private static double[] Run(string op, double[] values)
    {
        if (op == "Density")
        {
            // exp of log-densities per row: a row of −∞ (out of support) or −800 beside ordinary rows.
            var flow = new TransformedDistribution<double>(new StandardNormal<double>(1), Elementwise.Exp<double>(1));
            var data = new double[values.Length, 1];
            for (int i = 0; i < values.Length; i++)
            {
                // exp(v) is in the support for ordinary v; the neighbours are placed out of it (−∞ density) or far out.
                data[i, 0] = double.IsNegativeInfinity(values[i]) ? -1.0 : values[i] == -800.0 ? Math.Exp(40) : Math.Exp(values[i]);
            }

            return flow.Density(data);
        }

        var tape = new Tape<double>(isRecording: false);
        Node<double> x = tape.Constant(values, 1, values.Length);
        Node<double> y = op switch
        {
            "Tanh" => tape.Tanh(x),
            "Exp" => tape.Exp(x),
            _ => tape.Log(x),
        };
        return y.Values.ToArray();
    }
}
