using System.Numerics;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Numerics;
using Flows.Training;

namespace Flows.Inference;

/// <summary>
/// Neural posterior estimation (NPE; Papamakarios &amp; Murray 2016, Greenberg et al. 2019, as in sbi): draw θ from the
/// prior, simulate x for each, fit a conditional flow q(θ | x) to the pairs by maximum likelihood, and use it as the
/// posterior for any observation. One round, amortized: the fitted posterior serves every x.
/// </summary>
/// <remarks>
/// Maximizing E[log q(θ | x)] over (θ, x) from the joint p(θ) p(x | θ) makes q(θ | x) approach p(θ | x) for every x the
/// simulator produces. The default flow, the NSF preset, starts at the linear-Gaussian regression of θ on x (see
/// <see cref="Distributions.Presets.GaussianStart"/>), so a fit cannot end below that regression on its validation split.
/// The observations reach the flow's conditioners as they are: put observations far from unit scale through
/// <c>WithContextEmbedding(new IdentityEmbedding&lt;T&gt;(k))</c>, which standardizes them, and long ones through a learned
/// embedding (<see cref="TransformedDistribution{T}.WithContextEmbedding"/>, which standardizes them too), and pass that
/// flow as <see cref="NeuralPosteriorOptions{T}.Flow"/>. Check the result with <see cref="PosteriorDiagnostics"/> on fresh
/// simulations.
/// </remarks>
public static class NeuralPosteriorEstimation
{
    /// <summary>Simulates, fits q(θ | x) and returns the posterior; the simulator runs on whole batches of θ.</summary>
    /// <param name="prior">The prior p(θ).</param>
    /// <param name="simulator">Maps n × d parameters θ and a source of randomness to n × k observations x (row i simulated
    /// at θ row i). Rows whose x holds a non-finite value are left out of the fit, as sbi does.</param>
    /// <param name="simulations">The number of (θ, x) pairs. Range: &gt; 0.</param>
    /// <param name="options">The settings; null for the defaults.</param>
    /// <returns>The fitted posterior, with the fit's report.</returns>
    /// <exception cref="ArgumentException">The simulator returned the wrong number of rows, or no finite row; the flow's
    /// dimensions do not match the prior's and the simulator's.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="simulations"/> is not positive, or the options'
    /// MinimumAcceptanceRate is outside (0, 1].</exception>
    public static NeuralPosterior<T> Fit<T>(IPrior<T> prior, Func<T[,], Random, T[,]> simulator, int simulations,
        NeuralPosteriorOptions<T>? options = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(prior);
        ArgumentNullException.ThrowIfNull(simulator);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(simulations);
        options ??= new NeuralPosteriorOptions<T>();
        // What can be checked before simulating is, so that a wrong setting does not cost the simulations.
        if (options.Flow is { } given && (given.Dimension != prior.Dimension || given.ContextDimension == 0))
        {
            throw new ArgumentException(
                $"The flow is {given.Dimension}-dimensional with ContextDimension {given.ContextDimension}, but θ has {prior.Dimension} features and a posterior needs a context.",
                nameof(options));
        }

        if (!(options.MinimumAcceptanceRate > 0 && options.MinimumAcceptanceRate <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MinimumAcceptanceRate, "MinimumAcceptanceRate must lie in (0, 1].");
        }

        (T[,] theta, T[,] x) = Simulate(prior, simulator, simulations, new Random(options.Seed));
        TransformedDistribution<T> flow = options.Flow
            ?? NeuralSplineFlow.Create<T>(prior.Dimension, contextDimension: x.GetLength(1), seed: options.Seed);
        if (flow.Dimension != prior.Dimension || flow.ContextDimension != x.GetLength(1))
        {
            throw new ArgumentException(
                $"The flow is {flow.Dimension}-dimensional with ContextDimension {flow.ContextDimension}, but θ has {prior.Dimension} features and x {x.GetLength(1)}.",
                nameof(options));
        }

        FitReport report = flow.Fit(theta, x, options.FitOptions ?? NeuralPosteriorOptions<T>.DefaultFitOptions with { Seed = options.Seed });
        return new NeuralPosterior<T>(flow, prior, options.MinimumAcceptanceRate, report);
    }

    /// <summary>Simulates, fits q(θ | x) and returns the posterior; the simulator runs on one θ at a time. See
    /// <see cref="Fit{T}(IPrior{T}, Func{T[,], Random, T[,]}, int, NeuralPosteriorOptions{T}?)"/>.</summary>
    /// <param name="prior">The prior p(θ).</param>
    /// <param name="simulator">Maps one θ (d values) and a source of randomness to one observation x (k values, the same k
    /// every time).</param>
    /// <param name="simulations">The number of (θ, x) pairs. Range: &gt; 0.</param>
    /// <param name="options">The settings; null for the defaults.</param>
    /// <returns>The fitted posterior, with the fit's report.</returns>
    /// <exception cref="ArgumentException">The simulator's observations differ in length or none is finite.</exception>
    public static NeuralPosterior<T> Fit<T>(IPrior<T> prior, Func<T[], Random, T[]> simulator, int simulations,
        NeuralPosteriorOptions<T>? options = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(simulator);
        return Fit(prior, Batched(simulator), simulations, options);
    }

