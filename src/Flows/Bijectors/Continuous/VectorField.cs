using System.Numerics;
using System.Numerics.Tensors;
using Flows.Autodiff;
using Flows.Neural;

namespace Flows.Bijectors;

/// <summary>
/// The vector field f(x, t, c) of a <see cref="ContinuousFlow{T}"/>: a network with a smooth activation σ (tanh,
/// softplus or Swish) on the input u = [x, t, sin(ωₖt), cos(ωₖt), c],
/// <c>a₀ = W₀ u + b₀, hₗ = σ(aₗ), aₗ = Wₗ hₗ₋₁ + bₗ</c>, f = a_{L−1}; with its Jacobian–vector products and one
/// reverse pass for the gradients of <c>λᵀ f + μ Σₚ vₚᵀ (∂f/∂x) vₚ</c>, evaluated row by row off the tape (the solver's
/// path), and the same network on the tape for a whole batch (<see cref="Apply"/>, flow matching's path).
/// </summary>
/// <remarks>
/// <para><b>Why smooth, not the library's ReLU network.</b> The log-density of a continuous flow integrates tr(∂f/∂x)
/// along the trajectory, and its gradient needs the derivative of that trace: with ReLU ∂f/∂x is piecewise constant and
/// its derivative zero almost everywhere, and the field is not smooth enough for an adaptive solver's error estimate.
/// tanh, softplus and Swish are smooth (FFJORD uses tanh or softplus). The layers are the library's
/// <see cref="Linear{T}"/>.</para>
/// <para><b>The trace term.</b> With probes vₚ (the unit vectors for the exact trace, one random vector for
/// Hutchinson's estimate) the term is Σₚ vₚᵀ J vₚ with J = ∂f/∂x, computed by forward-mode products
/// <c>ȧ₀ = W₀[:, :d] v, ḣₗ = sₗ ⊙ ȧₗ, ȧₗ = Wₗ ḣₗ₋₁</c> with the slopes sₗ = σ′(aₗ). Its reverse pass runs each product
/// backwards and adds the second-order term (∂ḣₗ/∂aₗ = σ″(aₗ) ȧₗ) into the primal adjoints before the primal reverse
/// pass; checked against central differences in the tests for every activation.</para>
/// </remarks>
internal sealed class VectorField<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Linear<T>[] _layers;

    public VectorField(int dimension, int contextDimension, IReadOnlyList<int> hiddenFeatures, int timeFrequencies,
        VectorFieldActivation activation, int seed)
    {
        Dimension = dimension;
        ContextDimension = contextDimension;
        HiddenFeatures = [.. hiddenFeatures];
        TimeFrequencies = timeFrequencies;
        Activation = activation;
        TimeWidth = 1 + (2 * timeFrequencies);
        var random = new Random(seed);
        int inputs = dimension + TimeWidth + contextDimension;
        _layers = new Linear<T>[hiddenFeatures.Count + 1];
        for (int l = 0; l < _layers.Length; l++)
        {
            int outputs = l < hiddenFeatures.Count ? hiddenFeatures[l] : dimension;
            // The last layer starts at zero: f ≡ 0, so the flow starts as the identity.
            _layers[l] = new Linear<T>($"field.layer{l}", inputs, outputs, random, initialScale: l < hiddenFeatures.Count ? 1.0 : 0.0);
            inputs = outputs;
        }

        Parameters = [.. _layers.SelectMany(l => l.Parameters)];
        ParameterCount = Parameters.Sum(p => p.Values.Length);
        InputWidth = dimension + TimeWidth + contextDimension;
        MaxWidth = Math.Max(InputWidth, hiddenFeatures.Count == 0 ? dimension : Math.Max(dimension, hiddenFeatures.Max()));
    }

    public int Dimension { get; }

    public int ContextDimension { get; }

    public int[] HiddenFeatures { get; }

    public int TimeFrequencies { get; }

    public VectorFieldActivation Activation { get; }

    /// <summary>The time's columns of the input: t, then sin(ωₖ t), cos(ωₖ t) for ωₖ = 2ᵏ π, k = 0 … K − 1.</summary>
    public int TimeWidth { get; }

    /// <summary>Weight, bias of layer 0, then of layer 1, …: the order of the flat gradient buffers.</summary>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    public int ParameterCount { get; }

    public int InputWidth { get; }

    public int MaxWidth { get; }

    public int LayerCount => _layers.Length;

    public Linear<T> Layer(int l) => _layers[l];

    public Workspace CreateWorkspace() => new(this);

    /// <summary>f(x, t, c) into <paramref name="f"/>; keeps the activations in <paramref name="w"/> for
    /// <see cref="TraceTerm"/> and <see cref="Backward"/>.</summary>
    public void Velocity(ReadOnlySpan<T> x, T t, ReadOnlySpan<T> context, Span<T> f, Workspace w)
    {
        int d = Dimension;
        Span<T> u = w.Input;
        x.CopyTo(u);
        WriteTime(t, u.Slice(d, TimeWidth));
        context.CopyTo(u[(d + TimeWidth)..]);
        ReadOnlySpan<T> previous = u;
        for (int l = 0; l < _layers.Length; l++)
        {
            Linear<T> layer = _layers[l];
            Span<T> a = w.Pre[l];
            Affine(layer.Weight.Values, layer.Bias!.Values, previous, a);
            if (l == _layers.Length - 1)
            {
                a.CopyTo(f);
                break;
            }

            Activate(a, w.Hidden[l], w.Slope[l], w.Curvature[l]);
            previous = w.Hidden[l];
        }
    }

    /// <summary>Σₚ vₚᵀ J vₚ at the point of the last <see cref="Velocity"/>: the exact trace when
    /// <paramref name="probes"/> is empty (the unit vectors), otherwise Hutchinson's term with the given probes (each
    /// Dimension long, concatenated).</summary>
    public T TraceTerm(ReadOnlySpan<T> probes, Workspace w)
    {
        int d = Dimension;
        T sum = T.Zero;
        int count = probes.IsEmpty ? d : probes.Length / d;
        for (int p = 0; p < count; p++)
        {
            Span<T> v = w.Probe;
            Probe(probes, p, v);
            Tangent(v, w);
            ReadOnlySpan<T> jv = w.TangentPre[^1];
            if (probes.IsEmpty)
            {
                sum += jv[p];
            }
            else
            {
                for (int i = 0; i < d; i++)
                {
                    sum += v[i] * jv[i];
                }
            }
        }

        return sum;
    }

    /// <summary>
    /// The gradients of Λ = λᵀ f + μ Σₚ vₚᵀ J vₚ at the point of the last <see cref="Velocity"/>, multiplied by
    /// <paramref name="scale"/> and added: with respect to x into <paramref name="gradientX"/> (or skipped when empty), to
    /// the context into <paramref name="gradientContext"/> (or skipped), to the parameters into
    /// <paramref name="gradientParameters"/> (flat, in <see cref="Parameters"/> order; or skipped).
    /// </summary>
    public void Backward(ReadOnlySpan<T> lambda, T mu, ReadOnlySpan<T> probes, T scale, Span<T> gradientX, Span<T> gradientContext,
        Span<T> gradientParameters, Workspace w)
    {
        int d = Dimension;
        int last = _layers.Length - 1;
        // Primal adjoints ā of the pre-activations, to which the trace term's second-order parts are added first.
        for (int l = 0; l <= last; l++)
        {
            Array.Clear(w.PreAdjoint[l]);
        }

        lambda.CopyTo(w.PreAdjoint[last]);
        bool hasTrace = mu != T.Zero;
        int count = probes.IsEmpty ? d : probes.Length / d;
        for (int p = 0; hasTrace && p < count; p++)
        {
            Span<T> v = w.Probe;
            Probe(probes, p, v);
            Tangent(v, w);
            // ǡ_{L−1} = μ v: the cotangent of the product J v in q = vᵀ J v.
            Span<T> tangentAdjoint = w.TangentAdjoint[last];
            for (int i = 0; i < d; i++)
            {
                tangentAdjoint[i] = mu * v[i];
            }

            for (int l = last; l >= 1; l--)
            {
                Linear<T> layer = _layers[l];
                ReadOnlySpan<T> ta = w.TangentAdjoint[l];
                ReadOnlySpan<T> hDot = w.TangentHidden[l - 1];
                AddOuter(gradientParameters, Offset(l), ta, hDot, scale);
                Span<T> hDotAdjoint = w.Scratch.AsSpan(0, hDot.Length);
                TransposeTimes(layer.Weight.Values, ta, hDotAdjoint);
                Span<T> below = w.TangentAdjoint[l - 1];
                ReadOnlySpan<T> s = w.Slope[l - 1];
                ReadOnlySpan<T> curvature = w.Curvature[l - 1];
                ReadOnlySpan<T> aDot = w.TangentPre[l - 1];
                Span<T> preAdjoint = w.PreAdjoint[l - 1];
                for (int k = 0; k < below.Length; k++)
                {
                    below[k] = s[k] * hDotAdjoint[k];
                    // ḣ = σ′(a) ⊙ ȧ: the trace's dependence on the point, through the slope's derivative σ″(a).
                    preAdjoint[k] += hDotAdjoint[k] * aDot[k] * curvature[k];
                }
            }

            // W₀[:, :d] v: only the x columns of the first layer see the probe.
            if (!gradientParameters.IsEmpty)
            {
                ReadOnlySpan<T> ta0 = w.TangentAdjoint[0];
                int width = InputWidth;
                int offset = Offset(0);
                for (int k = 0; k < ta0.Length; k++)
                {
                    T coefficient = scale * ta0[k];
                    Span<T> row = gradientParameters.Slice(offset + (k * width), d);
                    for (int j = 0; j < d; j++)
                    {
                        row[j] += coefficient * v[j];
                    }
                }
            }
        }

        for (int l = last; l >= 0; l--)
        {
            Linear<T> layer = _layers[l];
            ReadOnlySpan<T> adjoint = w.PreAdjoint[l];
            ReadOnlySpan<T> below = l == 0 ? w.Input : w.Hidden[l - 1];
            if (!gradientParameters.IsEmpty)
            {
                AddOuter(gradientParameters, Offset(l), adjoint, below, scale);
                Span<T> bias = gradientParameters.Slice(Offset(l) + layer.Weight.Values.Length, adjoint.Length);
                for (int k = 0; k < adjoint.Length; k++)
                {
                    bias[k] += scale * adjoint[k];
                }
            }

            Span<T> belowAdjoint = w.Scratch.AsSpan(0, below.Length);
            TransposeTimes(layer.Weight.Values, adjoint, belowAdjoint);
            if (l > 0)
            {
                Span<T> preBelow = w.PreAdjoint[l - 1];
                ReadOnlySpan<T> s = w.Slope[l - 1];
                for (int k = 0; k < preBelow.Length; k++)
                {
                    preBelow[k] += belowAdjoint[k] * s[k];
                }
            }
            else
            {
                for (int j = 0; j < gradientX.Length; j++)
                {
                    gradientX[j] += scale * belowAdjoint[j];
                }

                for (int j = 0; j < gradientContext.Length; j++)
                {
                    gradientContext[j] += scale * belowAdjoint[d + TimeWidth + j];
                }
            }
        }
    }

    /// <summary>
    /// f(x, t, c) of a batch on the tape, with the library's layers and elementwise ops (batched products, no per-row
    /// loop): what flow matching regresses. Gradients flow into the parameters, x and the context when they need them.
    /// </summary>
    /// <param name="tape">The tape.</param>
    /// <param name="x">n × Dimension points.</param>
    /// <param name="time">n times, one per row (constants).</param>
    /// <param name="context">n × ContextDimension, or null.</param>
    public Node<T> Apply(Tape<T> tape, Node<T> x, ReadOnlySpan<T> time, Node<T>? context)
    {
        int rows = x.Rows;
        Node<T> times = tape.Allocate(rows, TimeWidth);
        for (int i = 0; i < rows; i++)
        {
            WriteTime(time[i], times.Values.Slice(i * TimeWidth, TimeWidth));
        }

        Node<T> h = tape.ConcatenateColumns(x, times);
        if (context is not null)
        {
            h = tape.ConcatenateColumns(h, context);
        }

        for (int l = 0; l < _layers.Length - 1; l++)
        {
            Node<T> a = _layers[l].Apply(tape, h);
            h = Activation switch
            {
                VectorFieldActivation.Softplus => tape.Softplus(a),
                VectorFieldActivation.Swish => tape.Multiply(a, tape.Sigmoid(a)),
                _ => tape.Tanh(a),
            };
        }

        return _layers[^1].Apply(tape, h);
    }

    // [t, sin(ω₀t), cos(ω₀t), …] with ωₖ = 2ᵏ π: features that let the field change quickly in t where it must.
    private void WriteTime(T t, Span<T> destination)
    {
        destination[0] = t;
        T omega = T.Pi;
        for (int k = 0; k < TimeFrequencies; k++)
        {
            (T sin, T cos) = T.SinCos(omega * t);
            destination[1 + (2 * k)] = sin;
            destination[2 + (2 * k)] = cos;
            omega += omega;
        }
    }

    // h = σ(a), s = σ′(a), c = σ″(a): the slope feeds the Jacobian–vector products, the curvature their reverse pass.
    private void Activate(ReadOnlySpan<T> a, Span<T> h, Span<T> s, Span<T> c)
    {
        T two = T.CreateTruncating(2);
        for (int k = 0; k < a.Length; k++)
        {
            T ak = a[k];
            switch (Activation)
            {
                case VectorFieldActivation.Softplus:
                {
                    T p = Sigmoid(ak);
                    h[k] = ak > T.Zero ? ak + T.LogP1(T.Exp(-ak)) : T.LogP1(T.Exp(ak));
                    s[k] = p;
                    c[k] = p * (T.One - p);
                    break;
                }

                case VectorFieldActivation.Swish:
                {
                    T p = Sigmoid(ak);
                    T q = T.One - p;
                    h[k] = ak * p;
                    s[k] = p * (T.One + (ak * q));
                    c[k] = p * q * (two + (ak * (q - p)));
                    break;
                }

                default:
                {
                    T hk = T.Tanh(ak);
                    T sk = T.One - (hk * hk);
                    h[k] = hk;
                    s[k] = sk;
                    c[k] = -two * hk * sk;
                    break;
                }
            }
        }
    }

    private static T Sigmoid(T a) => a >= T.Zero ? T.One / (T.One + T.Exp(-a)) : T.Exp(a) / (T.One + T.Exp(a));

    // The offset of layer l's weight in the flat parameter order (its bias follows the weight).
    private int Offset(int l)
    {
        int offset = 0;
        for (int k = 0; k < l; k++)
        {
            offset += _layers[k].Weight.Values.Length + _layers[k].Bias!.Values.Length;
        }

        return offset;
    }

    private void Probe(ReadOnlySpan<T> probes, int p, Span<T> v)
    {
        if (probes.IsEmpty)
        {
            v.Clear();
            v[p] = T.One;
        }
        else
        {
            probes.Slice(p * Dimension, Dimension).CopyTo(v);
        }
    }

    // ȧ₀ = W₀[:, :d] v, then ḣₗ = sₗ ⊙ ȧₗ and ȧₗ₊₁ = Wₗ₊₁ ḣₗ, with the slopes sₗ = 1 − hₗ² of the last Velocity.
    private void Tangent(ReadOnlySpan<T> v, Workspace w)
    {
        int d = Dimension;
        int width = InputWidth;
        Span<T> a0 = w.TangentPre[0];
        ReadOnlySpan<T> w0 = _layers[0].Weight.Values;
        for (int k = 0; k < a0.Length; k++)
        {
            T sum = T.Zero;
            ReadOnlySpan<T> row = w0.Slice(k * width, d);
            for (int j = 0; j < d; j++)
            {
                sum += row[j] * v[j];
            }

            a0[k] = sum;
        }

        for (int l = 0; l < _layers.Length - 1; l++)
        {
            ReadOnlySpan<T> s = w.Slope[l];
            Span<T> hDot = w.TangentHidden[l];
            ReadOnlySpan<T> aDot = w.TangentPre[l];
            for (int k = 0; k < hDot.Length; k++)
            {
                hDot[k] = s[k] * aDot[k];
            }

            Affine(_layers[l + 1].Weight.Values, default, hDot, w.TangentPre[l + 1]);
        }
    }

    private static void Affine(ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, ReadOnlySpan<T> input, Span<T> output)
    {
        int inputs = input.Length;
        for (int k = 0; k < output.Length; k++)
        {
            T sum = TensorPrimitives.Dot(weight.Slice(k * inputs, inputs), input);
            output[k] = bias.IsEmpty ? sum : sum + bias[k];
        }
    }

    // output = Wᵀ adjoint, W outputs × inputs.
    private static void TransposeTimes(ReadOnlySpan<T> weight, ReadOnlySpan<T> adjoint, Span<T> output)
    {
        int inputs = output.Length;
        output.Clear();
        for (int k = 0; k < adjoint.Length; k++)
        {
            T a = adjoint[k];
            if (a == T.Zero)
            {
                continue;
            }

            TensorPrimitives.MultiplyAdd(weight.Slice(k * inputs, inputs), a, output, output);
        }
    }

    private static void AddOuter(Span<T> gradient, int offset, ReadOnlySpan<T> left, ReadOnlySpan<T> right, T scale)
    {
        if (gradient.IsEmpty)
        {
            return;
        }

        int columns = right.Length;
        for (int k = 0; k < left.Length; k++)
        {
            Span<T> row = gradient.Slice(offset + (k * columns), columns);
            TensorPrimitives.MultiplyAdd(right, scale * left[k], row, row);
        }
    }

    /// <summary>One thread's buffers for the activations, tangents and adjoints of one row.</summary>
    internal sealed class Workspace
    {
        public Workspace(VectorField<T> field)
        {
            int layers = field.LayerCount;
            Input = new T[field.InputWidth];
            Probe = new T[field.Dimension];
            Scratch = new T[field.MaxWidth];
            Pre = new T[layers][];
            TangentPre = new T[layers][];
            TangentAdjoint = new T[layers][];
            PreAdjoint = new T[layers][];
            Hidden = new T[layers - 1][];
            Slope = new T[layers - 1][];
            Curvature = new T[layers - 1][];
            TangentHidden = new T[layers - 1][];
            for (int l = 0; l < layers; l++)
            {
                int width = field.Layer(l).Outputs;
                Pre[l] = new T[width];
                TangentPre[l] = new T[width];
                TangentAdjoint[l] = new T[width];
                PreAdjoint[l] = new T[width];
                if (l < layers - 1)
                {
                    Hidden[l] = new T[width];
                    Slope[l] = new T[width];
                    Curvature[l] = new T[width];
                    TangentHidden[l] = new T[width];
                }
            }
        }

        public T[] Input { get; }

        public T[] Probe { get; }

        public T[] Scratch { get; }

        public T[][] Pre { get; }

        public T[][] Hidden { get; }

        public T[][] Slope { get; }

        public T[][] Curvature { get; }

        public T[][] TangentPre { get; }

        public T[][] TangentHidden { get; }

        public T[][] TangentAdjoint { get; }

        public T[][] PreAdjoint { get; }
    }
}
