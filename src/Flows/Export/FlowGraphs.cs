using System.Numerics;
using Flows.Bijectors;
using Flows.Distributions;

namespace Flows.Export;

/// <summary>A base distribution whose log-density can be written as a graph.</summary>
internal interface IDistributionLowering
{
    /// <summary>The n × 1 log-density of the n × d batch <paramref name="x"/>.</summary>
    string LowerDensityLn(GraphBuilder graph, string x);
}

/// <summary>Which graphs of a flow to build.</summary>
internal static class FlowGraphs
{
    /// <summary>Name of the data input of the density graph and the data output of the sampling graph.</summary>
    public const string Data = "x";

    /// <summary>Name of the base-space value: output of the density graph, input of the sampling graph.</summary>
    public const string Base = "z";

    /// <summary>Name of the context input of a conditional flow's graphs.</summary>
    public const string Context = "context";

    /// <summary>Name of the log-density output of both graphs.</summary>
    public const string LogDensity = "log_prob";

    /// <summary>The density graph: inputs x (N × d) and, for a conditional flow, context (N × k); outputs log_prob (N) and
    /// z (N × d), with z = T⁻¹(x) and log_prob = log p_Z(z) + log|det J_T⁻¹(x)|.</summary>
    /// <exception cref="NotSupportedException">A part of the flow has no closed-form inverse graph, or the base has no graph.</exception>
    public static GraphBuilder Density<T>(TransformedDistribution<T> flow) where T : unmanaged, IFloatingPointIeee754<T>
    {
        (GraphBuilder graph, IDistributionLowering baseLowering) = Start(flow);
        string x = graph.Input(Data, flow.Dimension);
        string? context = flow.ContextDimension > 0 ? graph.Input(Context, flow.ContextDimension) : null;
        Lowered lowered = Lowering.Of(flow.Bijector).LowerInverse(graph, x, flow.Bijector.ContextDimension > 0 ? context : null);
        string logDensity = baseLowering.LowerDensityLn(graph, lowered.Output);
        logDensity = lowered.LogDet is null ? logDensity : graph.Add(logDensity, lowered.LogDet);
        logDensity = WithDefensiveShare(graph, flow, logDensity, x, context);
        graph.Output(graph.Reshape(logDensity, -1), LogDensity, 0);
        graph.Output(lowered.Output, Base, flow.Dimension);
        return graph;
    }

    /// <summary>Name of the sampling graph's component input for a flow with a defensive share: N × 1 uniform draws on
    /// [0, 1); a row whose draw is below the share ε is drawn from the defensive Gaussian.</summary>
    public const string ComponentDraw = "u";

    /// <summary>The sampling graph: inputs z (N × d, draws of the base distribution), for a conditional flow context
    /// (N × k), and for a flow with a defensive share ε > 0 u (N × 1, uniform draws on [0, 1)); outputs x (N × d) and
    /// log_prob (N), the model's log-density at x. Without a share x = T(z) and log_prob = log p_Z(z) − log|det J_T(z)|;
    /// with one, rows with u &lt; ε take x = G(z) from the defensive Gaussian G instead, so that x is a draw of the mixture
    /// (1 − ε) p_flow + ε N that <c>Sample</c> draws from, and log_prob is the mixture's log-density at x.</summary>
    /// <exception cref="NotSupportedException">A part of the flow has no closed-form forward graph, or the base has no graph;
    /// or the flow has a defensive share and no closed-form inverse graph, which the density of the Gaussian's draws
    /// under the flow needs.</exception>
    public static GraphBuilder Sampling<T>(TransformedDistribution<T> flow) where T : unmanaged, IFloatingPointIeee754<T>
    {
        (GraphBuilder graph, IDistributionLowering baseLowering) = Start(flow);
        string z = graph.Input(Base, flow.Dimension);
        string? context = flow.ContextDimension > 0 ? graph.Input(Context, flow.ContextDimension) : null;
        string? flowContext = flow.Bijector.ContextDimension > 0 ? context : null;
        Lowered lowered = Lowering.Of(flow.Bijector).LowerForward(graph, z, flowContext);
        string baseAtZ = baseLowering.LowerDensityLn(graph, z);
        string logDensity = lowered.LogDet is null ? baseAtZ : graph.Sub(baseAtZ, lowered.LogDet);
        string x = lowered.Output;
        if (Defensive(flow) is { } gaussian)
        {
            // Both components' draws and both densities at each are formed for every row (a graph has no per-row branch),
            // then each row takes its component's: the flow's density at a Gaussian draw needs the flow's inverse.
            string u = graph.Input(ComponentDraw, 1);
            string? gaussianContext = gaussian.Bijector.ContextDimension > 0 ? context : null;
            Lowered gaussianDraw = Lowering.Of(gaussian.Bijector).LowerForward(graph, z, gaussianContext);
            // The Gaussian's base is a standard normal of the flow's dimension, so where the flow's base is one too, the
            // base density at z is the one already in the graph.
            string gaussianAtOwnDraw = SameDensity(flow.BaseDistribution, gaussian.BaseDistribution) ? baseAtZ : Lower(gaussian).LowerDensityLn(graph, z);
            gaussianAtOwnDraw = gaussianDraw.LogDet is null ? gaussianAtOwnDraw : graph.Sub(gaussianAtOwnDraw, gaussianDraw.LogDet);
            Lowered flowInverse;
            try
            {
                flowInverse = Lowering.Of(flow.Bijector).LowerInverse(graph, gaussianDraw.Output, flowContext);
            }
            catch (NotSupportedException e)
            {
                throw new NotSupportedException(
                    $"The flow mixes in a defensive Gaussian (share {flow.DefensiveWeight:R}), whose draws the sampling graph scores under the flow " +
                    $"through the flow's inverse, and {flow.Bijector}'s inverse has no graph (it is solved numerically, or not supported). " +
                    "Build the flow with DefensiveShare.None to export its sampling graph.", e);
            }

            string flowAtGaussianDraw = baseLowering.LowerDensityLn(graph, flowInverse.Output);
            flowAtGaussianDraw = flowInverse.LogDet is null ? flowAtGaussianDraw : graph.Add(flowAtGaussianDraw, flowInverse.LogDet);
            string fromGaussian = graph.Node("Less", [u, graph.Scalar(double.CreateTruncating(T.CreateTruncating(flow.DefensiveWeight)))]);
            string flowPart = graph.Where(fromGaussian, flowAtGaussianDraw, logDensity);
            string gaussianPart = graph.Where(fromGaussian, gaussianAtOwnDraw, GaussianDensityLn(graph, gaussian, x, context));
            x = graph.Where(fromGaussian, gaussianDraw.Output, x);
            logDensity = Mix(graph, flow.DefensiveWeight, flowPart, gaussianPart);
        }

        graph.Output(x, Data, flow.Dimension);
        graph.Output(graph.Reshape(logDensity, -1), LogDensity, 0);
        return graph;
    }

