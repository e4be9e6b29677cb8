using Flows.Autodiff;
using Flows.Export;

namespace Flows.Bijectors;

public sealed partial class Radial<T> : IGraphLowering
{
    // Both directions are closed-form (see the class remarks); the graph takes the same branches as RadialOps, with Where
    // in place of the per-row if: the increment form near the identity, z₀ + q·v for strong contractions, log1p of the
    // increments while they are small. The distance is a plain √Σv² (RadialPoint scales by the largest component against
    // overflow): rows beyond about 1e150 in double (1e19 in float) get r = ∞, where the map is the identity to rounding
    // anyway (increment 0, log-det 0).
    Lowered IGraphLowering.LowerForward(GraphBuilder graph, string input, string? context) => Lower(graph, input, inverse: false);

    Lowered IGraphLowering.LowerInverse(GraphBuilder graph, string input, string? context) => Lower(graph, input, inverse: true);

    private Lowered Lower(GraphBuilder graph, string input, bool inverse)
    {
        int d = Dimension;
        Node<T> packed = Packed(new Tape<T>(isRecording: false));
        double alpha = double.CreateTruncating(packed.Values[d]);
        double gamma = double.CreateTruncating(packed.Values[d + 1]);
        double beta = double.CreateTruncating(packed.Values[d + 1] - packed.Values[d]);
        string center = graph.Row<T>(packed.Values[..d]);
        string a = graph.Scalar(alpha);
        string g = graph.Scalar(gamma);
        string b = graph.Scalar(beta);

        string v = graph.Sub(input, center);
        string norm = graph.Sqrt(graph.RowSums(graph.Mul(v, v)));
        string r = inverse ? RadiusFromImage(graph, norm, a, g, alpha) : norm;
        string alphaPlusR = graph.Add(a, r);
        string rPlusGamma = graph.Add(r, g);

        // Forward x = z + (β/(α + r))·v or z₀ + ((r + γ)/(α + r))·v; inverse z = x − (β/(r + γ))·u or z₀ + ((α + r)/(r + γ))·u.
        string increment = inverse ? graph.Neg(graph.Div(b, rPlusGamma)) : graph.Div(b, alphaPlusR);
        string scale = inverse ? graph.Div(alphaPlusR, rPlusGamma) : graph.Div(rPlusGamma, alphaPlusR);
        string small = graph.Node("LessOrEqual", [graph.Abs(increment), graph.Scalar(0.5)]);
        string output = graph.Where(small, graph.Add(input, graph.Mul(increment, v)), graph.Add(center, graph.Mul(scale, v)));

        // ℓ = (d − 1) log(1 + β/(α + r)) + log(1 + βα/(α + r)²), each by log1p while its increment is small, else as the
        // log of the cancellation-free ratio (r + γ)/(α + r) or N/(α + r)² with N = r(2α + r) + γα.
        string u2 = graph.Div(graph.Scalar(beta * alpha), graph.Mul(alphaPlusR, alphaPlusR));
        string logAlphaPlusR = graph.Log(alphaPlusR);
        string n = graph.Add(graph.Mul(r, graph.Add(graph.Scalar(2 * alpha), r)), graph.Scalar(gamma * alpha));
        string log2 = SmallOrRatio(graph, u2, graph.Sub(graph.Log(n), graph.Mul(graph.Scalar(2), logAlphaPlusR)));
        string logDet = d == 1
            ? log2
            : graph.Add(graph.Mul(graph.Scalar(d - 1), SmallOrRatio(graph, graph.Div(b, alphaPlusR), graph.Sub(graph.Log(rPlusGamma), logAlphaPlusR))), log2);
        return new Lowered(output, inverse ? graph.Neg(logDet) : logDet);
    }

    private static string SmallOrRatio(GraphBuilder graph, string increment, string logOfRatio)
        => graph.Where(graph.Node("LessOrEqual", [graph.Abs(increment), graph.Scalar(0.5)]), graph.Log1p(increment), logOfRatio);

    // The one non-negative root r of ρ = r(r + γ)/(α + r): ((ρ − γ) + √Δ)/2 when ρ ≥ γ, else 2ρα/(√Δ − (ρ − γ)), with
    // Δ = (ρ − γ)² + 4ρα, so neither branch cancels.
    private static string RadiusFromImage(GraphBuilder graph, string rho, string alpha, string gamma, double alphaValue)
    {
        string b = graph.Sub(rho, gamma);
        string sqrtDelta = graph.Sqrt(graph.Add(graph.Mul(b, b), graph.Mul(graph.Scalar(4 * alphaValue), rho)));
        string large = graph.Mul(graph.Scalar(0.5), graph.Add(b, sqrtDelta));
        string smallRho = graph.Div(graph.Mul(graph.Mul(graph.Scalar(2), rho), alpha), graph.Sub(sqrtDelta, b));
        return graph.Where(graph.Node("GreaterOrEqual", [b, graph.Scalar(0)]), large, smallRho);
    }
}
