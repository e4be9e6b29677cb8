using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Neural;
using Flows.Tests.Testing;

namespace Flows.Tests.Onnx;

/// <summary>The flows the ONNX export tests run: every preset (unconditional and conditional) and a chain per bijector
/// type, each with every parameter moved off its identity start so that no layer is trivially the identity.</summary>
internal static class OnnxCases
{
    public const int Dimension = 3;
    public const int ContextDimension = 2;
    private static readonly int[] Hidden = [16, 16];

    public static readonly string[] Presets =
    [
        "MaskedAutoregressiveFlow", "MaskedAutoregressiveFlow(context)",
        "InverseAutoregressiveFlow", "InverseAutoregressiveFlow(context)",
        "RealNvpFlow", "RealNvpFlow(context)",
        "NeuralSplineFlow", "NeuralSplineFlow(context)",
        "NeuralSplineFlow(coupling)", "NeuralSplineFlow(coupling, context)", "MaskedAutoregressiveFlow(supports)",
    ];

    public static readonly string[] BijectorTypes =
    [
        "Affine", "LowerTriangularAffine", "LowerTriangularAffine(context)", "Permutation", "ActNorm", "Standardization",
        "MaskedAutoregressive", "MaskedAutoregressive(spline)", "MaskedAutoregressive(context)", "Inverted(MaskedAutoregressive)",
        "AffineCoupling", "Coupling(spline)", "Coupling(spline, context)", "SinhArcsinh", "LeakyReLU", "LULinear", "BatchNorm", "ColumnSupports",
        "Elementwise.Exp", "Elementwise.Softplus", "Elementwise.Sigmoid", "Elementwise.Tanh", "Radial", "Radial(contracting)",
    ];

    /// <summary>Bijectors whose inverse is solved numerically: only their sampling graph exists.</summary>
    public static readonly string[] SamplingOnly =
        ["Planar", "Sylvester(orthogonal)", "Sylvester(householder)", "Sylvester(triangular)", "InvertibleResidual"];

    /// <summary>Cases with a constrained elementwise layer: their density is checked on their own samples, which lie in
    /// its range.</summary>
    public static bool UsesOwnSamples(string name)
        => name.StartsWith("Elementwise.", StringComparison.Ordinal) || name.Contains("upports", StringComparison.Ordinal);

    private static readonly Support[] Supports = [Support.Positive(1), Support.Interval(-2, 3), Support.Real];

    public static bool IsConditional(string name) => name.Contains("context", StringComparison.Ordinal);

    /// <summary>The named flow, initialized from <paramref name="data"/> and its parameters perturbed from a seed.</summary>
    public static TransformedDistribution<T> Create<T>(string name, T[,] data, T[,]? context) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = Dimension;
        int k = IsConditional(name) ? ContextDimension : 0;
        TransformedDistribution<T> flow = name switch
        {
            "MaskedAutoregressiveFlow" or "MaskedAutoregressiveFlow(context)" => MaskedAutoregressiveFlow.Create<T>(d, 3, Hidden, k, seed: 1),
            "MaskedAutoregressiveFlow(supports)" => MaskedAutoregressiveFlow.Create<T>(d, 3, Hidden, seed: 6, supports: Supports),
            "InverseAutoregressiveFlow" or "InverseAutoregressiveFlow(context)" => InverseAutoregressiveFlow.Create<T>(d, 3, Hidden, k, seed: 2),
            "RealNvpFlow" or "RealNvpFlow(context)" => RealNvpFlow.Create<T>(d, 3, Hidden, k, seed: 3),
            "NeuralSplineFlow" or "NeuralSplineFlow(context)" => NeuralSplineFlow.Create<T>(d, 3, hiddenFeatures: Hidden, contextDimension: k, seed: 4),
            "NeuralSplineFlow(coupling)" or "NeuralSplineFlow(coupling, context)" =>
                NeuralSplineFlow.Create<T>(d, 3, hiddenFeatures: Hidden, coupling: true, contextDimension: k, seed: 5),
            _ => new TransformedDistribution<T>(new StandardNormal<T>(d), new Chain<T>(
                new Affine<T>(d), Bijector<T>(name, d, k), Permutation<T>.Reverse(d), new Affine<T>(d))),
        };

        if (name == "MaskedAutoregressiveFlow(supports)")
        {
            // The defensive Gaussian of a flow with supports ends in the same supports layer: its draws must stay inside.
            flow.ResolveDefensiveShare(data.GetLength(0));
            flow.DensityLn(IntoSupports(data), context); // initializes the start from data inside the supports
            Assert.True(flow.DefensiveWeight > 0, $"{name}: the defensive share should be active.");
        }
        else if (!UsesOwnSamples(name) && !SamplingOnly.Contains(name))
        {
            // The defensive share a fit on these rows would take (the density presets' default), then the data-initialized
            // layers (the defensive Gaussian's too), as a fit's first step does.
            flow.ResolveDefensiveShare(data.GetLength(0));
            flow.DensityLn(data, context);
            Assert.True(flow.DefensiveComponent is null || flow.DefensiveWeight > 0, $"{name}: the defensive share should be active.");
        }

        var random = new Random(Seeds.Of(name));
        foreach (Parameter<T> parameter in flow.Parameters)
        {
            for (int i = 0; i < parameter.Values.Length; i++)
            {
                parameter.Values[i] += T.CreateTruncating(0.3 * TestData.NextNormal(random));
            }
        }

