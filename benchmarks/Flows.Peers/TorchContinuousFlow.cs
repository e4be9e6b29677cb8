using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using TorchSharp;
using static TorchSharp.torch;

namespace Flows.Peers;

/// <summary>
/// Flows' continuous flow (issue 20) in TorchSharp, written as a PyTorch user would write FFJORD without an ODE library:
/// the vector field f(x, t) = MLP([x, t, sin(ωₖt), cos(ωₖt)]) with ωₖ = 2ᵏπ and Flows' activation (tanh, softplus or
/// Swish), its weights copied from a <see cref="ContinuousFlow{T}"/>; the flow-matching loss on given draws; and
/// log p(x) by the classic RK4 scheme with a fixed number of steps from t = 1 back to 0 on the state [y, ℓ],
/// ℓ′ = tr(∂f/∂y), the trace exact from d backward passes (<c>torch.autograd.grad</c> of each output column).
/// </summary>
/// <remarks>
/// The maximum-likelihood step back-propagates through the RK4 steps (discretize-then-optimize, the trace's graph kept
/// with <c>create_graph</c>), the usual choice in torch without torchdiffeq; Flows integrates the adjoint system with the
/// same scheme instead, so the two losses agree to rounding but the gradients only to the schemes' O(h⁴) difference.
/// </remarks>
internal sealed class TorchContinuousFlow : IDisposable
{
    private readonly List<(TorchSharp.Modules.Parameter Weight, TorchSharp.Modules.Parameter Bias)> _layers;
    private readonly int _dimension;
    private readonly int _frequencies;
    private readonly VectorFieldActivation _activation;
    private readonly ScalarType _dtype;

    private TorchContinuousFlow(List<(TorchSharp.Modules.Parameter, TorchSharp.Modules.Parameter)> layers, int dimension, int frequencies,
        VectorFieldActivation activation, int steps, ScalarType dtype)
    {
        _layers = layers;
        _dimension = dimension;
        _frequencies = frequencies;
        _activation = activation;
        Steps = steps;
        _dtype = dtype;
    }

    /// <summary>RK4 steps of a log-density solve.</summary>
    public int Steps { get; }

    /// <summary>Every weight and bias, in the order of the Flows flow's Parameters.</summary>
    public IEnumerable<TorchSharp.Modules.Parameter> Parameters => _layers.SelectMany(l => new[] { l.Weight, l.Bias });

    /// <summary>Copies the flow's field (weight outputs × inputs, bias per output, as <c>functional.linear</c> takes them).</summary>
    public static TorchContinuousFlow From<T>(ContinuousFlow<T> flow, ScalarType dtype, int steps) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (flow.ContextDimension != 0)
        {
            throw new ArgumentException("The torch peer covers unconditional continuous flows.", nameof(flow));
        }

        IReadOnlyList<Parameter<T>> parameters = flow.Parameters;
        var layers = new List<(TorchSharp.Modules.Parameter, TorchSharp.Modules.Parameter)>();
        for (int l = 0; l < parameters.Count; l += 2)
        {
            layers.Add((Copy(parameters[l], dtype, [parameters[l].Rows, parameters[l].Columns]), Copy(parameters[l + 1], dtype, [parameters[l + 1].Values.Length])));
        }