    // With a defensive share ε > 0 (a fitted preset's default) the model is the mixture (1 − ε) p_flow + ε N of the flow
    // and the Gaussian fitted to its training data: the flow's log-density mixed with the Gaussian's at x.
    private static string WithDefensiveShare<T>(GraphBuilder graph, TransformedDistribution<T> flow, string logDensity, string x, string? context)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Defensive(flow) is { } gaussian ? Mix(graph, flow.DefensiveWeight, logDensity, GaussianDensityLn(graph, gaussian, x, context)) : logDensity;

    // The defensive Gaussian when it takes part (a share ε > 0), else null.
    private static TransformedDistribution<T>? Defensive<T>(TransformedDistribution<T> flow) where T : unmanaged, IFloatingPointIeee754<T>
        => flow.DefensiveWeight > 0 && flow.DefensiveComponent is TransformedDistribution<T> gaussian ? gaussian : null;

    // Whether two bases have the same density function (standard normals of one dimension), so one graph serves both.
    private static bool SameDensity<T>(IDistribution<T> a, IDistribution<T> b) where T : unmanaged, IFloatingPointIeee754<T>
        => a is StandardNormal<T> && b is StandardNormal<T> && a.Dimension == b.Dimension;

    private static IDistributionLowering Lower<T>(TransformedDistribution<T> gaussian) where T : unmanaged, IFloatingPointIeee754<T>
        => gaussian.BaseDistribution as IDistributionLowering ?? throw new NotSupportedException($"The defensive component {gaussian} has no ONNX form.");

    private static string GaussianDensityLn<T>(GraphBuilder graph, TransformedDistribution<T> gaussian, string x, string? context)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Lowered lowered = Lowering.Of(gaussian.Bijector).LowerInverse(graph, x, gaussian.Bijector.ContextDimension > 0 ? context : null);
        string b = Lower(gaussian).LowerDensityLn(graph, lowered.Output);
        return lowered.LogDet is null ? b : graph.Add(b, lowered.LogDet);
    }

    // log((1 − ε) e^a + ε e^b) as m + log((1 − ε) e^(a − m) + ε e^(b − m)) with m = max(a, b), or 0 where that is infinite:
    // where both parts are −∞ (a row beyond float's range), (−∞) − m stays −∞ rather than NaN, as Flows gives.
    private static string Mix(GraphBuilder graph, double weight, string a, string b)
    {
        string max = graph.Max(a, b);
        string m = graph.Where(graph.Node("IsInf", [max]), graph.Scalar(0), max);
        string flowPart = graph.Mul(graph.Exp(graph.Sub(a, m)), graph.Scalar(1 - weight));
        string gaussianPart = graph.Mul(graph.Exp(graph.Sub(b, m)), graph.Scalar(weight));
        return graph.Add(m, graph.Log(graph.Add(flowPart, gaussianPart)));
    }

    private static (GraphBuilder Graph, IDistributionLowering Base) Start<T>(TransformedDistribution<T> flow) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(flow);
        if (typeof(T) != typeof(double) && typeof(T) != typeof(float))
        {
            throw new NotSupportedException($"ONNX export supports float and double flows; this flow's element type is {typeof(T).Name}.");
        }

        if (flow.BaseDistribution is not IDistributionLowering baseLowering || flow.BaseDistribution.ContextDimension > 0)
        {
            throw new NotSupportedException(
                $"The base distribution {flow.BaseDistribution} has no ONNX form; export supports the StandardNormal base (the presets' base).");
        }

        return (new GraphBuilder(typeof(T) == typeof(double)), baseLowering);
    }
}
