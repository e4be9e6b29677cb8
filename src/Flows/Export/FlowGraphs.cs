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

    /// <summary>The sampling graph: inputs z (N × d, draws of the base distribution) and, for a conditional flow, context
    /// (N × k); outputs x = T(z) (N × d) and log_prob (N), the model's log-density at x: log p_Z(z) − log|det J_T(z)|,
    /// mixed with the defensive Gaussian's when the flow has a defensive share (x is then a draw of the flow component).</summary>
    /// <exception cref="NotSupportedException">A part of the flow has no closed-form forward graph, or the base has no graph.</exception>
    public static GraphBuilder Sampling<T>(TransformedDistribution<T> flow) where T : unmanaged, IFloatingPointIeee754<T>
    {
        (GraphBuilder graph, IDistributionLowering baseLowering) = Start(flow);
        string z = graph.Input(Base, flow.Dimension);
        string? context = flow.ContextDimension > 0 ? graph.Input(Context, flow.ContextDimension) : null;
        Lowered lowered = Lowering.Of(flow.Bijector).LowerForward(graph, z, flow.Bijector.ContextDimension > 0 ? context : null);
        string logDensity = baseLowering.LowerDensityLn(graph, z);
        logDensity = lowered.LogDet is null ? logDensity : graph.Sub(logDensity, lowered.LogDet);
        logDensity = WithDefensiveShare(graph, flow, logDensity, lowered.Output, context);
        graph.Output(lowered.Output, Data, flow.Dimension);
        graph.Output(graph.Reshape(logDensity, -1), LogDensity, 0);
        return graph;
    }

    // With a defensive share ε > 0 (a fitted preset's default) the model is the mixture (1 − ε) p_flow + ε N of the flow
    // and the Gaussian fitted to its training data: log p = log((1 − ε) e^a + ε e^b), a the flow's and b the Gaussian's
    // log-density at x, written as m + log((1 − ε) e^(a − m) + ε e^(b − m)) with m = max(a, b), or 0 where that is infinite.
    private static string WithDefensiveShare<T>(GraphBuilder graph, TransformedDistribution<T> flow, string logDensity, string x, string? context)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (flow.DefensiveWeight <= 0 || flow.DefensiveComponent is not TransformedDistribution<T> gaussian)
        {
            return logDensity;
        }

        if (gaussian.BaseDistribution is not IDistributionLowering gaussianBase)
        {
            throw new NotSupportedException($"The defensive component {gaussian} has no ONNX form.");
        }

        Lowered lowered = Lowering.Of(gaussian.Bijector).LowerInverse(graph, x, gaussian.Bijector.ContextDimension > 0 ? context : null);
        string b = gaussianBase.LowerDensityLn(graph, lowered.Output);
        b = lowered.LogDet is null ? b : graph.Add(b, lowered.LogDet);
        double weight = flow.DefensiveWeight;
        // Where both parts are −∞ (a row beyond float's range), m = 0 keeps (−∞) − m at −∞ rather than NaN, as Flows gives.
        string max = graph.Max(logDensity, b);
        string m = graph.Where(graph.Node("IsInf", [max]), graph.Scalar(0), max);
        string flowPart = graph.Mul(graph.Exp(graph.Sub(logDensity, m)), graph.Scalar(double.CreateTruncating(T.CreateTruncating(1 - weight))));
        string gaussianPart = graph.Mul(graph.Exp(graph.Sub(b, m)), graph.Scalar(double.CreateTruncating(T.CreateTruncating(weight))));
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
