using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Numerics;

namespace Flows.Distributions;

/// <summary>
/// A Gaussian mixture with diagonal or full covariances: <c>p(z) = Σₖ wₖ N(z; μₖ, Σₖ)</c>, <c>w = softmax(logits)</c>,
/// Σₖ = diag(σₖ²) or Lₖ Lₖᵀ; all learned. As the base of a flow it lets a few layers fit a multimodal density that a normal
/// base would need many layers to tear apart (zuko's <c>GMM</c>).
/// </summary>
/// <remarks>
/// <para>A <see cref="Mixture{T}"/> of <see cref="DiagonalNormal{T}"/> components, or with <c>fullCovariance</c> of
/// flows <c>N(0, I)</c> → <see cref="LowerTriangularAffine{T}"/> (z = μₖ + Lₖ ε): the log-density is exact (stable
/// log-sum-exp); sampling is reparameterized in the means and scales, not in the weights (the component choice is
/// discrete, see <see cref="Mixture{T}"/>).</para>
/// <para><b>Initialization by k-means.</b> Like an <see cref="ActNorm{T}"/>, the mixture starts from the first data it
/// scores: the first non-empty batch that <see cref="DensityLn(Tape{T}, Node{T}, Node{T})"/> sees (as the base of a flow,
/// the data mapped to base space by the bijector's inverse) — or <see cref="Initialize"/> — is clustered by k-means
/// (k-means++ seeding from a generator seeded by <see cref="Seed"/>, then Lloyd's iterations until no row changes
/// cluster, at most 100; the best of 8 such starts), and each component takes its cluster's mean, per-feature standard
/// deviation (population; that of all rows for a cluster of fewer than two rows, and never below 10⁻³ of it) — or with
/// full covariance the Cholesky factor of its cluster's covariance, the squared floors added to the diagonal (the
/// diagonal case's spreads for a cluster of at most d rows) — and share of rows as its weight.
/// <c>MaximumLikelihood.Fit</c> does this at its start from its training rows (the first 4,096 in its seeded split and
/// shuffle), after the data-initialized layers between the data and the base, so a fit is deterministic given its
/// seed and the mixture's. A tape that records gradients outside training (variational fitting) adopts the current
/// parameters instead, as ActNorm does. <see cref="IsInitialized"/> is saved with the model.</para>
/// <para>Every parameter is exempt from weight decay (<see cref="Parameter{T}.ExemptFromWeightDecay"/>): the start is the
/// data's, and decay would pull it back to the standard normal.</para>
/// <para>Before initialization the means are drawn from N(0, I) by a generator seeded by <see cref="Seed"/> (distinct
/// components must start apart, or their equal gradients keep them together), the scales are 1 and the weights equal.</para>
/// <para>Reference: the GMM base of zuko (probabilists/zuko, <c>zuko.flows.mixture.GMM</c>); k-means++: D. Arthur and
/// S. Vassilvitskii, 2007.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class GaussianMixture<T> : IDistribution<T>, IInitializesFromData where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IDistribution<T>[] _components;
    private readonly Mixture<T> _mixture;
    private readonly DataInitialization _initialization = new(isInitialized: false);

    /// <summary>Creates an uninitialized mixture of <paramref name="componentCount"/> diagonal normals.</summary>
    /// <param name="dimension">Features per sample. Range: &gt; 0.</param>
    /// <param name="componentCount">Components k. Range: &gt; 0.</param>
    /// <param name="seed">Seed of the initial means and of the k-means++ seeding.</param>
    /// <param name="fullCovariance">Whether each component has a full covariance Lₖ Lₖᵀ (d(d+1)/2 parameters) rather
    /// than a diagonal one (d parameters). Default false.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> or <paramref name="componentCount"/> is not positive.</exception>
    public GaussianMixture(int dimension, int componentCount, int seed = 0, bool fullCovariance = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(componentCount);
        Seed = seed;
        FullCovariance = fullCovariance;
        _components = new IDistribution<T>[componentCount];
        var random = new Random(seed);
        for (int k = 0; k < componentCount; k++)
        {
            if (fullCovariance)
            {
                // Exempt from weight decay (a data-initialized layer), marked initialized so that it never whitens the
                // data itself: the mixture sets it from k-means.
                var affine = new LowerTriangularAffine<T>(dimension, initializeFromData: true) { IsInitialized = true };
                Gaussian.Fill<T>(affine.Shift.Values, random);
                _components[k] = new TransformedDistribution<T>(new StandardNormal<T>(dimension), affine);
            }
            else
            {
                var normal = new DiagonalNormal<T>(dimension, exemptFromWeightDecay: true);
                Gaussian.Fill<T>(normal.Mean.Values, random);
                _components[k] = normal;
            }
        }

        _mixture = new Mixture<T>(_components);
    }

    /// <inheritdoc/>
    public int Dimension => _mixture.Dimension;

    /// <summary>0: the mixture takes no context.</summary>
    public int ContextDimension => 0;

    /// <summary>The number of components k.</summary>
    public int ComponentCount => _components.Length;

    /// <summary>The seed of the initial means and of the k-means++ seeding.</summary>
    public int Seed { get; }

    /// <summary>Whether the components have full covariances.</summary>
    public bool FullCovariance { get; }

    /// <summary>The components: <see cref="DiagonalNormal{T}"/>s (their <see cref="DiagonalNormal{T}.Mean"/> and
    /// <see cref="DiagonalNormal{T}.LogStandardDeviation"/> are μₖ and log σₖ), or with full covariance flows whose
    /// bijector is a <see cref="LowerTriangularAffine{T}"/> (μₖ and Lₖ).</summary>
    public IReadOnlyList<IDistribution<T>> Components => _components;

    /// <summary>The unnormalized log-weights, 1 × k.</summary>
    public Parameter<T> Logits => _mixture.Logits;

    /// <summary>The weights <c>softmax(logits)</c>.</summary>
    public T[] Weights => _mixture.Weights;

    /// <summary>The logits, then each component's mean and log standard deviation (or packed Cholesky factor).</summary>
    public IReadOnlyList<Parameter<T>> Parameters => _mixture.Parameters;

    /// <summary>Whether the parameters are settled (by k-means on data, <see cref="Initialize"/>, adoption on a
    /// variational tape, or a file), so that no later data re-initializes them.</summary>
    public bool IsInitialized
    {
        get => _initialization.IsInitialized;
        internal set => _initialization.IsInitialized = value;
    }

    DataInitialization IInitializesFromData.Initialization => _initialization;

    /// <summary>Initializes the mixture from <paramref name="data"/> by k-means (see the remarks), whether or not it was
    /// initialized before.</summary>
    /// <param name="data">n × Dimension rows in base space, n ≥ 1, all finite.</param>
    /// <exception cref="ArgumentException"><paramref name="data"/> is empty, has the wrong width or holds a non-finite value.</exception>
    public void Initialize(T[,] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.GetLength(1) != Dimension || data.GetLength(0) == 0)
        {
            throw new ArgumentException($"data is {data.GetLength(0)} × {data.GetLength(1)}; k-means needs at least one row of {Dimension} features.", nameof(data));
        }

        Batch.CheckFinite<T>(Batch.AsSpan(data), Dimension, nameof(data), "k-means");
        InitializeFrom(Batch.AsSpan(data), data.GetLength(0));
        _initialization.IsInitialized = true;
        _initialization.Keep();
    }

    /// <inheritdoc/>
    public Node<T> DensityLn(Tape<T> tape, Node<T> x, Node<T>? context = null)
    {
        BaseDistributions.CheckBatch(tape, x, Dimension, context);
        if (_initialization.OnInverse(tape, x.Rows))
        {
            InitializeFrom(x.Values, x.Rows);
        }

        return _mixture.DensityLn(tape, x);
    }

    /// <inheritdoc/>
    /// <remarks>Reparameterized in the means and scales, not in the weights.</remarks>
    public (Node<T> X, Node<T> DensityLn) SampleWithDensityLn(Tape<T> tape, int count, Random random, Node<T>? context = null)
    {
        ArgumentNullException.ThrowIfNull(tape);
        BaseDistributions.CheckNoContext(context);
        _initialization.OnForward(tape);
        return _mixture.SampleWithDensityLn(tape, count, random);
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The mixture is not initialized: on its own it would cluster whatever
    /// rows it is first asked to score (one row, say) and keep that start, so it refuses; fit it as the base of a flow, or
    /// call <see cref="Initialize"/>.</exception>
    public void DensityLn(ReadOnlySpan<T> x, Span<T> destination, ReadOnlySpan<T> context = default)
    {
        if (!IsInitialized)
        {
            throw new InvalidOperationException(
                $"{this} is not initialized: its k-means start needs data. Call Initialize(data), or fit a flow with it as the base (Fit initializes it from the training rows).");
        }

        BaseDistributions.DensityLn(this, x, destination, context);
    }

    /// <inheritdoc/>
    public void Sample(Span<T> destination, Random random, ReadOnlySpan<T> context = default)
        => BaseDistributions.Sample(this, destination, random, context);

    /// <inheritdoc/>
    public override string ToString()
        => $"GaussianMixture(dimension: {Dimension}, componentCount: {ComponentCount}{(FullCovariance ? ", fullCovariance: true" : "")})";

    // k-means on the rows, then each component's mean, spread and weight from its cluster (see the remarks).
    private void InitializeFrom(ReadOnlySpan<T> x, int rows)
    {
        int d = Dimension;
        int k = _components.Length;
        (double[] centers, int[] assignment) = KMeans.Run(x, rows, d, k, new Random(Seed));
        double[] overall = StandardDeviations(x, rows, d, assignment, cluster: -1);
        var counts = new int[k];
        foreach (int c in assignment)
        {
            counts[c]++;
        }

        for (int c = 0; c < k; c++)
        {
            double[] spread = counts[c] >= 2 ? StandardDeviations(x, rows, d, assignment, c) : overall;
            double[] floor = [.. overall.Select(o => 1e-3 * (o > 0 ? o : 1))];
            double[] mean = centers[(c * d)..((c + 1) * d)];
            if (_components[c] is DiagonalNormal<T> normal)
            {
                for (int j = 0; j < d; j++)
                {
                    normal.Mean.Values[j] = T.CreateTruncating(mean[j]);
                    normal.LogStandardDeviation.Values[j] = T.CreateTruncating(Math.Log(Math.Max(spread[j], floor[j])));
                }
            }
            else
            {
                var affine = (LowerTriangularAffine<T>)((TransformedDistribution<T>)_components[c]).Bijector;
                affine.SetGaussian(mean, CholeskyOfCluster(x, rows, d, assignment, c, counts[c], mean, spread, floor));
            }

            // An empty cluster (fewer distinct rows than components) gets the weight of one row.
            Logits.Values[c] = T.CreateTruncating(Math.Log(Math.Max(counts[c], 1)));
        }
    }

    // The Cholesky factor of the cluster's population covariance plus diag(floor²); for a cluster of at most d rows,
    // or a covariance the factorization refuses, the diagonal of the spreads.
    private static MathNet.Numerics.LinearAlgebra.Matrix<double> CholeskyOfCluster(ReadOnlySpan<T> x, int rows, int d, int[] assignment, int cluster,
        int count, double[] mean, double[] spread, double[] floor)
    {
        var covariance = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(d, d);
        if (count > d)
        {
            for (int i = 0; i < rows; i++)
            {
                if (assignment[i] != cluster)
                {
                    continue;
                }

                for (int a = 0; a < d; a++)
                {
                    for (int b = 0; b <= a; b++)
                    {
                        covariance[a, b] += (double.CreateTruncating(x[(i * d) + a]) - mean[a]) * (double.CreateTruncating(x[(i * d) + b]) - mean[b]) / count;
                    }
                }
            }

            for (int a = 0; a < d; a++)
            {
                covariance[a, a] += floor[a] * floor[a];
                for (int b = 0; b < a; b++)
                {
                    covariance[b, a] = covariance[a, b];
                }
            }

            try
            {
                return covariance.Cholesky().Factor;
            }
            catch (ArgumentException)
            {
                // Not positive definite in floating point: fall through to the diagonal.
            }
        }

        return MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfDiagonalArray([.. spread.Select((s, j) => Math.Max(s, floor[j]))]);
    }

    // Population standard deviation per feature of the rows of one cluster (or of all rows for cluster −1); 1 for a
    // feature without spread.
    private static double[] StandardDeviations(ReadOnlySpan<T> x, int rows, int d, int[] assignment, int cluster)
    {
        var mean = new double[d];
        var square = new double[d];
        int n = 0;
        for (int i = 0; i < rows; i++)
        {
            if (cluster >= 0 && assignment[i] != cluster)
            {
                continue;
            }

            n++;
            for (int j = 0; j < d; j++)
            {
                double value = double.CreateTruncating(x[(i * d) + j]);
                double delta = value - mean[j];
                mean[j] += delta / n;
                square[j] += delta * (value - mean[j]);
            }
        }

        var result = new double[d];
        for (int j = 0; j < d; j++)
        {
            // A feature constant within a cluster gets 0, so that the floor (a thousandth of all rows' spread) applies; one
            // constant over all rows gets 1, as everywhere else.
            result[j] = n > 0 && square[j] > 0 ? Math.Sqrt(square[j] / n) : cluster >= 0 ? 0 : 1;
        }

        return result;
    }
}
