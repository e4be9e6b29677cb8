using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// Fixed per-feature location m and scale s taken once from data: each feature's mean and population standard
/// deviation (SampleMoments, in double), with s = 1 for a constant feature. Not trainable: no gradient reaches m or s.
/// Shared by <see cref="Standardization{T}"/> (the data) and <see cref="EmbeddedContext{T}"/> (the raw context).
/// </summary>
internal sealed class FeatureStandardization<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _mean;
    private readonly T[] _scale;
    private readonly T[] _inverseScale;
    private readonly T[] _logScale;

    /// <summary>The identity (m = 0, s = 1), settled or waiting for data.</summary>
    public FeatureStandardization(int dimension, bool isInitialized)
    {
        _mean = new T[dimension];
        _scale = new T[dimension];
        _inverseScale = new T[dimension];
        _logScale = new T[dimension];
        _scale.AsSpan().Fill(T.One);
        _inverseScale.AsSpan().Fill(T.One);
        Initialization = new DataInitialization(isInitialized);
    }

    public DataInitialization Initialization { get; }

    public int Dimension => _mean.Length;

    public ReadOnlySpan<T> Mean => _mean;

    public ReadOnlySpan<T> Scale => _scale;

    /// <summary>Sets m and s from n × Dimension rows, row-major, all finite, n &gt; 0.</summary>
    public void InitializeFrom(ReadOnlySpan<T> rows)
    {
        (double[] mean, double[] scale) = SampleMoments.OfFeatures(rows, Dimension);
        Set([.. mean.Select(T.CreateTruncating)], [.. scale.Select(T.CreateTruncating)], initialized: true);
    }

    /// <summary>Sets m and s as given.</summary>
    public void Set(ReadOnlySpan<T> mean, ReadOnlySpan<T> scale, bool initialized)
    {
        mean.CopyTo(_mean);
        scale.CopyTo(_scale);
        for (int j = 0; j < _scale.Length; j++)
        {
            _inverseScale[j] = T.One / _scale[j];
            _logScale[j] = T.Log(_scale[j]);
        }

        Initialization.IsInitialized = initialized;
    }

    /// <summary>(x − m) ⊙ (1/s): the 1 × Dimension rows broadcast over the batch, as constants.</summary>
    public Node<T> Standardize(Tape<T> tape, Node<T> x)
        => tape.Multiply(tape.Subtract(x, tape.Constant(_mean, 1, Dimension)), tape.Constant(_inverseScale, 1, Dimension));

    /// <summary>x = m + s ⊙ z (or its inverse) with its log|det J| per row, as a fused affine op on constants.</summary>
    public (Node<T> Output, Node<T> LogDet) Affine(Tape<T> tape, Node<T> input, bool inverse)
        => tape.AffineElementwise(input, tape.Constant(_mean, 1, Dimension), tape.Constant(_logScale, 1, Dimension), inverse);

    /// <summary>Writes m, s and whether they are settled under the given names.</summary>
    public void Write(ISavedFormWriter<T> w, string initializedName, string meanName, string scaleName)
    {
        w.Boolean(initializedName, Initialization.IsInitialized);
        w.Values(meanName, _mean);
        w.Values(scaleName, _scale);
    }

    /// <summary>Reads what <see cref="Write"/> wrote, refusing a scale that is not positive and finite.</summary>
    public void Read(ISavedFormReader<T> r, string initializedName, string meanName, string scaleName)
    {
        T[] mean = r.Values(meanName, Dimension);
        T[] scale = r.Values(scaleName, Dimension);
        for (int j = 0; j < scale.Length; j++)
        {
            if (!(scale[j] > T.Zero && T.IsFinite(scale[j])))
            {
                throw r.Error($"{scaleName}[{j}]", $"is {scale[j]}; a scale must be finite and > 0");
            }
        }

        Set(mean, scale, r.Boolean(initializedName));
    }
}