        return new TorchContinuousFlow(layers, flow.Dimension, flow.Options.TimeFrequencies, flow.Options.Activation, steps, dtype);
    }

    /// <summary>f(x, t): x n × d, t n × 1.</summary>
    public Tensor Velocity(Tensor x, Tensor t)
    {
        var columns = new List<Tensor> { x, t };
        double omega = Math.PI;
        for (int k = 0; k < _frequencies; k++)
        {
            Tensor angle = t * omega;
            columns.Add(torch.sin(angle));
            columns.Add(torch.cos(angle));
            omega += omega;
        }

        Tensor h = torch.cat(columns, 1);
        for (int l = 0; l < _layers.Count; l++)
        {
            h = torch.nn.functional.linear(h, _layers[l].Weight, _layers[l].Bias);
            if (l < _layers.Count - 1)
            {
                h = _activation switch
                {
                    VectorFieldActivation.Softplus => torch.nn.functional.softplus(h),
                    VectorFieldActivation.Swish => h * torch.sigmoid(h),
                    _ => torch.tanh(h),
                };
            }
        }

        return h;
    }

    /// <summary>Conditional flow matching with straight paths: Σᵢ ‖f((1 − tᵢ) zᵢ + tᵢ xᵢ, tᵢ) − (xᵢ − zᵢ)‖² / n.</summary>
    public Tensor FlowMatchingLoss(Tensor x, Tensor z, Tensor t)
    {
        Tensor point = ((1 - t) * z) + (t * x);
        Tensor difference = Velocity(point, t) - (x - z);
        return difference.square().sum() / x.shape[0];
    }

    /// <summary>
    /// log p(x) = log N(z; 0, I) + ℓ(0), [z, ℓ(0)] the RK4 solution from [x, 0] at t = 1 back to t = 0 of
    /// [y, ℓ]′ = [f(y, t), tr ∂f/∂y]. With <paramref name="createGraph"/> the result can be back-propagated (through every
    /// stage and the trace's backward passes); without it, each evaluation detaches.
    /// </summary>
    public Tensor LogProb(Tensor x, bool createGraph)
    {
        long n = x.shape[0];
        Tensor y = x;
        Tensor logDet = torch.zeros([n], _dtype);
        const double T0 = 1.0;
        const double T1 = 0.0;
        double h = (T1 - T0) / Steps;
        double half = h / 2;
        double sixth = h / 6;
        for (int step = 0; step < Steps; step++)
        {
            // Each step's intermediates are released when it ends (a graph being built keeps what it saved).
            using DisposeScope scope = torch.NewDisposeScope();
            double t = T0 + (step * h);
            (Tensor k1, Tensor q1) = Dynamics(y, t, createGraph);
            (Tensor k2, Tensor q2) = Dynamics(y + (half * k1), t + half, createGraph);
            (Tensor k3, Tensor q3) = Dynamics(y + (half * k2), t + half, createGraph);
            (Tensor k4, Tensor q4) = Dynamics(y + (h * k3), t + h, createGraph);
            y = (y + (sixth * (k1 + (2 * (k2 + k3)) + k4))).MoveToOuterDisposeScope();
            logDet = (logDet + (sixth * (q1 + (2 * (q2 + q3)) + q4))).MoveToOuterDisposeScope();
        }

        return (-0.5 * y.square().sum(1)) - (0.5 * _dimension * Math.Log(2 * Math.PI)) + logDet;
    }

    public void Dispose()
    {
        foreach (TorchSharp.Modules.Parameter p in Parameters)
        {
            p.Dispose();
        }
    }

    // f(y, t) and tr(∂f/∂y) per row: column i of ∂f/∂y is the gradient of Σ_rows fᵢ (rows are independent).
    private (Tensor F, Tensor Trace) Dynamics(Tensor y, double t, bool createGraph)
    {
        using IDisposable grad = torch.enable_grad();
        Tensor point = createGraph && y.requires_grad ? y : y.detach().requires_grad_(true);
        Tensor f = Velocity(point, torch.full([y.shape[0], 1], t, _dtype));
        Tensor trace = torch.zeros([y.shape[0]], _dtype);
        for (int i = 0; i < _dimension; i++)
        {
            Tensor column = f.select(1, i);
            Tensor gradient = torch.autograd.grad([column.sum()], [point], retain_graph: createGraph || i < _dimension - 1, create_graph: createGraph)[0];
            trace = trace + gradient.select(1, i);
        }

        return createGraph ? (f, trace) : (f.detach(), trace.detach());
    }

    private static TorchSharp.Modules.Parameter Copy<T>(Parameter<T> parameter, ScalarType dtype, long[] shape) where T : unmanaged, IFloatingPointIeee754<T>
        => nn.Parameter(torch.tensor([.. parameter.Values.Select(double.CreateTruncating)], shape, dtype));
}
