using System.Globalization;
using System.Numerics;
using System.Numerics.Tensors;
using Flows.Autodiff;
using Flows.Distributions;

namespace Flows.Training;

/// <summary>
/// The evidence lower bound (ELBO) of a flow q against an unnormalized target p̃, ELBO = E_q[log p̃(z) − log q(z)],
/// estimated with reparameterized samples together with its gradient in q's parameters: one step of variational
/// inference, reusable in a custom training loop.
/// </summary>
/// <remarks>
/// <para>Maximizing the ELBO minimizes KL(q ‖ p) = log Z − ELBO, the reverse Kullback–Leibler divergence. Samples
/// z = T(ε), ε ~ base, are drawn on a tape; the target, which is not on the tape, enters through
/// <see cref="TapeOps.ExternalRowFunction"/> with its supplied gradient.</para>
/// <para>The standard estimator differentiates log q(T_θ(ε)) in θ both through the sample path and directly (the score
/// term, whose expectation is zero). The sticking-the-landing estimator keeps only the path term: log q is evaluated at
/// the samples on a second tape, the gradient ∇_z log q(z) taken there is injected as that of an external function, and
/// so no gradient reaches the parameters through log q except via z. When q equals the normalized target,
/// ∇_z(log q − log p̃) = 0 for every sample and the estimate is exactly zero. This needs the flow's inverse (d passes
/// per layer for an inverse autoregressive flow) and rows that do not interact, as is true of every bijector here.
/// Reference: Roeder, Wu &amp; Duvenaud, "Sticking the Landing: Simple, Lower-Variance Gradient Estimators for
/// Variational Inference", NeurIPS 2017, arXiv:1703.09194.</para>
/// <para>Variational fitting never runs in training mode (<see cref="Tape{T}.IsTraining"/>): every layer is the fixed
/// map it is when sampling. BatchNorm uses its running statistics (its log γ and β are learned, its running averages
/// stay as they are), and an ActNorm that has not seen data keeps its current parameters — the identity for a new
/// layer — and learns from there instead of standardizing q's samples.</para>
/// <para>After the first call with a given sample count, a call allocates nothing. Not thread-safe.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class VariationalObjective<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Both tapes record (the ELBO is differentiated) but never train: the layers see q's own samples, not data, so
    // BatchNorm keeps to its running statistics and an uninitialized ActNorm keeps its current parameters.
    private readonly Tape<T> _tape = new(isRecording: true, isTraining: false);
    private readonly Tape<T> _densityTape = new(isRecording: true, isTraining: false);
    private readonly IReadOnlyList<Parameter<T>> _parameters;
    private T[] _logTarget = [];
    private T[] _targetGradient = [];

    /// <summary>Creates the objective of fitting <paramref name="flow"/> to <paramref name="target"/>.</summary>
    /// <param name="flow">q: an unconditional flow with at least one parameter.</param>
    /// <param name="target">log p̃ and its gradient.</param>
    /// <param name="stickingTheLanding">Use the sticking-the-landing estimator instead of the standard one.</param>
    /// <exception cref="ArgumentException">The flow is conditional or has no parameters.</exception>
    public VariationalObjective(TransformedDistribution<T> flow, LogDensityWithGradient<T> target, bool stickingTheLanding = false)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(target);
        if (flow.ContextDimension != 0)
        {
            throw new ArgumentException(
                $"The flow has ContextDimension {flow.ContextDimension}; variational fitting needs an unconditional flow.", nameof(flow));
        }

        if (flow.Parameters.Count == 0)
        {
            throw new ArgumentException("The flow has no parameters, so there is nothing to fit.", nameof(flow));
        }

        // q is the flow alone: an automatic defensive share becomes 0, a fixed one is refused.
        using (flow.BeginFit())
        {
            flow.UseFlowAloneForVariationalFit();
        }

        Flow = flow;
        Target = target;
        StickingTheLanding = stickingTheLanding;
        _parameters = flow.Parameters;
    }

    /// <summary>q, whose parameters receive the gradients.</summary>
    public TransformedDistribution<T> Flow { get; }

    /// <summary>log p̃ and its gradient.</summary>
    public LogDensityWithGradient<T> Target { get; }

    /// <summary>Whether the sticking-the-landing estimator is used.</summary>
    public bool StickingTheLanding { get; }

    /// <summary>
    /// Draws <paramref name="sampleCount"/> samples from q, returns the ELBO estimate (1/n) Σᵢ (log p̃(zᵢ) − log q(zᵢ)), and
    /// overwrites every parameter's <see cref="Parameter{T}.Gradients"/> with the gradient of the loss −ELBO.
    /// </summary>
    /// <param name="sampleCount">Monte Carlo samples. Range: &gt; 0.</param>
    /// <param name="random">The source of the base draws.</param>
    /// <returns>The ELBO estimate, in nats.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sampleCount"/> is not positive.</exception>
    /// <exception cref="InvalidOperationException">The target returned NaN, +∞ or a non-finite gradient, or the
    /// estimate is not finite; the message names the row and the point.</exception>
    public T EstimateGradient(int sampleCount, Random random)
    {
        (T elbo, string? failure) = Evaluate(sampleCount, random);
        return failure is null ? elbo : throw new InvalidOperationException(failure + ".");
    }

    // The work of EstimateGradient; a problem comes back as a description so that a fit can restore its parameters first.
    internal (T Elbo, string? Failure) Evaluate(int sampleCount, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleCount);
        ArgumentNullException.ThrowIfNull(random);
        int d = Flow.Dimension;
        EnsureCapacity(sampleCount, d);
        Span<T> logTarget = _logTarget.AsSpan(0, sampleCount);
        Span<T> targetGradient = _targetGradient.AsSpan(0, sampleCount * d);

        _tape.Reset();
        (Node<T> z, Node<T> logQ) = Flow.SampleWithDensityLn(_tape, sampleCount, random);
        Target(z.Values, logTarget, targetGradient);
        if (CheckTarget(z.Values, logTarget, targetGradient, d) is string targetFailure)
        {
            return (T.NaN, targetFailure);
        }

        Node<T> loss;
        if (StickingTheLanding)
        {
            // log q(z) and ∇_z log q(z) on a second tape with z as the only variable. Its backward pass also adds into the
            // parameters' gradients; they are zeroed below, before the real backward pass.
            _densityTape.Reset();
            Node<T> point = _densityTape.Variable(z.Values, sampleCount, d);
            Node<T> stoppedLogQ = Flow.DensityLn(_densityTape, point);
            _densityTape.Backward(_densityTape.Sum(stoppedLogQ));

            // f(z) = log q(z) − log p̃(z) with ∇f = ∇log q − ∇log p̃, written over the target's buffers.
            TensorPrimitives.Subtract(stoppedLogQ.Values, logTarget, logTarget);
            TensorPrimitives.Subtract(point.Gradients, targetGradient, targetGradient);
            loss = _tape.Mean(_tape.ExternalRowFunction(z, logTarget, targetGradient));
        }
        else
        {
            loss = _tape.Mean(_tape.Subtract(logQ, _tape.ExternalRowFunction(z, logTarget, targetGradient)));
        }

        T elbo = -loss.Values[0];
        if (!T.IsFinite(elbo))
        {
            return (elbo, $"The ELBO estimate is {elbo.ToString(null, CultureInfo.InvariantCulture)} because log q(z) is not finite at some sample");
        }

        for (int i = 0; i < _parameters.Count; i++)
        {
            _parameters[i].ZeroGradients();
        }

        _tape.Backward(loss);
        return (elbo, null);
    }

    private static string? CheckTarget(ReadOnlySpan<T> z, ReadOnlySpan<T> logTarget, ReadOnlySpan<T> gradient, int d)
    {
        for (int i = 0; i < logTarget.Length; i++)
        {
            if (!T.IsFinite(logTarget[i]))
            {
                string what = T.IsNegativeInfinity(logTarget[i])
                    ? "−∞ (zero density) where q puts mass; the ELBO is then −∞"
                    : logTarget[i].ToString(null, CultureInfo.InvariantCulture);
                return $"The target returned log p̃ = {what} at sample {i}, z = {Format(z.Slice(i * d, d))}";
            }
        }

        for (int k = 0; k < gradient.Length; k++)
        {
            if (!T.IsFinite(gradient[k]))
            {
                return $"The target returned a gradient of {gradient[k].ToString(null, CultureInfo.InvariantCulture)} in column {k % d} " +
                    $"at sample {k / d}, z = {Format(z.Slice(k / d * d, d))}";
            }
        }

        return null;
    }

    internal static string Format(ReadOnlySpan<T> row)
    {
        var parts = new string[row.Length];
        for (int j = 0; j < row.Length; j++)
        {
            parts[j] = row[j].ToString("G6", CultureInfo.InvariantCulture);
        }

        return $"({string.Join(", ", parts)})";
    }

    private void EnsureCapacity(int rows, int d)
    {
        if (_logTarget.Length < rows)
        {
            _logTarget = new T[rows];
            _targetGradient = new T[rows * d];
        }
    }
}