    /// <summary>
    /// Draws <paramref name="count"/> pairs (θ, x) from the joint p(θ) p(x | θ): θ from the prior, x from the simulator.
    /// Pairs whose x holds a non-finite value are dropped, so fewer rows may come back. Use it for the training set of a
    /// flow of your own and for the held-out pairs of <see cref="PosteriorDiagnostics"/>.
    /// </summary>
    /// <param name="prior">The prior p(θ).</param>
    /// <param name="simulator">Maps n × d parameters to n × k observations.</param>
    /// <param name="count">Pairs to simulate. Range: &gt; 0.</param>
    /// <param name="random">The source of randomness, for the prior and then the simulator.</param>
    /// <returns>θ (m × d) and x (m × k), m ≤ count, row i of x simulated at row i of θ.</returns>
    /// <exception cref="ArgumentException">The simulator returned the wrong number of rows or no finite row.</exception>
    public static (T[,] Theta, T[,] X) Simulate<T>(IPrior<T> prior, Func<T[,], Random, T[,]> simulator, int count, Random random)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(prior);
        ArgumentNullException.ThrowIfNull(simulator);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        int d = prior.Dimension;
        var theta = new T[count, d];
        prior.Sample(Batch.AsSpan(theta), random);
        T[,] x = simulator(theta, random) ?? throw new ArgumentException("The simulator returned null.", nameof(simulator));
        if (x.GetLength(0) != count || x.GetLength(1) == 0)
        {
            throw new ArgumentException(
                $"The simulator returned {x.GetLength(0)} × {x.GetLength(1)} observations for {count} parameter rows; it must return one non-empty row per row.",
                nameof(simulator));
        }

        return WithoutNonFiniteRows(theta, x);
    }

    /// <summary>Simulates pairs with a one-θ-at-a-time simulator; see
    /// <see cref="Simulate{T}(IPrior{T}, Func{T[,], Random, T[,]}, int, Random)"/>.</summary>
    /// <param name="prior">The prior p(θ).</param>
    /// <param name="simulator">Maps one θ to one observation (the same length every time).</param>
    /// <param name="count">Pairs to simulate. Range: &gt; 0.</param>
    /// <param name="random">The source of randomness, for the prior and then the simulator.</param>
    /// <returns>θ (m × d) and x (m × k), m ≤ count.</returns>
    /// <exception cref="ArgumentException">The simulator's observations differ in length or none is finite.</exception>
    public static (T[,] Theta, T[,] X) Simulate<T>(IPrior<T> prior, Func<T[], Random, T[]> simulator, int count, Random random)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(simulator);
        return Simulate(prior, Batched(simulator), count, random);
    }

    // A batched simulator that runs the row simulator on each row in turn.
    private static Func<T[,], Random, T[,]> Batched<T>(Func<T[], Random, T[]> simulator) where T : unmanaged, IFloatingPointIeee754<T>
        => (theta, random) =>
        {
            int n = theta.GetLength(0);
            int d = theta.GetLength(1);
            T[,]? x = null;
            for (int i = 0; i < n; i++)
            {
                // A fresh copy per call, so that a simulator that keeps or changes its argument affects nothing else.
                T[] xi = simulator(Batch.AsSpan(theta).Slice(i * d, d).ToArray(), random) ?? throw new ArgumentException($"The simulator returned null at row {i}.", nameof(simulator));
                x ??= new T[n, xi.Length];
                if (xi.Length != x.GetLength(1) || xi.Length == 0)
                {
                    throw new ArgumentException(
                        $"The simulator returned {xi.Length} values at row {i} but {x.GetLength(1)} at row 0; every observation needs the same positive length.",
                        nameof(simulator));
                }

                xi.CopyTo(Batch.AsSpan(x).Slice(i * xi.Length, xi.Length));
            }

            return x!;
        };

    private static (T[,] Theta, T[,] X) WithoutNonFiniteRows<T>(T[,] theta, T[,] x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.GetLength(0);
        int d = theta.GetLength(1);
        int k = x.GetLength(1);
        var keep = new List<int>(n);
        for (int i = 0; i < n; i++)
        {
            if (!HasNonFinite(Batch.AsSpan(x).Slice(i * k, k)))
            {
                keep.Add(i);
            }
        }

        if (keep.Count == n)
        {
            return (theta, x);
        }

        if (keep.Count == 0)
        {
            throw new ArgumentException($"Every one of the {n} simulated observations holds a non-finite value.", nameof(x));
        }

        var keptTheta = new T[keep.Count, d];
        var keptX = new T[keep.Count, k];
        for (int r = 0; r < keep.Count; r++)
        {
            Batch.AsSpan(theta).Slice(keep[r] * d, d).CopyTo(Batch.AsSpan(keptTheta).Slice(r * d, d));
            Batch.AsSpan(x).Slice(keep[r] * k, k).CopyTo(Batch.AsSpan(keptX).Slice(r * k, k));
        }

        return (keptTheta, keptX);
    }

    private static bool HasNonFinite<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (T v in values)
        {
            if (!T.IsFinite(v))
            {
                return true;
            }
        }

        return false;
    }
}