        return flow;
    }

    private static IBijector<T> Bijector<T>(string name, int d, int k) where T : unmanaged, IFloatingPointIeee754<T> => name switch
    {
        "Affine" => new Affine<T>(d),
        "LowerTriangularAffine" => new LowerTriangularAffine<T>(d),
        "LowerTriangularAffine(context)" => new LowerTriangularAffine<T>(d, contextDimension: k),
        "Permutation" => new Permutation<T>([1, 2, 0]),
        "ActNorm" => new ActNorm<T>(d),
        "Standardization" => new Standardization<T>(d),
        "MaskedAutoregressive" => new MaskedAutoregressive<T>(d, Hidden, Orders.Random(d, 3), seed: 6),
        "MaskedAutoregressive(spline)" => new MaskedAutoregressive<T>(d, Hidden, transform: new RationalQuadraticTransform<T>(5, 3), seed: 7),
        "MaskedAutoregressive(context)" => new MaskedAutoregressive<T>(d, Hidden, contextDimension: k, seed: 8, conditionerInputBound: 3),
        "Inverted(MaskedAutoregressive)" => new Inverted<T>(new MaskedAutoregressive<T>(d, Hidden, transform: new RationalQuadraticTransform<T>(4, 4), seed: 9)),
        "AffineCoupling" => new AffineCoupling<T>([true, false, true], Hidden, seed: 10),
        "Coupling(spline)" => new Coupling<T>([false, true, false], Hidden, transform: new RationalQuadraticTransform<T>(6, 4), seed: 11),
        "Coupling(spline, context)" => new Coupling<T>([true, false, false], Hidden, k, new RationalQuadraticTransform<T>(), seed: 12, conditionerInputBound: 3),
        "SinhArcsinh" => new SinhArcsinh<T>(d),
        "LeakyReLU" => new LeakyReLU<T>(d),
        "Elementwise.Exp" => Elementwise.Exp<T>(d),
        "Elementwise.Softplus" => Elementwise.Softplus<T>(d),
        "Elementwise.Sigmoid" => Elementwise.Sigmoid<T>(d),
        "Elementwise.Tanh" => Elementwise.Tanh<T>(d),
        "Planar" => new Planar<T>(d, seed: 13),
        "Radial" => new Radial<T>(d),
        "Radial(contracting)" => Contracting(new Radial<T>(d)),
        "Sylvester(orthogonal)" => new Sylvester<T>(d, SylvesterVariant.Orthogonal, columnCount: 2, seed: 15),
        "Sylvester(householder)" => new Sylvester<T>(d, SylvesterVariant.Householder, reflectionCount: 2, seed: 16),
        "Sylvester(triangular)" => new Sylvester<T>(d, SylvesterVariant.Triangular, reversed: true, seed: 17),
        "InvertibleResidual" => new InvertibleResidual<T>(d, 8, seed: 18),
        "LULinear" => new LULinear<T>(d, seed: 14),
        "ColumnSupports" => new ColumnSupports<T>(Supports),
        "BatchNorm" => WithRunningStatistics(new BatchNorm<T>(d)),
        _ => throw new ArgumentException($"No ONNX case named {name}.", nameof(name)),
    };

    // Column 0 to 1 + exp(x/3), column 1 to −2 + 5σ(x/2), column 2 unchanged: inside Supports.
    private static T[,] IntoSupports<T>(T[,] data) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = (T[,])data.Clone();
        for (int i = 0; i < data.GetLength(0); i++)
        {
            double x0 = double.CreateTruncating(data[i, 0]);
            double x1 = double.CreateTruncating(data[i, 1]);
            result[i, 0] = T.CreateTruncating(1 + Math.Exp(x0 / 3));
            result[i, 1] = T.CreateTruncating(-2 + (5 / (1 + Math.Exp(-x1 / 2))));
        }

        return result;
    }

    // α ≈ 3 and β ≈ −α: near the center the map contracts strongly (|β/(α + r)| > 1/2), so the graph's other branches
    // (z₀ + q·v, the logs of the ratios) are taken on most rows, not only the increment forms of a near-identity map.
    private static Radial<T> Contracting<T>(Radial<T> radial) where T : unmanaged, IFloatingPointIeee754<T>
    {
        radial.Alpha.Values[0] = T.CreateTruncating(3);
        radial.Beta.Values[0] = T.CreateTruncating(-6);
        return radial;
    }

    // Running statistics away from their start (mean 0, variance 1 − ε), as after training.
    private static BatchNorm<T> WithRunningStatistics<T>(BatchNorm<T> batchNorm) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = 0; j < batchNorm.Dimension; j++)
        {
            batchNorm.RunningMean[j] = T.CreateTruncating(0.5 * (j + 1));
            batchNorm.RunningVariance[j] = T.CreateTruncating(2.0 + j);
        }

        return batchNorm;
    }

    /// <summary>n rows of skewed, correlated data with a few rows far out (so spline tails are crossed too).</summary>
    public static T[,] Data<T>(int rows, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double[,] z = TestData.StandardNormal(rows, Dimension, seed);
        var x = new T[rows, Dimension];
        for (int i = 0; i < rows; i++)
        {
            double far = i % 16 == 5 ? 6 : 1;
            for (int j = 0; j < Dimension; j++)
            {
                double previous = j == 0 ? 0 : z[i, j - 1];
                x[i, j] = T.CreateTruncating(far * ((1.5 * z[i, j]) + (0.4 * previous * previous) + j));
            }
        }

        return x;
    }

    public static T[,] Normal<T>(int rows, int columns, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double[,] z = TestData.StandardNormal(rows, columns, seed);
        var result = new T[rows, columns];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                result[i, j] = T.CreateTruncating(z[i, j]);
            }
        }

        return result;
    }
}
