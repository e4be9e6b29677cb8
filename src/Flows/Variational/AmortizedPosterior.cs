using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Neural;
using Flows.Numerics;

namespace Flows.Variational;

/// <summary>
/// An amortized variational posterior q(z | x): an encoder network maps each observation x to the mean μ(x) and
/// log-scale s(x) of a diagonal normal and to a context h(x); a flow conditioned on h(x) transforms the normal's draws:
/// <c>z₀ = μ(x) + exp(s(x)) ⊙ ε, ε ~ N(0, I); z = T(z₀; h(x))</c>.
/// </summary>
/// <remarks>
/// <para>log q(z | x) = log φ(ε) − Σⱼ sⱼ(x) − log|det J_T(z₀; h(x))|, computed with the draw (reparameterized), so its
/// gradient reaches the encoder and the flow through both the sample and the density.</para>
/// <para>The encoder is a ReLU network x → hidden → [μ | r | h] (2·LatentDimension + ContextDimension outputs). The
/// log-scale is soft-clamped, s = b·tanh(r/b) with b = <see cref="LogScaleBound"/>, so no exponential of a network
/// output overflows. The encoder's last layer starts at zero: a new posterior is N(0, I) with a zero context for every x,
/// and with a flow whose layers start at the identity it is the standard-normal prior.</para>
/// <para>The flow may be any bijector on LatentDimension features: none (the diagonal-Gaussian VAE), unconditional
/// layers, or a chain of conditional layers (IAF layers, <c>Inverted(MaskedAutoregressive)</c> with a context, as in
/// Kingma et al. 2016; autoregressive spline layers) whose ContextDimension is the encoder's context width.</para>
/// <para>References: Kingma &amp; Welling, "Auto-Encoding Variational Bayes", ICLR 2014, arXiv:1312.6114; Rezende &amp;
/// Mohamed, "Variational inference with normalizing flows", ICML 2015, arXiv:1505.05770; Kingma et al., "Improved
/// Variational Inference with Inverse Autoregressive Flow", NeurIPS 2016, arXiv:1606.04934.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class AmortizedPosterior<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly MultilayerPerceptron<T> _encoder;
    private readonly T _logScaleBound;

    /// <summary>Creates q(z | x) with a new encoder.</summary>
    /// <param name="dataDimension">Features of an observation x. Range: &gt; 0.</param>
    /// <param name="latentDimension">Features of z. Range: &gt; 0.</param>
    /// <param name="hiddenFeatures">The encoder's hidden widths; default [64]. Each &gt; 0; empty for a linear encoder.</param>
    /// <param name="flow">The flow on z₀, or null for the diagonal normal alone. Its Dimension must be
    /// <paramref name="latentDimension"/>; its ContextDimension (0 or more) is the width of the context the encoder
    /// gives it.</param>
    /// <param name="seed">Seed of the encoder's initial weights.</param>
    /// <param name="logScaleBound">b, the soft bound on the log-scale: |s| &lt; b. Default 5. Range: &gt; 0, finite.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size or the bound is out of range.</exception>
    /// <exception cref="ArgumentException">The flow's Dimension is not <paramref name="latentDimension"/>.</exception>
    public AmortizedPosterior(int dataDimension, int latentDimension, IReadOnlyList<int>? hiddenFeatures = null, IBijector<T>? flow = null,
        int seed = 0, double logScaleBound = 5)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dataDimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(latentDimension);
        if (!(logScaleBound > 0 && double.IsFinite(logScaleBound)))
        {
            throw new ArgumentOutOfRangeException(nameof(logScaleBound), logScaleBound, "logScaleBound must be finite and > 0.");
        }

        if (flow is not null && flow.Dimension != latentDimension)
        {
            throw new ArgumentException($"flow ({flow}) has Dimension {flow.Dimension} but the latent space has {latentDimension} features.", nameof(flow));
        }

        hiddenFeatures ??= [64];
        for (int l = 0; l < hiddenFeatures.Count; l++)
        {
            if (hiddenFeatures[l] <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(hiddenFeatures), hiddenFeatures[l], $"hiddenFeatures[{l}] is {hiddenFeatures[l]}; every width must be > 0.");
            }
        }

        DataDimension = dataDimension;
        LatentDimension = latentDimension;
        HiddenFeatures = [.. hiddenFeatures];
        Flow = flow;
        ContextDimension = flow?.ContextDimension ?? 0;
        LogScaleBound = logScaleBound;
        _logScaleBound = T.CreateTruncating(logScaleBound);
        _encoder = new MultilayerPerceptron<T>("encoder", [dataDimension, .. hiddenFeatures, (2 * latentDimension) + ContextDimension], seed);
        Parameters = [.. _encoder.Parameters, .. flow?.Parameters ?? []];
    }

    /// <summary>Features of an observation x.</summary>
    public int DataDimension { get; }

    /// <summary>Features of z.</summary>
    public int LatentDimension { get; }

    /// <summary>Features of the context the encoder gives the flow: the flow's ContextDimension, 0 without a flow.</summary>
    public int ContextDimension { get; }

    /// <summary>The encoder's hidden widths.</summary>
    public IReadOnlyList<int> HiddenFeatures { get; }

    /// <summary>The flow on z₀, or null for the diagonal normal alone.</summary>
    public IBijector<T>? Flow { get; }

    /// <summary>b: the log-scale is s = b·tanh(r/b).</summary>
    public double LogScaleBound { get; }

    /// <summary>The encoder network, x → [μ | r | h].</summary>
    public MultilayerPerceptron<T> Encoder => _encoder;

    /// <summary>The encoder's parameters, then the flow's.</summary>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>Draws <paramref name="samplesPerRow"/> samples z ~ q(z | xᵢ) for every row of <paramref name="x"/>, with
    /// log q(z | xᵢ), differentiably in the encoder's and the flow's parameters (and in x).</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="x">n × DataDimension observations.</param>
    /// <param name="samplesPerRow">k, samples per observation. Range: &gt; 0.</param>
    /// <param name="random">The source of the draws ε.</param>
    /// <returns>Z, (n·k) × LatentDimension, whose rows i·k … i·k + k − 1 are the samples of row i; and log q, (n·k) × 1.</returns>
    /// <exception cref="ArgumentException"><paramref name="x"/> has the wrong width.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="samplesPerRow"/> is not positive.</exception>
    public (Node<T> Z, Node<T> DensityLn) SampleWithDensityLn(Tape<T> tape, Node<T> x, int samplesPerRow, Random random)
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(random);
        CheckData(x);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(samplesPerRow);
        (Node<T> affine, Node<T>? context) = Encode(tape, x, samplesPerRow);
        Node<T> epsilon = tape.Allocate(affine.Rows, LatentDimension);
        Gaussian.Fill<T>(epsilon.Values, random);
        Node<T> logDensity = tape.StandardNormalLogDensity(epsilon);
        (Node<T> z, Node<T> affineLogDet) = tape.ConditionalAffine(epsilon, affine, _logScaleBound, inverse: false);
        logDensity = tape.Subtract(logDensity, affineLogDet);
        if (Flow is not null)
        {
            (z, Node<T> flowLogDet) = Flow.Forward(tape, z, context);
            logDensity = tape.Subtract(logDensity, flowLogDet);
        }

        return (z, logDensity);
    }

    /// <summary>log q(z | x) per row, for given pairs (xᵢ, zᵢ): the flow runs in its inverse direction (d passes per
    /// IAF layer).</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="x">n × DataDimension observations.</param>
    /// <param name="z">n × LatentDimension latent points, row i scored under q(· | xᵢ).</param>
    /// <returns>n × 1.</returns>
    /// <exception cref="ArgumentException">A width or the row counts do not match.</exception>
    public Node<T> DensityLn(Tape<T> tape, Node<T> x, Node<T> z)
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(z);
        CheckData(x);
        if (z.Columns != LatentDimension || z.Rows != x.Rows)
        {
            throw new ArgumentException($"z is {z.Rows} × {z.Columns} but needs {x.Rows} × {LatentDimension}: one latent row per row of x.", nameof(z));
        }

        (Node<T> affine, Node<T>? context) = Encode(tape, x, 1);
        Node<T> logDensity;
        Node<T> z0 = z;
        Node<T>? flowLogDet = null;
        if (Flow is not null)
        {
            (z0, flowLogDet) = Flow.Inverse(tape, z, context);
        }

        (Node<T> epsilon, Node<T> affineLogDet) = tape.ConditionalAffine(z0, affine, _logScaleBound, inverse: true);
        logDensity = tape.Add(tape.StandardNormalLogDensity(epsilon), affineLogDet);
        return flowLogDet is null ? logDensity : tape.Add(logDensity, flowLogDet);
    }

    /// <summary>Draws z ~ q(z | xᵢ), <paramref name="samplesPerRow"/> per row of <paramref name="x"/> (no gradients).</summary>
    /// <param name="x">n × DataDimension observations, all finite.</param>
    /// <param name="samplesPerRow">k. Range: &gt; 0.</param>
    /// <param name="random">The source of randomness.</param>
    /// <returns>(n·k) × LatentDimension, the samples of row i in rows i·k … i·k + k − 1.</returns>
    /// <exception cref="ArgumentException"><paramref name="x"/> has the wrong width or a non-finite value.</exception>
    public T[,] Sample(T[,] x, int samplesPerRow, Random random)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(random);
        var tape = new Tape<T>(isRecording: false);
        Node<T> xNode = VariationalData.Constant(tape, x, DataDimension, nameof(x));
        Node<T> z = SampleWithDensityLn(tape, xNode, samplesPerRow, random).Z;
        var result = new T[z.Rows, LatentDimension];
        z.Values.CopyTo(Batch.AsSpan(result));
        return result;
    }

    /// <inheritdoc/>
    public override string ToString()
        => $"AmortizedPosterior(dataDimension: {DataDimension}, latentDimension: {LatentDimension}, hidden: [{string.Join(", ", HiddenFeatures)}], flow: {Flow?.ToString() ?? "none"})";

    // The encoder's [μ | r] (each row repeated k times) and the context h, or null without one.
    private (Node<T> Affine, Node<T>? Context) Encode(Tape<T> tape, Node<T> x, int samplesPerRow)
    {
        Node<T> encoded = _encoder.Apply(tape, x, null);
        if (samplesPerRow > 1)
        {
            // Encode each observation once and hand its outputs to its k samples.
            encoded = tape.GatherRows(encoded, VariationalData.RepeatEach(x.Rows, samplesPerRow));
        }

        int d = LatentDimension;
        if (ContextDimension == 0)
        {
            return (encoded, null);
        }

        return (tape.SliceColumns(encoded, 0, 2 * d), tape.SliceColumns(encoded, 2 * d, ContextDimension));
    }

    private void CheckData(Node<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Columns != DataDimension)
        {
            throw new ArgumentException($"x has {x.Columns} columns but the posterior takes observations of {DataDimension} features.", nameof(x));
        }
    }
}
