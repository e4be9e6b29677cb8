using System.Diagnostics;
using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Neural;

/// <summary>
/// A fully connected layer <c>y = x (W ⊙ M)ᵀ + b</c> with weight W (outputs × inputs), bias b (1 × outputs) and an
/// optional fixed 0/1 mask M, as MADE needs it.
/// </summary>
/// <remarks>The masked linear op of the tape forms W ⊙ M as it runs and sets W's gradient outside the mask to zero
/// (whatever else a tape accumulated there), so the masked-out weights stay inert, and no per-step allocation is needed. The products skip the
/// stretches of each row and column the mask zeroes (all of them once MADE sorts its units by degree), forward and
/// backward.</remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class Linear<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly WeightMask<T>? _mask;

    /// <summary>Creates a layer with weights drawn from U(−a, a), a = <paramref name="initialScale"/>/√inputs, and zero bias.</summary>
    /// <param name="name">The parameters' name prefix, such as <c>"made.layer0"</c>.</param>
    /// <param name="inputs">Input features. Range: &gt; 0.</param>
    /// <param name="outputs">Output features. Range: &gt; 0.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <param name="initialScale">The scale of the initial weights; 1 is PyTorch's default, small values start near zero.</param>
    /// <param name="mask">An outputs × inputs 0/1 mask, row-major, or null; copied.</param>
    /// <param name="hasBias">Whether the layer has a bias.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    /// <exception cref="ArgumentException">The mask has the wrong length, or an entry other than 0 or 1.</exception>
    public Linear(string name, int inputs, int outputs, int seed, double initialScale = 1.0, IReadOnlyList<T>? mask = null, bool hasBias = true)
        : this(name, inputs, outputs, new Random(seed), initialScale, mask, hasBias)
    {
    }

    // Draws the weights from a caller's generator, so that a network can thread one generator through its layers. A null
    // generator leaves every weight zero and draws nothing, so adding such a layer changes no other layer's initial weights.
    internal Linear(string name, int inputs, int outputs, Random? random, double initialScale = 1.0, IReadOnlyList<T>? mask = null, bool hasBias = true)
    {
        Weight = new Parameter<T>($"{name}.weight", outputs, inputs);
        Bias = hasBias ? new Parameter<T>($"{name}.bias", 1, outputs) : null;
        double bound = initialScale / Math.Sqrt(inputs);
        for (int i = 0; random is not null && i < Weight.Values.Length; i++)
        {
            Weight.Values[i] = T.CreateTruncating(bound * ((2 * random.NextDouble()) - 1));
        }

        if (mask is not null)
        {
            if (mask.Count != outputs * inputs)
            {
                throw new ArgumentException($"mask has {mask.Count} entries, expected {outputs} × {inputs}.", nameof(mask));
            }

            T[] values = [.. mask];
            // The backward pass zeroes W's gradient outside the mask instead of multiplying by it, exact only for 0/1.
            int bad = Array.FindIndex(values, v => v != T.Zero && v != T.One);
            if (bad >= 0)
            {
                throw new ArgumentException($"mask[{bad}] is {values[bad]}; a mask holds only 0 and 1.", nameof(mask));
            }

            _mask = new WeightMask<T>(values, outputs, inputs);
            _mask.Apply(Weight.Values, Weight.Values);
        }

        Parameters = Bias is null ? [Weight] : [Weight, Bias];
    }

    /// <summary>W, outputs × inputs.</summary>
    public Parameter<T> Weight { get; }

    /// <summary>b, 1 × outputs, or null.</summary>
    public Parameter<T>? Bias { get; }

    /// <summary>The parameters: the weight, then the bias.</summary>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>Input features.</summary>
    public int Inputs => Weight.Columns;

    /// <summary>Output features.</summary>
    public int Outputs => Weight.Rows;

    /// <summary>The outputs × inputs 0/1 mask, row-major; empty for a dense layer.</summary>
    internal ReadOnlySpan<T> Mask => _mask is null ? default : _mask.Values;

    /// <summary>Applies the layer to an n × inputs batch.</summary>
    public Node<T> Apply(Tape<T> tape, Node<T> x) => Apply(tape, x, relu: false);

    /// <summary>Applies the layer, then ReLU if <paramref name="relu"/>, as one op.</summary>
    internal Node<T> Apply(Tape<T> tape, Node<T> x, bool relu)
    {
        ArgumentNullException.ThrowIfNull(tape);
        return tape.Linear(x, tape.Use(Weight), Bias is null ? null : tape.Use(Bias), _mask, relu);
    }

    /// <summary>The values of W ⊙ M (or W), exactly zero wherever the mask is, whatever the stored weights hold, on a tape
    /// that does not record (the result is not differentiated); the product the tape's call shares where it has one.</summary>
    internal Node<T> MaskedWeightValues(Tape<T> tape)
    {
        Debug.Assert(!tape.IsRecording, "MaskedWeightValues gives values only; on a recording tape use Apply.");
        Node<T> weight = tape.Use(Weight);
        if (_mask is null)
        {
            return weight;
        }

        if (tape.MaskedWeightProducts is { } shared)
        {
            return shared.Get(weight, _mask).Product;
        }

        Node<T> masked = tape.Allocate(Weight.Rows, Weight.Columns);
        _mask.Apply(Weight.Values, masked.Values);
        return masked;
    }
}
